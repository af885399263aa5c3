package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// maxCookieSize caps a sealed cookie value before it is opened. A sealed
// pair cookie is about 2 KiB; browsers keep at most 4 KiB per cookie.
const maxCookieSize = 8 << 10

// CookieKey is one key set for sealing the session cookies with
// gorilla/securecookie.
type CookieKey struct {
	// Hash authenticates the cookie with HMAC-SHA256. 32 or 64 random bytes.
	Hash []byte
	// Block, when set, also encrypts the cookie with AES (16, 24 or 32
	// bytes for AES-128/192/256). Without it the tokens inside are readable
	// (though not forgeable) by whoever holds the cookie: the user's own
	// browser, where the cookie is HttpOnly.
	Block []byte
}

// GenerateCookieKey returns a fresh key set with a 32-byte hash key and a
// 32-byte AES-256 block key. Keys generated at start-up do not survive a
// restart: every session then ends. Persist them (see ParseCookieKeys).
func GenerateCookieKey() CookieKey {
	k := CookieKey{Hash: make([]byte, 32), Block: make([]byte, 32)}
	rand.Read(k.Hash)
	rand.Read(k.Block)
	return k
}

// String renders k in the QELOS_COOKIE_KEYS format read by ParseCookieKeys:
// base64 hash key, then ":" and base64 block key when there is one.
func (k CookieKey) String() string {
	s := base64.StdEncoding.EncodeToString(k.Hash)
	if len(k.Block) > 0 {
		s += ":" + base64.StdEncoding.EncodeToString(k.Block)
	}
	return s
}

// ParseCookieKeys reads key sets in the QELOS_COOKIE_KEYS format: a
// comma-separated list of "HASH" or "HASH:BLOCK", each key in standard or
// URL-safe base64, newest first. The first set seals new cookies; all of
// them open cookies, so appending the old set after a new one rotates keys
// without signing anybody out.
func ParseCookieKeys(s string) ([]CookieKey, error) {
	var keys []CookieKey
	for i, set := range strings.Split(s, ",") {
		set = strings.TrimSpace(set)
		if set == "" {
			continue
		}
		hashPart, blockPart, _ := strings.Cut(set, ":")
		var k CookieKey
		var err error
		if k.Hash, err = decodeKey(hashPart); err != nil {
			return nil, fmt.Errorf("cookie key set %d: hash key: %w (expected HASH[:BLOCK][,…] in base64)", i+1, err)
		}
		if blockPart != "" {
			if k.Block, err = decodeKey(blockPart); err != nil {
				return nil, fmt.Errorf("cookie key set %d: block key: %w (expected HASH[:BLOCK][,…] in base64)", i+1, err)
			}
		}
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("cookie key set %d: %w (expected HASH[:BLOCK] in base64)", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New(`no cookie keys: expected "HASH[:BLOCK][,HASH[:BLOCK]…]" in base64, e.g. the output of GenerateCookieKey().String()`)
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func (k CookieKey) validate() error {
	if len(k.Hash) < 32 {
		return fmt.Errorf("hash key is %d bytes; use 32 or 64 random bytes", len(k.Hash))
	}
	switch len(k.Block) {
	case 0, 16, 24, 32:
		return nil
	}
	return fmt.Errorf("block key is %d bytes; use 16, 24 or 32 bytes (AES-128/192/256), or none", len(k.Block))
}

// sealed is what a session cookie holds. Both cookies carry the active
// workspace, so it survives a refresh even though Qelos drops it from the
// second refresh on.
type sealed struct {
	Token     string     `json:"t"`
	Workspace *Workspace `json:"w,omitempty"`
	// Email is the address submitted at sign-up, for a token that lacks
	// one (Qelos's sign-up token has no email until the first refresh).
	Email string `json:"e,omitempty"`
}

// cookieJar seals, opens, writes and clears the session cookie pair.
type cookieJar struct {
	codecs      []securecookie.Codec
	accessName  string
	refreshName string
	path        string
	domain      string
	secure      bool
	sameSite    http.SameSite
}

func newCookieJar(keys []CookieKey, c *Config) *cookieJar {
	j := &cookieJar{
		accessName:  c.AccessCookieName,
		refreshName: c.RefreshCookieName,
		path:        c.CookiePath,
		domain:      c.CookieDomain,
		secure:      c.cookieSecure(),
		sameSite:    c.CookieSameSite,
	}
	for _, k := range keys {
		sc := securecookie.New(k.Hash, k.Block)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(0) // expiry is the tokens' own exp, checked on every use
		sc.MaxLength(maxCookieSize)
		j.codecs = append(j.codecs, sc)
	}
	return j
}

// seal encodes v for the named cookie. The name is part of the MAC, so an
// access cookie cannot be replayed as a refresh cookie or the other way round.
func (j *cookieJar) seal(name string, v sealed) (string, error) {
	return securecookie.EncodeMulti(name, v, j.codecs...)
}

// open decodes a cookie sealed by seal with any of the configured keys.
func (j *cookieJar) open(name, value string) (sealed, error) {
	var v sealed
	if len(value) > maxCookieSize {
		return v, errors.New("cookie larger than 8 KiB")
	}
	if err := securecookie.DecodeMulti(name, value, &v, j.codecs...); err != nil {
		return v, err
	}
	if v.Token == "" {
		return v, errors.New("cookie holds no token")
	}
	return v, nil
}

// write sets both cookies, living until maxAge.
func (j *cookieJar) write(w http.ResponseWriter, access, refresh string, expires time.Time, now time.Time) {
	maxAge := int(expires.Sub(now).Seconds())
	if maxAge <= 0 {
		maxAge = 1
	}
	http.SetCookie(w, j.cookie(j.accessName, access, maxAge))
	http.SetCookie(w, j.cookie(j.refreshName, refresh, maxAge))
}

// clear expires both cookies, with the attributes they were set with.
func (j *cookieJar) clear(w http.ResponseWriter) {
	http.SetCookie(w, j.cookie(j.accessName, "", -1))
	http.SetCookie(w, j.cookie(j.refreshName, "", -1))
}

func (j *cookieJar) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     j.path,
		Domain:   j.domain,
		MaxAge:   maxAge,
		Secure:   j.secure,
		HttpOnly: true,
		SameSite: j.sameSite,
	}
}

// cookieValue returns the value of the first cookie called name in the
// request's Cookie headers, without allocating. The value is returned
// unvalidated: opening it is what validates it.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if k, v, ok := strings.Cut(part, "="); ok && k == name {
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v
			}
		}
	}
	return ""
}
