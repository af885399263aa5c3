// Package jsuri implements JavaScript's encodeURIComponent and
// decodeURIComponent, which Qelos applies to name fields in its tokens.
package jsuri

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encode is encodeURIComponent: everything but A–Z a–z 0–9 - _ . ! ~ * ' ( )
// is percent-encoded as UTF-8.
func Encode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// Decode is decodeURIComponent: it reports false on a malformed escape or on
// escapes that do not form valid UTF-8 (where JavaScript throws). A "+"
// stays a "+".
func Decode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(v))
		i += 2
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}
