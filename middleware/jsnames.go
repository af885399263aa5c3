package middleware

import (
	"strings"

	"github.com/qelos-io/integrator-go/internal/jsuri"
)

// decodeIfNeeded undoes Qelos's encodeIfNeeded on name fields, by the SDK's
// rule: decode only when encoding the decoded value gives the input back, so
// a literal "100%" or "a b" is left alone.
func decodeIfNeeded(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	d, ok := jsuri.Decode(s)
	if !ok || jsuri.Encode(d) != s {
		return s
	}
	return d
}
