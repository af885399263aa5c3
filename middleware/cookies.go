package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/cookieseal"
)

// maxCookieSize caps a sealed cookie value (all its chunks together)
// before it is opened. This app writes pairs of at most maxSessionBytes;
// earlier versions split a larger session over several cookies (see
// maxChunks), which are still read so those sessions can be renewed.
const maxCookieSize = 24 << 10

// maxChunks bounds how many chunks (name_0, name_1, …) of one sealed value
// written by an earlier version are read, and cleared: 7 chunks of about
// 3.9 KB held maxCookieSize, one more was headroom for long attributes.
const maxChunks = 8

// hostPrefix is the cookie-name prefix browsers reserve for cookies that
// are Secure, Path=/ and host-only: a sibling subdomain (or a plain-http
// page on the same host) cannot set or overwrite them. The session cookies
// carry it by default; see Config.Cookie.DisableHostPrefix.
const hostPrefix = "__Host-"

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
	// AcceptOnly makes the set open cookies without ever sealing one: the
	// first step of a rolling key rotation. Deploy the new set accept-only
	// to every replica first, so that none refuses the cookies it will
	// seal once promoted (see cmd/qelos-keys). In QELOS_COOKIE_KEYS it is
	// written with a leading "~". Default: false (the set may seal).
	AcceptOnly bool
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
// "~" when the set is accept-only, the base64 hash key, then ":" and the
// base64 block key when there is one.
func (k CookieKey) String() string {
	s := ""
	if k.AcceptOnly {
		s = acceptOnlyMark
	}
	s += base64.StdEncoding.EncodeToString(k.Hash)
	if len(k.Block) > 0 {
		s += ":" + base64.StdEncoding.EncodeToString(k.Block)
	}
	return s
}

// acceptOnlyMark starts an accept-only set in QELOS_COOKIE_KEYS. No base64
// alphabet has "~", so a value without it reads as it always did.
const acceptOnlyMark = "~"

// ParseCookieKeys reads key sets in the QELOS_COOKIE_KEYS format: a
// comma-separated list of "HASH" or "HASH:BLOCK", each key in standard or
// URL-safe base64, newest first; a set written "~HASH[:BLOCK]" is
// accept-only (see CookieKey.AcceptOnly). The first set that is not
// accept-only seals new cookies; all of them open cookies. Accept-only sets
// are returned after the others, so the first set returned is always the
// one that seals (the one to give refresh/redisstore as its Secret).
//
// A rolling rotation takes three deploys, each safe to run beside the one
// before it (cmd/qelos-keys prints each value and says which step a value
// is at):
//
//	CURRENT           steady state
//	CURRENT,~NEW      1. add: every replica opens NEW's cookies; none seals with it
//	NEW,CURRENT       2. promote: NEW seals; CURRENT's cookies still open
//	NEW               3. retire CURRENT once its cookies have expired (30 days)
func ParseCookieKeys(s string) ([]CookieKey, error) {
	var keys, acceptOnly []CookieKey
	for i, set := range strings.Split(s, ",") {
		set = strings.TrimSpace(set)
		if set == "" {
			continue
		}
		var k CookieKey
		if rest, ok := strings.CutPrefix(set, acceptOnlyMark); ok {
			set, k.AcceptOnly = strings.TrimSpace(rest), true
		}
		hashPart, blockPart, _ := strings.Cut(set, ":")
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
		if k.AcceptOnly {
			acceptOnly = append(acceptOnly, k)
		} else {
			keys = append(keys, k)
		}
	}
	switch {
	case len(keys) == 0 && len(acceptOnly) > 0:
		return nil, errors.New(`every cookie key set is accept-only ("~"): one set must seal new cookies; remove the "~" from the set in force`)
	case len(keys) == 0:
		return nil, errors.New(`no cookie keys: expected "HASH[:BLOCK][,HASH[:BLOCK]…]" in base64, e.g. the output of GenerateCookieKey().String()`)
	}
	return append(keys, acceptOnly...), nil
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

// sealed is what a session cookie holds: the token, and the session id
// both cookies of a pair share. The refresh cookie alone also records the
// session's workspace (bounded: see boundWorkspace), so that it survives a
// refresh even though Qelos drops it from the second refresh on; the
// user's display fields are the access token's own and are not sealed
// again. Cookies sealed by earlier versions have no session id and carry
// the workspace in both halves.
type sealed struct {
	Token string `json:"t"`
	// Session is the session id (see newSessionID); empty in a cookie
	// sealed by an earlier version.
	Session   string     `json:"s,omitempty"`
	Workspace *Workspace `json:"w,omitempty"`
	// Email is the address submitted at sign-up, for a token that lacks
	// one (Qelos's sign-up token has no email until the first refresh).
	Email string `json:"e,omitempty"`
	// NoWorkspace records that the user left (or was removed from) the
	// workspace, which the token Qelos issued may still name.
	NoWorkspace bool `json:"n,omitempty"`
}

// cookieName names one cookie: by the name its seal's MAC covers (the
// configured name) and by the names it has in the browser (with the __Host-
// prefix when it applies, and its chunks' names when it is split).
type cookieName struct {
	mac    string   // the configured name, covered by the seal's MAC
	wire   string   // the name in the browser
	chunks []string // wire_0 … wire_(maxChunks-1)
}

func newCookieName(base string, prefix bool) cookieName {
	n := cookieName{mac: base, wire: base}
	if prefix {
		n.wire = hostPrefix + base
	}
	for i := range maxChunks {
		n.chunks = append(n.chunks, n.wire+"_"+strconv.Itoa(i))
	}
	return n
}

// cookieJar seals, opens, writes and clears the session cookie pair.
type cookieJar struct {
	codecs   []securecookie.Codec // seal (the first that may) and open
	opener   *cookieseal.Opener   // opens what the codecs seal, on the request path
	scratch  sync.Pool            // *[]byte: openAccess's plaintext buffers
	access   cookieName
	refresh  cookieName
	social   cookieName // the social sign-in state
	path     string
	domain   string
	secure   bool
	sameSite http.SameSite
}

func newCookieJar(keys []CookieKey, c *Config) *cookieJar {
	j := &cookieJar{
		path:     c.Cookie.Path,
		domain:   c.Cookie.Domain,
		secure:   c.cookieSecure(),
		sameSite: c.Cookie.SameSite,
	}
	prefix := c.hostPrefix()
	j.access = newCookieName(c.Cookie.AccessName, prefix)
	j.refresh = newCookieName(c.Cookie.RefreshName, prefix)
	j.social = newCookieName(socialStateCookie, prefix)
	// securecookie seals with the first codec: put the sets that may seal
	// first, keeping their order (a Config built by hand may list an
	// accept-only set anywhere; one of only accept-only sets seals with the
	// first, rather than with none).
	keys = slices.Clone(keys)
	slices.SortStableFunc(keys, func(a, b CookieKey) int {
		switch {
		case a.AcceptOnly == b.AcceptOnly:
			return 0
		case b.AcceptOnly:
			return -1
		}
		return 1
	})
	var open []cookieseal.Key
	for _, k := range keys {
		open = append(open, cookieseal.Key{Hash: k.Hash, Block: k.Block})
		sc := securecookie.New(k.Hash, k.Block)
		sc.SetSerializer(securecookie.NopEncoder{}) // the plaintext is ours: JSON, or the compact format

		sc.MaxAge(0) // expiry is the tokens' own exp, checked on every use
		sc.MaxLength(maxCookieSize)
		j.codecs = append(j.codecs, sc)
	}
	// Config validated the keys (a block key of 0, 16, 24 or 32 bytes),
	// which AES accepts; were one refused, no cookie would open.
	var err error
	if j.opener, err = cookieseal.New(open...); err != nil {
		j.opener = &cookieseal.Opener{}
	}
	return j
}

// seal encodes v for the named cookie, as JSON (the refresh cookie, and
// an access cookie too large for the compact format). The name is part of
// the MAC, so an access cookie cannot be replayed as a refresh cookie or
// the other way round.
func (j *cookieJar) seal(n cookieName, v sealed) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return j.sealBytes(n, b)
}

// sealBytes seals a plaintext for the named cookie.
func (j *cookieJar) sealBytes(n cookieName, plaintext []byte) (string, error) {
	return securecookie.EncodeMulti(n.mac, plaintext, j.codecs...)
}

// open decodes a cookie sealed with any of the configured keys.
func (j *cookieJar) open(n cookieName, value string) (sealed, error) {
	v, _, err := j.openCompact(n, value)
	return v, err
}

// value returns the sealed value of the named cookie in r: the cookie
// itself when the browser sent it whole, else its chunks joined in order
// (name_0, name_1, … up to maxChunks); "" when there is neither. Only the
// chunked case allocates.
func (j *cookieJar) value(r *http.Request, n cookieName) string {
	return j.valueIn(r.Header["Cookie"], n)
}

// valueIn is value in the Cookie header lines.
func (j *cookieJar) valueIn(lines []string, n cookieName) string {
	// One pass finds the whole cookie, or the first of its chunks.
	var first string
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(textproto.TrimString(part), "=")
			if !ok || (k != n.wire && k != n.chunks[0]) {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if k == n.wire {
				if v != "" {
					return v
				}
			} else if first == "" {
				first = v
			}
		}
	}
	if first == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(first)
	for _, name := range n.chunks[1:] {
		v := cookieIn(lines, name)
		if v == "" {
			break
		}
		if b.Len()+len(v) > maxCookieSize {
			return b.String() + v // too large: open refuses it
		}
		b.WriteString(v)
	}
	return b.String()
}

// write sets both cookies, living until expires, and answers uncacheable
// by shared caches (the answer carries a session). It refuses a pair
// larger than maxSessionBytes as the browser would send it: such a pair is
// never written, whole or in chunks.
func (j *cookieJar) write(w http.ResponseWriter, r *http.Request, access, refresh string, expires time.Time, now time.Time) error {
	maxAge := int(expires.Sub(now).Seconds())
	if maxAge <= 0 {
		maxAge = 1
	}
	if j.pairSize(access, refresh) > maxSessionBytes {
		return qelos.ErrSessionTooLarge
	}
	noStoreCookies(w)
	j.set(w, r, j.access, access, maxAge)
	j.set(w, r, j.refresh, refresh, maxAge)
	return nil
}

// noStoreCookies marks an answer that sets session cookies as one no cache
// may store (see noStore). A handler may still change the headers after
// this; the writers of the package's own handlers (cookieResponse) apply it
// again when the headers are written.
func noStoreCookies(w http.ResponseWriter) { noStore(w.Header()) }

// pairSize is how many bytes the pair takes in the browser's Cookie
// header: "access=…; refresh=…".
func (j *cookieJar) pairSize(access, refresh string) int {
	return len(j.access.wire) + 1 + len(access) + len("; ") + len(j.refresh.wire) + 1 + len(refresh)
}

// set writes one sealed value, whole (write keeps the pair within
// maxSessionBytes, so no cookie nears the browsers' 4,096-byte limit).
// Chunks of it (name_0, name_1, …) that the request carried, written by an
// earlier version for a larger session, are cleared; without a request a
// whole cookie wins over chunks, and stale ones do no harm.
func (j *cookieJar) set(w http.ResponseWriter, r *http.Request, n cookieName, value string, maxAge int) {
	http.SetCookie(w, j.cookie(n.wire, value, maxAge))
	j.clearChunks(w, r, n, 0)
}

// clearChunks expires the chunks of n from index from on: those the
// request carried, or all of them when there is no request.
func (j *cookieJar) clearChunks(w http.ResponseWriter, r *http.Request, n cookieName, from int) {
	if r == nil && from == 0 {
		return // a whole cookie wins over chunks: stale ones do no harm
	}
	for _, name := range n.chunks[from:] {
		if r == nil || cookieValue(r, name) != "" {
			http.SetCookie(w, j.cookie(name, "", -1))
		}
	}
}

// clear expires both cookies, and any chunks of them the request carried,
// with the attributes they were set with.
func (j *cookieJar) clear(w http.ResponseWriter, r *http.Request) {
	for _, n := range []cookieName{j.access, j.refresh} {
		http.SetCookie(w, j.cookie(n.wire, "", -1))
		if r != nil {
			j.clearChunks(w, r, n, 0)
		}
	}
}

// pairCookie reports whether name is one of the pair's cookies or chunks.
func (j *cookieJar) pairCookie(name string) bool {
	for _, n := range []cookieName{j.access, j.refresh} {
		if name == n.wire || strings.HasPrefix(name, n.wire+"_") && slices.Contains(n.chunks, name) {
			return true
		}
	}
	return false
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
func cookieValue(r *http.Request, name string) string { return cookieIn(r.Header["Cookie"], name) }

// cookieIn is cookieValue in the Cookie header lines.
func cookieIn(lines []string, name string) string {
	for _, line := range lines {
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
