package middleware_test

// Security properties beyond those cookies_test.go and session_test.go
// already prove (alg none, HS512, a foreign secret, swapped or tampered
// cookies, key rotation, the SafeRedirect corpus, identity headers). Every
// test ends by checking that no credential it used reached the log.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// noSecretsLogged fails if the log holds any of secrets.
func noSecretsLogged(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("the log holds a credential (%.8s…)", s)
		}
	}
	if strings.Contains(logs, "eyJ") {
		t.Errorf("the log holds something that looks like a JWT:\n%s", logs)
	}
}

// adminClaims are the claims of an access token for the seeded admin.
func adminClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": qelostest.AdminID, "tenant": "0", "email": qelostest.AdminEmail, "username": qelostest.AdminEmail,
		"roles": []string{"admin", "user"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func signToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealedPair seals access with a live refresh token of the admin.
func sealedPair(t *testing.T, h *harness, access string) ([]*http.Cookie, string) {
	t.Helper()
	_, refreshTok, err := h.qelos.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	sa, sr := middleware.SealPair(h.mw, access, refreshTok, nil)
	return []*http.Cookie{{Name: accessCookie, Value: sa}, {Name: refreshCookie, Value: sr}}, refreshTok
}

// TestAlgorithmConfusionIsRejected: only HS256 is read, and with JWTSecret
// only HS256 signed with that secret. An RS256 token, and an HS256 token
// whose HMAC key is the RSA public key (the classic confusion attack), are
// refused even sealed into a cookie that opens, and as bearer tokens.
//
// Without JWTSecret, a well-formed HS256 token sealed by this app is trusted
// by design (the seal is the proof, and only the app can seal), so the
// public-key-as-secret case is meaningful only with JWTSecret.
func TestAlgorithmConfusionIsRejected(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	now := time.Now()
	rs256 := signToken(t, jwt.SigningMethodRS256, priv, adminClaims(now))
	hsWithPublicKey := signToken(t, jwt.SigningMethodHS256, pubPEM, adminClaims(now))
	expired := adminClaims(now)
	expired["exp"] = now.Add(-time.Minute).Unix()
	rs256Refresh := signToken(t, jwt.SigningMethodRS256, priv, jwt.MapClaims{"sub": qelostest.AdminID, "exp": now.Add(time.Hour).Unix()})

	tests := []struct {
		name      string
		jwtSecret bool
		cookie    string // access token sealed into the access cookie
		refresh   string // token sealed into the refresh cookie instead of a live one
		bearer    string
	}{
		{name: "RS256 in a sealed cookie", cookie: rs256},
		{name: "RS256 in a sealed cookie, JWTSecret set", jwtSecret: true, cookie: rs256},
		{name: "HS256 keyed with the RSA public key in a sealed cookie, JWTSecret set", jwtSecret: true, cookie: hsWithPublicKey},
		{name: "RS256 refresh token behind an expired access token", cookie: signToken(t, jwt.SigningMethodHS256, []byte(qelostest.DefaultJWTSecret), expired), refresh: rs256Refresh},
		{name: "RS256 bearer, JWTSecret set", jwtSecret: true, bearer: rs256},
		{name: "HS256 keyed with the RSA public key as bearer, JWTSecret set", jwtSecret: true, bearer: hsWithPublicKey},
		{name: "RS256 bearer, Qelos decides", bearer: rs256},
		{name: "HS256 keyed with the RSA public key as bearer, Qelos decides", bearer: hsWithPublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) {
				if tt.jwtSecret {
					c.JWTSecret = qelostest.DefaultJWTSecret
				}
			})
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
			var secrets []string
			if tt.cookie != "" {
				cookies, refreshTok := sealedPair(t, h, tt.cookie)
				if tt.refresh != "" {
					_, sr := middleware.SealPair(h.mw, "x", tt.refresh, nil)
					cookies[1].Value = sr
				}
				for _, c := range cookies {
					req.AddCookie(c)
					secrets = append(secrets, c.Value)
				}
				secrets = append(secrets, refreshTok)
			}
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			r := h.send(req)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d %s, want 401", r.status, r.body)
			}
			if tt.cookie != "" && (!r.cleared(accessCookie) || !r.cleared(refreshCookie)) {
				t.Fatalf("the forged session was not cleared: %v", r.cookies)
			}
			if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 0 {
				t.Fatalf("a forged token reached the token endpoint (%d calls)", n)
			}
			if n := h.qelos.Calls(qelostest.EndpointMe); tt.jwtSecret && n != 0 {
				t.Fatalf("with JWTSecret a forged bearer reached /api/me (%d calls)", n)
			}
			noSecretsLogged(t, h.logs.String(), append(secrets, tt.cookie, tt.bearer, tt.refresh)...)
		})
	}
}

// TestNotBeforeAndLeeway: nbf in the future is refused unless Config.Refresh.Leeway
// covers the skew; a bearer token verified with JWTSecret is accepted
// within Leeway of its exp, and not beyond.
func TestNotBeforeAndLeeway(t *testing.T) {
	now := time.Now()
	with := func(mod func(jwt.MapClaims)) string {
		c := adminClaims(now)
		mod(c)
		return signToken(t, jwt.SigningMethodHS256, []byte(qelostest.DefaultJWTSecret), c)
	}
	nbfIn30s := with(func(c jwt.MapClaims) { c["nbf"] = now.Add(30 * time.Second).Unix() })
	expired5sAgo := with(func(c jwt.MapClaims) { c["exp"] = now.Add(-5 * time.Second).Unix() })
	expired2mAgo := with(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })

	tests := []struct {
		name   string
		leeway time.Duration
		cookie string // sealed into the pair
		bearer string // verified with JWTSecret
		want   int
	}{
		{"cookie: nbf 30 s ahead, no leeway", 0, nbfIn30s, "", 401},
		{"cookie: nbf 30 s ahead, 10 s leeway", 10 * time.Second, nbfIn30s, "", 401},
		{"cookie: nbf 30 s ahead, 1 min leeway", time.Minute, nbfIn30s, "", 200},
		{"bearer: nbf 30 s ahead, no leeway", 0, "", nbfIn30s, 401},
		{"bearer: nbf 30 s ahead, 1 min leeway", time.Minute, "", nbfIn30s, 200},
		{"bearer: expired 5 s ago, no leeway", 0, "", expired5sAgo, 401},
		{"bearer: expired 5 s ago, 30 s leeway", 30 * time.Second, "", expired5sAgo, 200},
		{"bearer: expired 2 min ago, 30 s leeway", 30 * time.Second, "", expired2mAgo, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) {
				c.Refresh.Leeway = tt.leeway
				c.JWTSecret = qelostest.DefaultJWTSecret
			})
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
			var secrets []string
			if tt.cookie != "" {
				cookies, refreshTok := sealedPair(t, h, tt.cookie)
				for _, c := range cookies {
					req.AddCookie(c)
					secrets = append(secrets, c.Value)
				}
				secrets = append(secrets, refreshTok, tt.cookie)
			} else {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
				secrets = append(secrets, tt.bearer)
			}
			r := h.send(req)
			if r.status != tt.want {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.want)
			}
			if tt.want == 200 && r.whoami(t).User.Email != qelostest.AdminEmail {
				t.Fatalf("user %s", r.body)
			}
			if tt.cookie != "" && tt.want == 401 && !r.cleared(accessCookie) {
				t.Fatalf("a not-yet-valid session was not cleared: %v", r.cookies)
			}
			if n := h.qelos.Calls(qelostest.EndpointRefresh) + h.qelos.Calls(qelostest.EndpointMe); n != 0 {
				t.Fatalf("%d upstream calls; these tokens are judged locally", n)
			}
			noSecretsLogged(t, h.logs.String(), secrets...)
		})
	}
}

// TestReplayAfterGrace: a copy of a pair that was refreshed is worth the new
// pair only within RefreshGrace; replayed later, Qelos refuses the spent
// refresh token and the replayer is signed out, while the holder of the new
// pair stays signed in.
func TestReplayAfterGrace(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Refresh.Grace = 150 * time.Millisecond })
	old := h.pair(qelostest.AdminEmail, acmeID, true)
	first := h.get("/private", old...)
	if first.status != 200 {
		t.Fatalf("refresh: %d %s", first.status, first.body)
	}
	fresh := h.sessionCookies(first)

	within := h.get("/private", old...)
	if within.status != 200 || h.qelos.Calls(qelostest.EndpointRefresh) != 1 {
		t.Fatalf("replay inside the grace window: %d, %d refreshes", within.status, h.qelos.Calls(qelostest.EndpointRefresh))
	}
	if a1, r1 := h.tokens(first.cookies); true {
		if a2, r2 := h.tokens(within.cookies); a1 != a2 || r1 != r2 {
			t.Fatal("the replay inside the grace window got another pair than the first refresh")
		}
	}

	time.Sleep(300 * time.Millisecond)
	replay := h.get("/private", old...)
	if replay.status != 401 || !replay.cleared(accessCookie) || !replay.cleared(refreshCookie) {
		t.Fatalf("replay after the grace window: %d %s %v, want 401 and cleared", replay.status, replay.body, replay.cookies)
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 2 {
		t.Fatalf("%d refresh calls, want 2 (the replay refused by Qelos)", n)
	}
	if r := h.get("/private", fresh...); r.status != 200 || len(r.cookies) != 0 {
		t.Fatalf("the new pair after the replay: %d %v", r.status, r.cookies)
	}
	var secrets []string
	for _, c := range append(old, fresh...) {
		secrets = append(secrets, c.Value)
	}
	noSecretsLogged(t, h.logs.String(), secrets...)
}

// TestHugeCookieHeader: a Cookie header of almost Limits.MaxCookieBytes is
// answered sanely, never with a panic; one over it is refused whole (431,
// cookies kept); a header past Go's MaxHeaderBytes (1 MiB) never reaches
// the middleware (431).
func TestHugeCookieHeader(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	pair := h.pair(qelostest.AdminEmail, acmeID, false)
	pairHeader := pair[0].Name + "=" + pair[0].Value + "; " + pair[1].Name + "=" + pair[1].Value
	const size = 56 << 10 // with the pair, within Limits.MaxCookieBytes
	var padding strings.Builder
	for i := 0; padding.Len() < size; i++ {
		padding.WriteString("pad" + strings.Repeat("x", 4) + "=" + strings.Repeat("v", 500) + "; ")
	}
	garbage := make([]byte, size)
	const alphabet = "=;\" ,a\t\x80\xff" // anything a header value may carry
	for i := range garbage {
		garbage[i] = alphabet[i%len(alphabet)]
	}
	tests := []struct {
		name, cookie string
		want         int
		signedIn     bool
		cleared      bool
	}{
		{"56 KiB of other cookies before a valid pair", padding.String() + pairHeader, 200, true, false},
		{"a 56 KiB access cookie", accessCookie + "=" + strings.Repeat("A", size) + "; " + pair[1].Name + "=" + pair[1].Value, 200, false, true},
		{"2 KiB of garbage (200 cookies)", string(garbage[:2000]), 200, false, false},
		{"56 KiB of garbage (5,700 cookies, over MaxCookies)", string(garbage), 431, false, false},
		{"a Qelos session cookie of MaxCredentialBytes", "qlt_0=" + strings.Repeat("e", middleware.DefaultMaxCredentialBytes), 200, false, false},
		{"a larger Qelos session cookie, passthrough off: ignored", "qlt_0=" + strings.Repeat("e", middleware.DefaultMaxCredentialBytes+1), 200, false, false},
		{"64 KiB of other cookies before a valid pair", strings.Repeat("p", 64<<10) + "; " + pairHeader, 431, false, false},
		{"just past MaxHeaderBytes (1 MiB)", "a=" + strings.Repeat("b", 1<<20+64<<10), 431, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/whoami", nil)
			req.Header.Set("Cookie", tt.cookie)
			r := h.send(req)
			if r.status != tt.want {
				t.Fatalf("status %d %.200s, want %d", r.status, r.body, tt.want)
			}
			if r.status == 200 && (r.whoami(t).User != nil) != tt.signedIn {
				t.Fatalf("signed in = %v, want %v", r.whoami(t).User != nil, tt.signedIn)
			}
			if cleared := r.cleared(accessCookie); cleared != tt.cleared {
				t.Fatalf("cleared = %v, want %v (%v)", cleared, tt.cleared, r.cookies)
			}
		})
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 0 {
		t.Fatalf("%d refresh calls", n)
	}
	noSecretsLogged(t, h.logs.String(), pair[0].Value, pair[1].Value)
}

// returnTo carries payloads in the query, a JSON body and a form body.
func signInWithReturnTo(h *harness, via, returnTo string) reply {
	h.t.Helper()
	creds := map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword}
	switch via {
	case "query":
		b, _ := json.Marshal(creds)
		return h.do(http.MethodPost, "/auth/signin?returnTo="+url.QueryEscape(returnTo), bytes.NewReader(b), "application/json")
	case "json":
		creds["returnTo"] = returnTo
		b, _ := json.Marshal(creds)
		return h.do(http.MethodPost, "/auth/signin", bytes.NewReader(b), "application/json")
	default:
		return h.do(http.MethodPost, "/auth/signin", form("username", creds["username"], "password", creds["password"], "returnTo", returnTo), "application/x-www-form-urlencoded")
	}
}

// staysOnOrigin reports whether a Location, read the way a browser reads
// it (tabs and newlines dropped, surrounding control characters and spaces
// trimmed, backslashes as slashes), resolves to origin.
func staysOnOrigin(origin *url.URL, location string) bool {
	if location == "" {
		return true
	}
	if strings.ContainsAny(location, "\r\n") {
		return false
	}
	l := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(location)
	l = strings.TrimFunc(l, func(r rune) bool { return r <= ' ' })
	ref, err := url.Parse(l)
	if err != nil {
		return false
	}
	u := origin.ResolveReference(ref)
	return u.Scheme == origin.Scheme && u.Host == origin.Host
}

// TestReturnToCannotInjectHeaders: CR/LF in returnTo, raw or encoded, on
// sign-in or sign-out, never adds a header or a cookie, and never leads off
// the origin.
func TestReturnToCannotInjectHeaders(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, noSignInLimit) // the corpus signs in more often than a user may
	origin, _ := url.Parse(h.app.URL)
	payloads := []string{
		"/\r\nX-Injected: 1",
		"/ok\nX-Injected: 1",
		"/ok\rX-Injected: 1",
		"\r\nX-Injected: 1",
		"/%0d%0aX-Injected:%201",
		"/%0D%0ASet-Cookie:%20injected=1",
		"/%0aSet-Cookie:injected=1",
		"/\u560a\u560dX-Injected: 1", // 嘊嘍: bytes E5 98 8A / E5 98 8D, truncated by some servers to \n \r
		"/%E5%98%8A%E5%98%8DSet-Cookie:%20injected=1",
		"/\r\n\r\n<script>alert(1)</script>",
		"//evil.example/\r\nX-Injected: 1",
	}
	check := func(t *testing.T, r reply) {
		t.Helper()
		if r.header.Get("X-Injected") != "" || r.cookies["injected"] != nil {
			t.Fatalf("header injected: %v", r.header)
		}
		for name, values := range r.header {
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n") || strings.ContainsAny(name, "\r\n") {
					t.Fatalf("header %s carries CR/LF: %q", name, v)
				}
			}
		}
		if loc := r.header.Get("Location"); !staysOnOrigin(origin, loc) {
			t.Fatalf("Location %q leaves the origin", loc)
		}
	}
	for _, p := range payloads {
		for _, via := range []string{"query", "json", "form"} {
			t.Run("sign-in via "+via+" "+url.QueryEscape(p), func(t *testing.T) {
				r := signInWithReturnTo(h, via, p)
				if r.status != 200 && r.status != 303 {
					t.Fatalf("status %d %s", r.status, r.body)
				}
				check(t, r)
			})
		}
		t.Run("sign-out "+url.QueryEscape(p), func(t *testing.T) {
			r := h.do(http.MethodPost, "/auth/signout?returnTo="+url.QueryEscape(p), nil, "", h.pair(qelostest.AdminEmail, acmeID, false)...)
			if r.status != 204 && r.status != 303 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			check(t, r)
		})
	}
	noSecretsLogged(t, h.logs.String(), qelostest.AdminPassword)
}

// TestOpenRedirectCorpus drives the real sign-in and sign-out handlers with
// the open-redirect classics: the Location they answer never leaves the
// origin, however a browser reads it.
func TestOpenRedirectCorpus(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, noSignInLimit) // the corpus signs in more often than a user may
	origin, _ := url.Parse(h.app.URL)
	corpus := []string{
		"//evil.com", "///evil.com", "////evil.com", `/\evil.com`, `\/evil.com`, `\\evil.com`, `/\/evil.com`,
		"https:evil.com", "https:/evil.com", "https://evil.com", "HTTPS://EVIL.COM", "http:\\\\evil.com", "//evil.com@" + origin.Host,
		"%2F%2Fevil.com", "/%2F/evil.com", "/%2f%2fevil.com", "/%5Cevil.com", "/%5c%5cevil.com", "/%09/evil.com", "/%0d/evil.com",
		"/\t/evil.com", "/\n/evil.com", " //evil.com", "\t//evil.com", "\x00//evil.com", "/.//evil.com", "/a/..//evil.com", "/./\\evil.com",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
		"/\uff0f\uff0fevil.com", "/\u2215\u2215evil.com", "/%E2%88%95evil.com", "/@evil.com", "/?next=//evil.com", "/#//evil.com",
		"http://" + origin.Host + "@evil.com", "//" + origin.Host + ".evil.com",
	}
	for _, target := range corpus {
		t.Run(url.QueryEscape(target), func(t *testing.T) {
			for _, via := range []string{"query", "json"} {
				r := signInWithReturnTo(h, via, target)
				if r.status != 200 && r.status != 303 {
					t.Fatalf("sign-in via %s: status %d %s", via, r.status, r.body)
				}
				if loc := r.header.Get("Location"); !staysOnOrigin(origin, loc) {
					t.Fatalf("sign-in via %s: Location %q leaves the origin", via, loc)
				}
			}
			r := h.do(http.MethodPost, "/auth/signout?returnTo="+url.QueryEscape(target), nil, "")
			if loc := r.header.Get("Location"); !staysOnOrigin(origin, loc) {
				t.Fatalf("sign-out: Location %q leaves the origin", loc)
			}
		})
	}
	noSecretsLogged(t, h.logs.String(), qelostest.AdminPassword)
}

// TestSpoofedIdentityHeadersNeverPass complements parity case 20: whatever
// the spelling, the number of values, the credential or the path, no handler
// and no Qelos call sees a client-made identity header.
func TestSpoofedIdentityHeadersNeverPass(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	logs := &syncBuffer{}
	a := newApp(t, up, func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var seen []http.Header
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { seen = append(seen, r.Header.Clone()) })
	mux.Handle("/api/", a.mw.Proxy())
	app := newTestServer(t, a.mw.Handler(mux))
	key, err := up.q.IssueAPIToken(qelostest.AdminEmail, acmeID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pair := a.pair(qelostest.AdminEmail, acmeID, false)
	credentials := map[string]func(*http.Request){
		"anonymous": func(*http.Request) {},
		"cookie pair": func(r *http.Request) {
			for _, c := range pair {
				r.AddCookie(c)
			}
		},
		"API key": func(r *http.Request) { r.Header.Set("X-Api-Key", key) },
	}
	for name, credential := range credentials {
		for _, path := range []string{"/page", "/health", "/api/echo"} {
			req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
			credential(req)
			req.Header["x-qelos-user-id"] = []string{"spoofed", "spoofed-again"} // sent as spelled
			req.Header["X-QELOS-WORKSPACE-ID"] = []string{"spoofed"}
			req.Header.Set("User", `{"_id":"spoofed","roles":["admin"]}`)
			req.Header.Set("Tenanthost", "evil.example")
			if r := a.send(req); r.status >= 500 {
				t.Fatalf("%s %s: %d %s", name, path, r.status, r.body)
			}
		}
	}
	if len(seen) != 6 {
		t.Fatalf("handlers saw %d requests, want 6", len(seen))
	}
	for _, hdr := range seen {
		if hdr.Get("X-Qelos-User-Id") != "" || hdr.Get("X-Qelos-Workspace-Id") != "" {
			t.Fatalf("a handler saw a spoofed identity header: %v", hdr)
		}
	}
	echoes := up.requests("/api/echo")
	if len(echoes) != 3 {
		t.Fatalf("Qelos saw %d proxied calls, want 3", len(echoes))
	}
	for _, r := range echoes {
		for _, name := range []string{"X-Qelos-User-Id", "X-Qelos-Workspace-Id", "User", "Tenanthost"} {
			if v := r.header.Values(name); len(v) != 0 {
				t.Fatalf("Qelos received a client-made %s: %q", name, v)
			}
		}
	}
	noSecretsLogged(t, logs.String(), key, pair[0].Value, pair[1].Value)
}

// TestCrossOriginProtectionOnByDefault: with the default config a
// browser's cross-origin POST is refused before anything else happens (no
// sign-in, no sign-out, no cookie written); same-origin requests, safe
// methods, non-browser clients and TrustedOrigins pass. Only
// DisableCrossOriginProtection turns it off.
func TestCrossOriginProtectionOnByDefault(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) {
		c.CrossOrigin.TrustedOrigins = []string{"https://admin.example"}
	})
	pair := h.pair(qelostest.AdminEmail, acmeID, false)
	creds := `{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`
	tests := []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"cross-site sign-in (Sec-Fetch-Site)", "POST", "/auth/signin", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"sibling-subdomain sign-in (same-site is not same-origin)", "POST", "/auth/signin", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"foreign Origin without Sec-Fetch-Site", "POST", "/auth/signin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site sign-out keeps the session", "POST", "/auth/signout", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site PUT", "PUT", "/whoami", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-origin sign-in (Sec-Fetch-Site)", "POST", "/auth/signin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"same-origin sign-in (Origin matches Host)", "POST", "/auth/signin", map[string]string{"Origin": h.app.URL}, 200},
		{"user-initiated navigation (Sec-Fetch-Site: none)", "POST", "/auth/signin", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"non-browser client (no Origin, no Sec-Fetch-Site)", "POST", "/auth/signin", nil, 200},
		{"trusted origin", "POST", "/auth/signin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example"}, 200},
		{"cross-site GET", "GET", "/whoami", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200},
		{"cross-site HEAD", "HEAD", "/whoami", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.qelos.Calls(qelostest.EndpointSignIn) + h.qelos.Calls(qelostest.EndpointLogout)
			req, _ := http.NewRequest(tt.method, h.app.URL+tt.path, strings.NewReader(creds))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			for _, c := range pair {
				req.AddCookie(c)
			}
			r := h.send(req)
			if r.status != tt.want {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.want)
			}
			if tt.want == 403 {
				if !strings.Contains(string(r.body), `"code":"`+qelos.CodeCrossOrigin+`"`) {
					t.Fatalf("body %s, want code %s", r.body, qelos.CodeCrossOrigin)
				}
				if len(r.cookies) != 0 {
					t.Fatalf("a refused request changed cookies: %v", r.cookies)
				}
				if after := h.qelos.Calls(qelostest.EndpointSignIn) + h.qelos.Calls(qelostest.EndpointLogout); after != before {
					t.Fatal("a refused request reached Qelos")
				}
			}
		})
	}
	t.Run("DisableCrossOriginProtection turns it off", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.CrossOrigin.Disable = true })
		req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/signin", strings.NewReader(creds))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if r := h.send(req); r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
	})
	t.Run("a malformed trusted origin is a startup error", func(t *testing.T) {
		_, err := middleware.New(middleware.Config{AppURL: h.qelos.URL, CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
			CrossOrigin: middleware.CrossOriginConfig{TrustedOrigins: []string{"https://admin.example/path"}}})
		if err == nil || !strings.Contains(err.Error(), "TrustedOrigins") {
			t.Fatalf("err %v, want one naming TrustedOrigins", err)
		}
	})
	noSecretsLogged(t, h.logs.String(), pair[0].Value, pair[1].Value, qelostest.AdminPassword)
}

// TestHostHeaderCannotInjectCookieAttributes: the relayed Set-Cookie's
// Domain comes from the request's Host, which Go's server accepts with
// sub-delimiters such as ";" and ","; a Host that is not a plain host name
// must not add attributes to the cookie.
func TestHostHeaderCannotInjectCookieAttributes(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	addr := strings.TrimPrefix(a.app.URL, "http://")
	for _, host := range []string{"app.example;SameSite=None", "app.example;Secure", "app.example,x=1"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /api/echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode == http.StatusBadRequest {
			continue // refused by net/http: nothing relayed
		}
		for _, c := range resp.Header.Values("Set-Cookie") {
			// The Host is no host name: the Domain goes (a host-only cookie)
			// and nothing may be added.
			if c != "echo=1; Path=/; HttpOnly" {
				t.Errorf("Host %q changed the relayed cookie's attributes: %q", host, c)
			}
		}
	}
}
