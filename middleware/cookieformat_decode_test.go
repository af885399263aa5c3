package middleware

import (
	"reflect"
	"testing"
	"time"
)

// TestCompactRoundTrip: what encodeCompact writes, decodeCompact reads
// back whole; every truncation and every changed length byte of it is
// refused or read without running past the end; the keys set in the block
// are the ones the rest of the package computes.
func TestCompactRoundTrip(t *testing.T) {
	u := &User{ID: "u1", Tenant: "0", Username: "ada", Email: "ada@example.com", Name: "Ada Admin", FirstName: "Ada", LastName: "Admin",
		FullName: "Ada Admin", Roles: []string{"admin"}, Workspace: &Workspace{ID: "w1", Name: "Acme Team", Roles: []string{"admin", "user"}, Labels: []string{"x"}}}
	tok := accessToken{user: u, expires: time.Unix(1796552065, 0), issued: time.Unix(1796534065, 0)}
	digest := pairDigest("a refresh cookie")
	for _, tc := range []struct {
		name string
		user *User
	}{
		{"with a workspace", u},
		{"without", &User{ID: "u2", Tenant: "0", Roles: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok.user = tc.user
			p := encodeCompact(nil, "sid", "the.access.token", tok, tc.user, digest)
			v, c, err := decodeCompact(append([]byte(nil), p...))
			if err != nil {
				t.Fatal(err)
			}
			if v.Session != "sid" || v.Token != "the.access.token" || !reflect.DeepEqual(c.auth.User, tc.user) ||
				!c.expires.Equal(tok.expires) || !c.issued.Equal(tok.issued) || c.digest != digest || c.auth.Workspace != c.auth.User.Workspace {
				t.Fatalf("read back %+v %+v %+v", v, c, c.auth.User)
			}
			a := &Auth{}
			c.setKeys(a, "sid", pairTag("refresh cookie ending in its MAC tail…"))
			if a.session != sessionRevocation("sid") || a.pairTag != pairTag("refresh cookie ending in its MAC tail…") {
				t.Errorf("keys %q %q", a.session, a.pairTag)
			}
			for n := range len(p) {
				if _, _, err := decodeCompact(append([]byte(nil), p[:n]...)); err == nil {
					t.Errorf("truncated to %d bytes: read", n)
				}
			}
			for i := range p {
				q := append([]byte(nil), p...)
				q[i] ^= 0x80
				decodeCompact(q) // must not panic
			}
		})
	}
}

// TestCompactTokenParts: a JWT is sealed as its three decoded parts only
// when they give back the very token; anything else is sealed as it is.
// Either way the cookie opens to the same token, and the decoded parts
// make the plaintext smaller.
func TestCompactTokenParts(t *testing.T) {
	jwtTok := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsInRlbmFudCI6IjAifQ.c2lnbmF0dXJlLW9mLXRoaXJ0eS10d28tYnl0ZXMtLS0"
	u := &User{ID: "u1", Tenant: "0", Roles: []string{}}
	tok := accessToken{user: u, expires: time.Unix(1796552065, 0)}
	for _, tc := range []struct {
		name  string
		token string
		raw   bool
	}{
		{"a JWT", jwtTok, true},
		{"padded", jwtTok + "=", false},
		{"two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9", false},
		{"four parts", jwtTok + ".eyJ9", false},
		{"not canonical base64", "the.access.token", false},
		{"an empty part", "eyJhbGciOiJIUzI1NiJ9..c2ln", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := encodeCompact(nil, "sid", tc.token, tok, u, pairDigest("r"))
			if raw := p[1+digestLen+16]&rawToken != 0; raw != tc.raw {
				t.Fatalf("sealed decoded: %v, want %v", raw, tc.raw)
			}
			if plain := encodeCompactPlain(tc.token, tok, u); tc.raw && len(p) >= len(plain) {
				t.Fatalf("decoded parts take %d bytes, the token as it is %d", len(p), len(plain))
			}
			v, c, err := decodeCompact(append([]byte(nil), p...))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.token(v); got != tc.token {
				t.Fatalf("token %q, want %q", got, tc.token)
			}
		})
	}
}

// encodeCompactPlain is encodeCompact's size with the token sealed as it
// is: a token of the same length that is not a JWT.
func encodeCompactPlain(token string, t accessToken, u *User) []byte {
	return encodeCompact(nil, "sid", string(make([]byte, len(token))), t, u, pairDigest("r"))
}
