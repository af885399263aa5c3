package middleware

// Fuzz targets for everything that reads input an attacker controls: sealed
// cookies, tokens, Cookie and Set-Cookie headers, redirect targets, skip
// paths and the environment. Run them with scripts/fuzz.sh; without -fuzz,
// go test runs their seeds (f.Add and testdata/fuzz/<Name>/) as unit tests.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzKey is fixed, so the sealed cookies in testdata/fuzz stay openable.
func fuzzKey(block bool) CookieKey {
	h := sha256.Sum256([]byte("fuzz hash key"))
	k := CookieKey{Hash: h[:]}
	if block {
		b := sha256.Sum256([]byte("fuzz block key"))
		k.Block = b[:]
	}
	return k
}

// fuzzSecret signs the seed tokens (Qelos's default JWT_SECRET).
const fuzzSecret = "abcddddd"

var fuzzNow = time.Unix(1_800_000_000, 0)

func fuzzMiddleware(tb testing.TB, block bool, mutate func(*Config)) *Middleware {
	tb.Helper()
	c := Config{AppURL: "https://q.example", CookieKeys: []CookieKey{fuzzKey(block)}}
	if mutate != nil {
		mutate(&c)
	}
	m, err := New(c)
	if err != nil {
		tb.Fatal(err)
	}
	m.now = func() time.Time { return fuzzNow }
	return m
}

func fuzzToken(claims jwt.MapClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(fuzzSecret))
	return s
}

// seedTokens are tokens worth mutating: Qelos-shaped ones and the usual
// attacks on JWT readers.
func seedTokens() []string {
	qelos := jwt.MapClaims{
		"workspace": map[string]any{"_id": "6b08ed31a15f3cecd2836587", "name": "Acme%20Team", "roles": []string{"admin"}, "labels": []string{}},
		"sub":       "6b08ed3053ba253bfa2e98e9", "tenant": "0", "username": "admin@example.com", "email": "admin@example.com",
		"firstName": "Ada", "lastName": "Admin", "roles": []string{"admin", "user"},
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix(),
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "x", "exp": 4102444800}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "x", "exp": 4102444800}).SignedString([]byte(fuzzSecret))
	return []string{
		fuzzToken(qelos),
		fuzzToken(jwt.MapClaims{"sub": "x", "exp": 1.8e9 + 0.25, "nbf": 1.9e9}),
		fuzzToken(jwt.MapClaims{"sub": "x"}),
		fuzzToken(jwt.MapClaims{"exp": "soon", "sub": 7}),
		none, hs512, "", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", strings.Repeat("A", maxTokenSize+1),
	}
}

// FuzzCookieOpen: any value in a session cookie is refused or opens to a
// token; never a panic, and never one value that opens as both cookies.
func FuzzCookieOpen(f *testing.F) {
	sealers := []*Middleware{fuzzMiddleware(f, true, nil), fuzzMiddleware(f, false, nil)}
	for _, m := range sealers {
		for _, tok := range seedTokens()[:3] {
			v, _ := m.jar.seal(m.jar.access, sealed{Token: tok, Workspace: &Workspace{ID: "w", Name: "W"}})
			f.Add(v)
			f.Add(v[:len(v)/2])
		}
	}
	f.Add("")
	f.Add("%%%<script>")
	f.Add(strings.Repeat("A", maxCookieSize+1))
	f.Fuzz(func(t *testing.T, value string) {
		for _, m := range sealers {
			s, errAccess := m.jar.open(m.jar.access, value)
			if errAccess == nil && s.Token == "" {
				t.Fatal("opened to an empty token")
			}
			if errAccess == nil && len(value) > maxCookieSize {
				t.Fatalf("a %d-byte cookie opened", len(value))
			}
			if _, errRefresh := m.jar.open(m.jar.refresh, value); errAccess == nil && errRefresh == nil {
				t.Fatal("one value opened as both the access and the refresh cookie")
			}
		}
	})
}

// FuzzCookieSealOpen: what is sealed opens to itself, under its own name
// only, and the sealed value is a valid cookie value as it is.
func FuzzCookieSealOpen(f *testing.F) {
	sealers := []*Middleware{fuzzMiddleware(f, true, nil), fuzzMiddleware(f, false, nil)}
	for _, tok := range seedTokens() {
		f.Add(tok, "6b08ed31a15f3cecd2836587", "Acme%20Team")
	}
	f.Add("t", "", "")
	f.Add("\xff\xfe", "\x00", "\u2028")
	f.Fuzz(func(t *testing.T, token, wsID, wsName string) {
		var ws *Workspace
		if wsID != "" {
			ws = &Workspace{ID: wsID, Name: wsName, Roles: []string{"admin"}, Labels: []string{"l"}}
		}
		for _, m := range sealers {
			v, err := m.jar.seal(m.jar.access, sealed{Token: token, Workspace: ws})
			if err != nil {
				if len(token)+len(wsID)+len(wsName) < 1024 {
					t.Fatalf("sealing %d bytes failed: %v", len(token)+len(wsID)+len(wsName), err)
				}
				continue // too large for a cookie: refused, as it must be
			}
			for i := 0; i < len(v); i++ {
				if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
					t.Fatalf("sealed value has byte %q, not a cookie-octet", c)
				}
			}
			got, err := m.jar.open(m.jar.access, v)
			if token == "" {
				if err == nil {
					t.Fatal("a cookie without a token opened")
				}
				continue
			}
			if err != nil {
				t.Fatalf("a sealed cookie did not open: %v", err)
			}
			// JSON carries valid UTF-8 only; Qelos tokens are ASCII.
			if utf8.ValidString(token) && got.Token != token {
				t.Fatalf("token %q opened as %q", token, got.Token)
			}
			if (ws == nil) != (got.Workspace == nil) || ws != nil && utf8.ValidString(wsID) && utf8.ValidString(wsName) && (got.Workspace.ID != ws.ID || got.Workspace.Name != ws.Name) {
				t.Fatalf("workspace %+v opened as %+v", ws, got.Workspace)
			}
			if _, err := m.jar.open(m.jar.refresh, v); err == nil {
				t.Fatal("an access cookie opened as a refresh cookie")
			}
		}
	})
}

// FuzzReadToken: a token is read only when its header says HS256, it has
// sub and exp, and (with JWTSecret) its signature holds; readExpiry agrees
// with readAccess. Never a panic.
func FuzzReadToken(f *testing.F) {
	plain := fuzzMiddleware(f, true, nil)
	verifying := fuzzMiddleware(f, true, func(c *Config) { c.JWTSecret = fuzzSecret })
	for _, tok := range seedTokens() {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		a, err := plain.tokens.readAccess(token)
		av, errV := verifying.tokens.readAccess(token)
		exp, errExp := plain.tokens.readExpiry(token)
		if errV == nil && (err != nil || av.user.ID != a.user.ID || !av.expires.Equal(a.expires)) {
			t.Fatalf("verified but not read alike: %v", err)
		}
		if errExp == nil && headerAlg(token) != "HS256" {
			t.Fatalf("readExpiry accepted alg %q", headerAlg(token))
		}
		if err != nil {
			return
		}
		if len(token) > maxTokenSize {
			t.Fatalf("read a %d-byte token", len(token))
		}
		if alg := headerAlg(token); alg != "HS256" {
			t.Fatalf("read a token whose alg is %q", alg)
		}
		if a.user == nil || a.user.ID == "" || a.user.Roles == nil || a.expires.IsZero() {
			t.Fatalf("read an incomplete token: %+v", a)
		}
		if a.user.Workspace != nil && a.user.Workspace.ID == "" {
			t.Fatal("a workspace without an id")
		}
		if a.user.Tenant != DefaultTenant {
			t.Fatalf("read a token of tenant %q, want only %q", a.user.Tenant, DefaultTenant)
		}
		if errExp != nil || !exp.Equal(a.expires) {
			t.Fatalf("readExpiry = %v, %v; readAccess says %v", exp, errExp, a.expires)
		}
	})
}

// FuzzCookieChunks: a sealed value of any size up to the bound, split into
// chunks as earlier versions wrote a large session, reads back byte for
// byte from the cookies a browser would send; a value written now is one
// cookie, and clears the chunks of the previous, larger session.
func FuzzCookieChunks(f *testing.F) {
	m := fuzzMiddleware(f, true, nil)
	f.Add(100, 0, byte('A'), 3900)
	f.Add(4000, 3, byte('z'), 3900)
	f.Add(maxCookieSize, 6, byte('-'), 3900)
	f.Add(9000, 1, byte('_'), 1000)
	f.Fuzz(func(t *testing.T, size, staleChunks int, fill byte, chunk int) {
		if size <= 0 || size > maxCookieSize || staleChunks < 0 || staleChunks > maxChunks || chunk < maxCookieSize/maxChunks || chunk > 4096 {
			return
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
		b := make([]byte, size)
		for i := range b {
			b[i] = alphabet[(int(fill)+i*7)%len(alphabet)]
		}
		value := string(b)
		// Read: the value as chunks of an earlier version's session.
		chunked := httptest.NewRequest(http.MethodGet, "/", nil)
		for i, rest := 0, value; rest != ""; i++ {
			part := rest[:min(chunk, len(rest))]
			rest = rest[len(part):]
			chunked.AddCookie(&http.Cookie{Name: m.jar.access.chunks[i], Value: part})
		}
		if got := m.jar.value(chunked, m.jar.access); got != value {
			t.Fatalf("chunks of %d bytes read back as %d", len(value), len(got))
		}
		// Write: whole, clearing stale chunks.
		prev := httptest.NewRequest(http.MethodGet, "/", nil)
		for i := range staleChunks {
			prev.AddCookie(&http.Cookie{Name: m.jar.access.chunks[i], Value: "stale"})
		}
		rec := httptest.NewRecorder()
		m.jar.set(rec, prev, m.jar.access, value, 60)
		jar := map[string]string{}
		for i := range staleChunks {
			jar[m.jar.access.chunks[i]] = "stale"
		}
		for _, c := range rec.Result().Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c.Value
			}
		}
		if len(jar) != 1 || jar[m.jar.access.wire] != value {
			t.Fatalf("wrote %d bytes; the browser holds %d cookies", len(value), len(jar))
		}
	})
}

// headerAlg decodes a JWT's header, independently of the reader under test.
func headerAlg(token string) string {
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	json.Unmarshal(b, &h)
	return h.Alg
}

// FuzzRewriteSetCookieDomain checks the Domain rewrite against an
// independent reading of its contract (rewriteReference) and its stated
// invariants.
func FuzzRewriteSetCookieDomain(f *testing.F) {
	for _, s := range []string{
		"sid=abc; Path=/; Domain=.qelos.app; HttpOnly; Secure",
		"sid=abc; domain = x ; Domain=y",
		"sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=.qelos.app; Path=/",
		"a=1;Domain=  ;Path=/",
		"a=1; Domain=\t",
		"a=1; DOMAIN=x",
		"sid=domain=x; Path=/",
		"qlt_0=jwt; Max-Age=2592000; Domain=127.0.0.1; Path=/api; HttpOnly; Secure; SameSite=None",
	} {
		for _, d := range []string{"example.com", "", "localhost:3000", "[::1]:8080", "::1", ":8080", " ", "a;b"} {
			f.Add(s, d)
		}
	}
	f.Fuzz(func(t *testing.T, setCookie, domain string) {
		got := RewriteSetCookieDomain(setCookie, domain)
		if want := rewriteReference(setCookie, domain); got != want {
			t.Fatalf("RewriteSetCookieDomain(%q, %q)\n got  %q\n want %q", setCookie, domain, got, want)
		}
		if !strings.Contains(strings.ToLower(setCookie), "domain") && got != setCookie {
			t.Fatalf("no Domain attribute, yet %q became %q", setCookie, got)
		}
		host := stripPort(domain)
		for i := 0; i < len(host); i++ { // whatever the Host header held, only a host name reaches the cookie
			if c := host[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:", c) >= 0) {
				t.Fatalf("stripPort(%q) = %q, which is not a host name", domain, host)
			}
		}
		if got == setCookie {
			return
		}
		semis := strings.Count(setCookie, ";")
		if host == "" {
			semis-- // the segment is gone
		}
		if strings.Count(got, ";") != semis {
			t.Fatalf("attributes other than Domain changed: %q → %q", setCookie, got)
		}
		if !strings.ContainsAny(setCookie+host, "\r\n") && strings.ContainsAny(got, "\r\n") {
			t.Fatalf("CR/LF appeared: %q", got)
		}
	})
}

// rewriteReference is the rewrite rule spelled out by hand: find the first
// ";" followed by optional white space, "domain" in any case, optional
// white space, "=", optional white space and a non-empty value up to the
// next ";"; then either drop that whole segment (no host) or replace the
// value with the host.
func rewriteReference(sc, newDomain string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
	for i := 0; i < len(sc); i++ {
		if sc[i] != ';' {
			continue
		}
		j := i + 1
		for j < len(sc) && isSpace(sc[j]) {
			j++
		}
		if j+6 > len(sc) || !asciiEqualFold(sc[j:j+6], "domain") {
			continue
		}
		j += 6
		for j < len(sc) && isSpace(sc[j]) {
			j++
		}
		if j >= len(sc) || sc[j] != '=' {
			continue
		}
		j++
		start := j
		for start < len(sc) && isSpace(sc[start]) {
			start++
		}
		end := start
		for end < len(sc) && sc[end] != ';' {
			end++
		}
		if end == start { // only white space before ";": the value is its last character
			if start == j {
				continue // no value at all
			}
			start--
		}
		host := stripPort(newDomain)
		if host == "" {
			return sc[:i] + sc[end:]
		}
		return sc[:start] + host + sc[end:]
	}
	return sc
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// FuzzCookieValue: the Cookie-header reader never panics, returns only
// what the header holds, and finds a cookie appended to any header that
// does not already name it.
func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; q_access_token=abc; b=2", "q_access_token", "v")
	f.Add(";;=;q_access_token", "q_access_token", `"quoted"`)
	f.Add("q_access_token_old=zzz", "q_access_token", " lead")
	f.Add("", "", "")
	f.Add("\t q=1 \r\n", "q", "trail \t")
	f.Fuzz(func(t *testing.T, header, name, value string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		got := cookieValue(r, name)
		if strings.Contains(got, ";") || !strings.Contains(header, got) {
			t.Fatalf("cookieValue(%q, %q) = %q", header, name, got)
		}
		if name == "" || strings.ContainsAny(name, "=;") || trimASCIISpace(name) != name || strings.Contains(value, ";") || namesCookie(header, name) {
			return
		}
		r.Header["Cookie"] = []string{header + ";" + name + "=" + value}
		want := strings.TrimRight(value, " \t\r\n") // the part is trimmed; the value's leading space stays
		if len(want) > 1 && want[0] == '"' && want[len(want)-1] == '"' {
			want = want[1 : len(want)-1]
		}
		if got := cookieValue(r, name); got != want {
			t.Fatalf("appended %q=%q to %q: got %q, want %q", name, value, header, got, want)
		}
	})
}

// namesCookie reports whether any ";"-separated part of header is a cookie
// called name (the reader returns the first one).
func namesCookie(header, name string) bool {
	for _, part := range strings.Split(header, ";") {
		if k, _, ok := strings.Cut(trimASCIISpace(part), "="); ok && k == name {
			return true
		}
	}
	return false
}

// trimASCIISpace trims what net/textproto.TrimString trims.
func trimASCIISpace(s string) string {
	return strings.Trim(s, " \t\r\n")
}

// FuzzSkipPaths: a path is skipped exactly when it starts with a
// configured prefix, or with /api/ while the proxy is on.
func FuzzSkipPaths(f *testing.F) {
	f.Add("/health,/metrics", "/health/live")
	f.Add("/api/_health", "/api/echo")
	f.Add("/,", "/anything")
	f.Add(" /a , ,b", "/ab")
	f.Add("", "/api")
	f.Fuzz(func(t *testing.T, list, path string) {
		var prefixes []string
		for _, p := range splitList(list) {
			if strings.HasPrefix(p, "/") {
				prefixes = append(prefixes, p)
			}
		}
		for _, disableProxy := range []bool{false, true} {
			m := fuzzMiddleware(t, false, func(c *Config) { c.SkipPaths, c.Proxy.Disable = prefixes, disableProxy })
			want := false // nothing is skipped implicitly, /api/ included
			for _, p := range prefixes {
				want = want || strings.HasPrefix(path, p)
			}
			if got := m.skipped(path); got != want {
				t.Fatalf("SkipPaths %q, DisableProxy %v: skipped(%q) = %v", prefixes, disableProxy, path, got)
			}
		}
	})
}

// FuzzConfigFromEnv: booleans are true/1/false/0 (any case, trimmed) or an
// error naming the variable; skip paths are trimmed, non-empty and free of
// commas; cookie keys are ParseCookieKeys's; a missing URL is reported.
func FuzzConfigFromEnv(f *testing.F) {
	key := fuzzKey(true).String()
	f.Add("https://q.example", "true", "0", "/_next, /favicon.ico,,", key)
	f.Add("", "TRUE ", "yes", " , ", "!!")
	f.Add(" ", "1", "False", "/a,/b", key+","+fuzzKey(false).String())
	f.Fuzz(func(t *testing.T, appURL, requireAuth, disableProxy, skipPaths, cookieKeys string) {
		env := map[string]string{"QELOS_APP_URL": appURL, "QELOS_REQUIRE_AUTH": requireAuth, "QELOS_DISABLE_PROXY": disableProxy,
			"QELOS_SKIP_PATHS": skipPaths, "QELOS_COOKIE_KEYS": cookieKeys}
		c, err := ConfigFromLookup(func(k string) string { return env[k] })
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		for _, b := range []struct {
			name, in string
			got      bool
		}{{"QELOS_REQUIRE_AUTH", requireAuth, c.RequireAuth}, {"QELOS_DISABLE_PROXY", disableProxy, c.Proxy.Disable}} {
			switch strings.ToLower(strings.TrimSpace(b.in)) {
			case "", "false", "0", "true", "1":
				if want := slices.Contains([]string{"true", "1"}, strings.ToLower(strings.TrimSpace(b.in))); b.got != want || strings.Contains(msg, b.name) {
					t.Fatalf("%s=%q: got %v, error %q", b.name, b.in, b.got, msg)
				}
			default:
				if !strings.Contains(msg, b.name) {
					t.Fatalf("%s=%q is not reported: %q", b.name, b.in, msg)
				}
			}
		}
		if (strings.TrimSpace(appURL) == "") != strings.Contains(msg, "QELOS_APP_URL is required") {
			t.Fatalf("QELOS_APP_URL=%q: error %q", appURL, msg)
		}
		n := 0
		for _, p := range strings.Split(skipPaths, ",") {
			if strings.TrimSpace(p) != "" {
				n++
			}
		}
		if len(c.SkipPaths) != n {
			t.Fatalf("QELOS_SKIP_PATHS=%q gave %q", skipPaths, c.SkipPaths)
		}
		for _, p := range c.SkipPaths {
			if p == "" || p != strings.TrimSpace(p) || strings.Contains(p, ",") || !strings.Contains(skipPaths, p) {
				t.Fatalf("QELOS_SKIP_PATHS=%q gave item %q", skipPaths, p)
			}
		}
		keys, keyErr := ParseCookieKeys(cookieKeys)
		switch {
		case strings.TrimSpace(cookieKeys) == "":
			if c.CookieKeys != nil || !strings.Contains(msg, "QELOS_COOKIE_KEYS is required") {
				t.Fatalf("blank QELOS_COOKIE_KEYS: %v, %q", c.CookieKeys, msg)
			}
		case keyErr != nil:
			if !strings.Contains(msg, "QELOS_COOKIE_KEYS") {
				t.Fatalf("QELOS_COOKIE_KEYS=%q: %v not reported: %q", cookieKeys, keyErr, msg)
			}
		case len(keys) != len(c.CookieKeys) || strings.Contains(msg, "QELOS_COOKIE_KEYS"):
			t.Fatalf("QELOS_COOKIE_KEYS=%q: %d keys, want %d; %q", cookieKeys, len(c.CookieKeys), len(keys), msg)
		}
	})
}

// FuzzParseCookieKeys: accepted keys are valid, make a working Middleware,
// and survive String and ParseCookieKeys again.
func FuzzParseCookieKeys(f *testing.F) {
	f.Add(fuzzKey(true).String())
	f.Add(fuzzKey(false).String() + " , " + fuzzKey(true).String())
	f.Add(base64.RawURLEncoding.EncodeToString(fuzzKey(false).Hash) + ":" + base64.StdEncoding.EncodeToString(make([]byte, 16)))
	f.Add("!!!:")
	f.Add(",,")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseCookieKeys(s)
		if err != nil {
			if keys != nil {
				t.Fatal("keys with an error")
			}
			return
		}
		var again []string
		for _, k := range keys {
			if k.validate() != nil {
				t.Fatalf("accepted an invalid key set: %d/%d bytes", len(k.Hash), len(k.Block))
			}
			again = append(again, k.String())
		}
		back, err := ParseCookieKeys(strings.Join(again, ","))
		if err != nil || len(back) != len(keys) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range keys {
			if !bytes.Equal(back[i].Hash, keys[i].Hash) || !bytes.Equal(back[i].Block, keys[i].Block) {
				t.Fatalf("key set %d changed in the round trip", i)
			}
		}
		if _, err := New(Config{AppURL: "https://q.example", CookieKeys: keys}); err != nil {
			t.Fatalf("parsed keys refused by New: %v", err)
		}
	})
}

// FuzzSafeRedirect: whatever SafeRedirect accepts stays on the app's
// origin, read by net/url, after http.Redirect (which the handlers use), and
// read the way a browser reads a Location; and carries no CR, LF or
// backslash.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/", "/account?tab=1#x", "//evil.com", `/\evil.com`, "https:evil.com", "/%2F%2Fevil.com",
		"/%09/evil.com", "/.//evil.com", "/a/..//evil.com", "/\r\nSet-Cookie: x=1", "/%0d%0a", "javascript:alert(1)", "/\u3000/evil.com"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, target string) {
		if !SafeRedirect(target) {
			return
		}
		if strings.ContainsAny(target, "\r\n\\") {
			t.Fatalf("accepted %q, which holds CR, LF or a backslash", target)
		}
		ref, err := url.Parse(target)
		if err != nil {
			t.Fatalf("accepted %q, which net/url cannot parse: %v", target, err)
		}
		if u := base.ResolveReference(ref); u.Scheme != "https" || u.Host != "app.example" {
			t.Fatalf("accepted %q, which resolves to %s", target, u)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest(http.MethodPost, "https://app.example/auth/signin", nil), target, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		if !browserStaysOn(base, loc) {
			t.Fatalf("accepted %q, whose Location %q leaves the origin", target, loc)
		}
	})
}

// browserStaysOn reads a Location as a browser would (tabs and newlines
// dropped, surrounding controls and spaces trimmed, backslashes as
// slashes) and reports whether it resolves to base's origin.
func browserStaysOn(base *url.URL, location string) bool {
	l := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(location)
	l = strings.TrimFunc(l, func(r rune) bool { return r <= ' ' })
	ref, err := url.Parse(l)
	if err != nil {
		return false
	}
	u := base.ResolveReference(ref)
	return u.Scheme == base.Scheme && u.Host == base.Host
}
