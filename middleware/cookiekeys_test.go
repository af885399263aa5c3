package middleware_test

import (
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
)

// TestAcceptOnlyCookieKeys: "~" marks a set that opens cookies and seals
// none; the sets that seal come first whatever the order written, a value
// without "~" reads as it always did, and a value of accept-only sets alone
// is refused with what to do.
func TestAcceptOnlyCookieKeys(t *testing.T) {
	cur, next := middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	added := next
	added.AcceptOnly = true
	tests := []struct {
		name       string
		in         string
		wantFirst  string // the set that seals
		wantAccept int
		wantErr    string
	}{
		{"steady", cur.String(), cur.String(), 0, ""},
		{"step 1, as qelos-keys writes it", cur.String() + "," + added.String(), cur.String(), 1, ""},
		{"step 1, accept-only written first", added.String() + "," + cur.String(), cur.String(), 1, ""},
		{"the mark with a space after it", cur.String() + ", ~ " + next.String(), cur.String(), 1, ""},
		{"accept-only alone", added.String(), "", 0, "one set must seal"},
		{"a bad key after the mark", cur.String() + ",~!!!", "", 0, "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := middleware.ParseCookieKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			accept := 0
			for _, k := range keys {
				if k.AcceptOnly {
					accept++
				}
			}
			if keys[0].String() != tt.wantFirst || keys[0].AcceptOnly || accept != tt.wantAccept {
				t.Fatalf("first set seals: %v; %d accept-only sets, want %d", !keys[0].AcceptOnly && keys[0].String() == tt.wantFirst, accept, tt.wantAccept)
			}
			if round, err := middleware.ParseCookieKeys(joinKeys(keys)); err != nil || joinKeys(round) != joinKeys(keys) {
				t.Fatalf("String does not round-trip: %v", err)
			}
		})
	}
}

func joinKeys(keys []middleware.CookieKey) string {
	var ss []string
	for _, k := range keys {
		ss = append(ss, k.String())
	}
	return strings.Join(ss, ",")
}
