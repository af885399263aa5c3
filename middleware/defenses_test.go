package middleware_test

// Defences and secure defaults, each test
// named after what it proves. Every test drives the middleware over HTTP
// against a real qelostest server (or the recording upstream).

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestMultipartTempFilesAreRemoved: a signed-in user posting a large
// multipart file to a handler that parses it (and then fails) leaves no
// multipart-* file in the temp directory. net/http removes only the files of
// the request it created; Handler passes a copy on (https://go.dev/issue/58809).
func TestMultipartTempFilesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h := newHarness(t, qelostest.Options{}, nil)
	parsed := make(chan int64, 1)
	srv := newTestServer(t, h.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.UserFrom(r.Context()); !ok {
			qelos.WriteError(w, r, qelos.ErrUnauthorized)
			return
		}
		if err := r.ParseMultipartForm(1 << 10); err != nil { // all but 1 KiB goes to disk
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		parsed <- r.MultipartForm.File["upload"][0].Size
		http.Error(w, "the handler failed", http.StatusInternalServerError)
	})))
	cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)

	const size = 8 << 20
	var body bytes.Buffer
	mp := multipart.NewWriter(&body)
	fw, _ := mp.CreateFormFile("upload", "big.bin")
	io.CopyN(fw, rand.Reader, size)
	mp.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/tokens", &body)
	req.Header.Set("Content-Type", mp.FormDataContentType())
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if r := h.send(req); r.status != http.StatusInternalServerError {
		t.Fatalf("status %d %s, want the handler's 500", r.status, r.body)
	}
	if got := <-parsed; got != size {
		t.Fatalf("the handler saw %d bytes, want %d", got, size)
	}
	var left []string
	var bytesLeft int64
	filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "multipart-") {
			info, _ := d.Info()
			left = append(left, d.Name())
			bytesLeft += info.Size()
		}
		return nil
	})
	if len(left) > 0 {
		t.Fatalf("%d multipart files (%d bytes) left in the temp directory: %v", len(left), bytesLeft, left)
	}
}

// acmeAnswer is Qelos's GET /api/workspaces answer for the admin after a
// change of membership: Acme with roles, or no Acme at all (nil).
func acmeAnswer(roles []string) string {
	if roles == nil {
		return `[]`
	}
	b, _ := json.Marshal([]map[string]any{{"_id": acmeID, "name": acmeName, "tenant": "0", "isPrivilegedUser": true,
		"members": []map[string]any{{"user": qelostest.AdminID, "roles": roles}}}})
	return string(b)
}

// TestWorkspaceRolesAreRecheckedAtRefresh: the workspace sealed in the
// session is re-checked against the user's memberships at each refresh, so
// a demoted user loses the role and a removed user the workspace; it costs
// one GET /api/workspaces per refresh however many requests share it, and a
// failure of that call keeps the session and its workspace.
func TestWorkspaceRolesAreRecheckedAtRefresh(t *testing.T) {
	tests := []struct {
		name      string
		fault     qelostest.Fault
		wantWS    bool
		wantRoles []string
	}{
		{"demoted to user", qelostest.Fault{Status: 200, Body: acmeAnswer([]string{"user"})}, true, []string{"user"}},
		{"removed from the workspace", qelostest.Fault{Status: 200, Body: acmeAnswer(nil)}, false, nil},
		{"unchanged", qelostest.Fault{}, true, []string{"admin", "user"}},
		{"Qelos fails the check: kept", qelostest.Fault{Status: 503, Body: `{"message":"down"}`}, true, []string{"admin", "user"}},
		{"Qelos drops the check: kept", qelostest.Fault{Drop: true}, true, []string{"admin", "user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			mux := http.NewServeMux()
			mux.Handle("/", appMux(h.mw))
			mux.Handle("GET /ws-admin", middleware.Require(middleware.HasWorkspaceRole("admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
			srv := newTestServer(t, h.mw.Handler(mux))
			h.app = srv
			h.qelos.InjectFault(qelostest.EndpointWorkspaces, tt.fault)
			stale := h.pair(qelostest.AdminEmail, acmeID, true)
			refreshes, checks := h.qelos.Calls(qelostest.EndpointRefresh), h.qelos.Calls(qelostest.EndpointWorkspaces)

			const n = 20
			replies := make([]reply, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() { defer wg.Done(); replies[i] = h.get("/whoami", stale...) }()
			}
			wg.Wait()
			for i, r := range replies {
				w := r.whoami(t)
				if r.status != 200 || w.User == nil {
					t.Fatalf("request %d: %d %s: the session was lost", i, r.status, r.body)
				}
				if (w.Workspace != nil) != tt.wantWS || (w.Workspace != nil && strings.Join(w.Workspace.Roles, ",") != strings.Join(tt.wantRoles, ",")) {
					t.Fatalf("request %d: workspace %+v, want present=%v roles %v", i, w.Workspace, tt.wantWS, tt.wantRoles)
				}
				if r.cleared(accessCookie) {
					t.Fatalf("request %d cleared the session", i)
				}
			}
			if got := h.qelos.Calls(qelostest.EndpointRefresh) - refreshes; got != 1 {
				t.Fatalf("%d refreshes for %d requests, want 1", got, n)
			}
			if got := h.qelos.Calls(qelostest.EndpointWorkspaces) - checks; got < 1 || (got > 1 && !tt.fault.Drop) {
				t.Fatalf("%d workspace checks for one refresh of %d requests, want 1", got, n)
			}
			// The new pair carries the outcome: later requests need no call.
			fresh := h.sessionCookies(replies[0])
			before := h.qelos.Calls(qelostest.EndpointWorkspaces)
			r := h.get("/ws-admin", fresh...)
			wantStatus := 403
			if tt.wantWS && strings.Contains(strings.Join(tt.wantRoles, ","), "admin") {
				wantStatus = 200
			}
			if r.status != wantStatus {
				t.Fatalf("HasWorkspaceRole(admin) after the refresh: %d %s, want %d", r.status, r.body, wantStatus)
			}
			if h.qelos.Calls(qelostest.EndpointWorkspaces) != before {
				t.Fatal("a request that did not refresh called GET /api/workspaces")
			}
		})
	}
}

// TestProxyStripsIdentityAndRoutingHeaders: every header Qelos's gateway or
// its services read as identity or routing is dropped before the proxy
// forwards a request; credentials and impersonation (which Qelos checks)
// pass.
func TestProxyStripsIdentityAndRoutingHeaders(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	spoofed := map[string]string{
		"Tenant": "999", "Tenanthost": "other-tenant.example", "User": "eyJfaWQiOiJhZG1pbiJ9",
		"X-Qelos-Tenant": "999", "X-Qelos-Roles": "admin", "X-Qelos-User": "admin", "X-Qelos-User-Id": "admin-id",
		"X-Qelos-Workspace-Id": "ws", "X-Real-Ip": "10.0.0.1", "X-Forwarded-Host": "other-tenant.example",
		"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https", "Forwarded": "for=10.0.0.1;host=other-tenant.example",
	}
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/api/echo", nil)
	for k, v := range spoofed {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Impersonate-User", "someone")
	req.Header.Set("X-Api-Key", "ql_"+strings.Repeat("ab", 32))
	if r := a.send(req); r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	seen := up.requests("/api/echo")[0].header
	for k := range spoofed {
		if v := seen.Get(k); v != "" {
			t.Errorf("%s: %q reached Qelos", k, v)
		}
	}
	if seen.Get("X-Impersonate-User") != "someone" || seen.Get("X-Api-Key") == "" {
		t.Errorf("credential or impersonation headers were dropped: %v", seen)
	}
}

// TestTokensFromAnotherTenantAreRefused: Qelos signs every tenant's tokens
// with one secret, so a token of tenant "999" verifies with JWTSecret; it,
// a sealed cookie holding one, and an identity Qelos answers for another
// tenant are all refused unless Config.Tenant names that tenant.
func TestTokensFromAnotherTenantAreRefused(t *testing.T) {
	token := func(t *testing.T, secret, tenant string) string {
		c := adminClaims(time.Now())
		c["tenant"] = tenant
		return signToken(t, jwt.SigningMethodHS256, []byte(secret), c)
	}
	t.Run("bearer verified with JWTSecret", func(t *testing.T) {
		for _, tt := range []struct {
			tenant, configured string
			want               int
		}{{"999", "", 401}, {"0", "", 200}, {"999", "999", 200}, {"", "", 401}} {
			q := qelostest.New(qelostest.Options{})
			t.Cleanup(q.Close)
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.JWTSecret, c.Tenant = q.Secret(), tt.configured })
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
			req.Header.Set("Authorization", "Bearer "+token(t, h.qelos.Secret(), tt.tenant))
			if r := h.send(req); r.status != tt.want {
				t.Errorf("token of tenant %q, Config.Tenant %q: %d %s, want %d", tt.tenant, tt.configured, r.status, r.body, tt.want)
			}
		}
	})
	t.Run("sealed cookie", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		pair, _ := sealedPair(t, h, token(t, h.qelos.Secret(), "999"))
		r := h.get("/private", pair...)
		if r.status != 401 || !r.cleared(accessCookie) {
			t.Fatalf("%d %s: want 401 and the cookies cleared", r.status, r.body)
		}
	})
	t.Run("identity answered for another tenant", func(t *testing.T) {
		for _, configured := range []string{"", "999"} {
			h := newHarness(t, qelostest.Options{Tenant: "999"}, func(c *middleware.Config) { c.Tenant = configured })
			key, err := h.qelos.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
			req.Header.Set("X-Api-Key", key)
			want := 401
			if configured == "999" {
				want = 200
			}
			if r := h.send(req); r.status != want {
				t.Errorf("Config.Tenant %q, Qelos tenant 999: %d %s, want %d", configured, r.status, r.body, want)
			}
		}
	})
	t.Run("QELOS_TENANT", func(t *testing.T) {
		cfg, err := middleware.ConfigFromLookup(func(k string) string {
			return map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_TENANT": " 64ab12cd34ef ", "QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String()}[k]
		})
		if err != nil || cfg.Tenant != "64ab12cd34ef" {
			t.Fatalf("Tenant %q, err %v", cfg.Tenant, err)
		}
	})
}

// TestErrorBodiesHideInternalDetails: a proxy 502, also to an anonymous
// caller, carries the stable code and a generic message; the address and
// the transport's words go to the log only.
func TestErrorBodiesHideInternalDetails(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	logs := &syncBuffer{}
	a := newApp(t, up, func(c *middleware.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	up.srv.Close()
	r := a.get("/api/me")
	var body struct{ Code, Message string }
	json.Unmarshal(r.body, &body)
	if r.status != 502 || body.Code != qelos.CodeProxyUpstreamError {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, leak := range []string{"127.0.0.1", "dial", "tcp", "refused", strings.TrimPrefix(up.srv.URL, "http://")} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("the body %s holds %q", r.body, leak)
		}
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the log lost the details:\n%s", logs.String())
	}
}

// TestMadeUpCredentialsCostNoUpstreamCall: bearer tokens that are not JWTs
// (or are expired, or of another algorithm) and API keys that are not
// "ql_" and hex are refused without asking Qelos; a JWT-shaped token Qelos
// refuses is asked about once and the refusal is remembered.
func TestMadeUpCredentialsCostNoUpstreamCall(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	expired := signToken(t, jwt.SigningMethodHS256, []byte("x"), jwt.MapClaims{"sub": "a", "exp": time.Now().Add(-time.Hour).Unix()})
	hs512 := signToken(t, jwt.SigningMethodHS512, []byte("x"), jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Hour).Unix()})
	before := h.qelos.Calls(qelostest.EndpointMe)
	for i := range 1200 {
		req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
		switch i % 6 {
		case 0:
			req.Header.Set("Authorization", fmt.Sprintf("Bearer made-up-%d", i))
		case 1:
			req.Header.Set("Authorization", fmt.Sprintf("Bearer a.b.c%d!", i))
		case 2:
			req.Header.Set("Authorization", "Bearer "+expired)
		case 3:
			req.Header.Set("Authorization", "Bearer "+hs512)
		case 4:
			req.Header.Set("X-Api-Key", fmt.Sprintf("made-up-key-%d", i))
		case 5:
			req.Header.Set("X-Api-Key", fmt.Sprintf("ql_%064d-", i))
		}
		if r := h.send(req); r.status != 401 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if got := h.qelos.Calls(qelostest.EndpointMe) - before; got != 0 {
		t.Fatalf("1,200 made-up credentials made %d /api/me calls, want 0", got)
	}
	shaped := signToken(t, jwt.SigningMethodHS256, []byte("not-qelos"), jwt.MapClaims{"sub": "a", "tenant": "0", "exp": time.Now().Add(time.Hour).Unix()})
	for range 50 {
		req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
		req.Header.Set("Authorization", "Bearer "+shaped)
		if r := h.send(req); r.status != 401 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if got := h.qelos.Calls(qelostest.EndpointMe) - before; got != 1 {
		t.Fatalf("50 requests with one refused token made %d /api/me calls, want 1", got)
	}
}

// TestPassthroughSendsOnlyQelosCookies: the identity probe of a Qelos
// session sends Qelos the qlt_ cookie only, not the app's other cookies (a
// 48 KiB Cookie header stays here), and a qlt_ value that is no JWT costs
// no call; one over Limits.MaxCredentialBytes is refused whole (431).
func TestPassthroughSendsOnlyQelosCookies(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, passthroughOn)
	session := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
	big := strings.Repeat("x", 48<<10)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
	req.Header.Set("Cookie", "theme=dark; big="+big+"; "+session.Name+"="+session.Value)
	if r := a.send(req); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	probes := up.requests("/api/me")
	if len(probes) == 0 {
		t.Fatal("no probe")
	}
	if got, want := probes[len(probes)-1].header.Get("Cookie"), session.Name+"="+session.Value; got != want {
		t.Fatalf("the probe sent Cookie %.80q (%d bytes), want only the Qelos session", got, len(got))
	}
	for _, c := range []struct {
		value string
		want  int
	}{{strings.Repeat("x", 1<<20), 431}, {strings.Repeat("x", middleware.DefaultMaxCredentialBytes+1), 431}, {"not-a-jwt", 401}} {
		value := c.value
		n := len(up.requests("/api/me"))
		req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
		req.Header.Set("Cookie", "qlt_0="+value)
		if r := a.send(req); r.status != c.want {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if len(up.requests("/api/me")) != n {
			t.Fatalf("a qlt_0 of %d bytes that is no JWT was sent to Qelos", len(value))
		}
	}
}

// TestHostPrefixByDefault: the session cookies are named __Host-<name>
// when they are Secure, Path=/ and host-only, so a sibling subdomain cannot
// plant one; an unprefixed cookie planted under the configured name is
// ignored. The prefix goes with an opt-out, a Domain, a narrower Path or
// SecureNever.
func TestHostPrefixByDefault(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*middleware.Config)
		want   string
	}{
		{"default", nil, accessCookie},
		{"DisableCookieHostPrefix", func(c *middleware.Config) { c.Cookie.DisableHostPrefix = true }, middleware.DefaultAccessCookieName},
		{"with a Domain", func(c *middleware.Config) { c.Cookie.Domain = "127.0.0.1" }, middleware.DefaultAccessCookieName},
		{"with a Path", func(c *middleware.Config) { c.Cookie.Path = "/app" }, middleware.DefaultAccessCookieName},
		{"SecureNever", func(c *middleware.Config) { c.Cookie.Secure = middleware.SecureNever }, middleware.DefaultAccessCookieName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, tt.mutate)
			if got, _ := h.mw.CookieNames(); got != tt.want {
				t.Fatalf("CookieNames() = %q, want %q", got, tt.want)
			}
			body := strings.NewReader(`{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`)
			r := h.do(http.MethodPost, "/auth/signin", body, "application/json")
			if c, ok := r.cookies[tt.want]; !ok || c.MaxAge <= 0 {
				t.Fatalf("sign-in set %v, want %s", r.cookies, tt.want)
			}
		})
	}
	t.Run("a planted unprefixed pair is ignored", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		planted := h.pair(qelostest.AdminEmail, acmeID, false)
		for _, c := range planted {
			c.Name = strings.TrimPrefix(c.Name, middleware.HostPrefix)
		}
		if r := h.get("/private", planted...); r.status != 401 {
			t.Fatalf("%d %s: an unprefixed cookie signed the request in", r.status, r.body)
		}
	})
}

// TestNewPairIsNotCacheable: every answer that sets a new pair (sign-in,
// refresh, workspace switch) forbids shared caches to store its Set-Cookie
// and varies on Cookie; a warm request that sets nothing says nothing.
func TestNewPairIsNotCacheable(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	check := func(t *testing.T, what string, r reply) {
		t.Helper()
		if _, set := r.cookies[accessCookie]; !set {
			t.Fatalf("%s set no pair", what)
		}
		if cc := r.header.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("%s: Cache-Control %q", what, cc)
		}
		if v := strings.Join(r.header.Values("Vary"), ","); !strings.Contains(v, "Cookie") {
			t.Errorf("%s: Vary %q", what, v)
		}
	}
	body := strings.NewReader(`{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`)
	signIn := h.do(http.MethodPost, "/auth/signin", body, "application/json")
	check(t, "sign-in", signIn)
	check(t, "refresh", h.get("/whoami", h.pair(qelostest.AdminEmail, acmeID, true)...))
	check(t, "workspace switch", h.do(http.MethodPost, "/auth/workspace", strings.NewReader(`{"id":"`+acmeID+`"}`), "application/json", h.sessionCookies(signIn)...))
	warm := h.get("/whoami", h.sessionCookies(signIn)...)
	if warm.header.Get("Set-Cookie") != "" || warm.header.Get("Cache-Control") != "" {
		t.Fatalf("a warm request: Set-Cookie %q Cache-Control %q", warm.header.Get("Set-Cookie"), warm.header.Get("Cache-Control"))
	}
}

// TestCredentialsOnlyFromBody: sign-in and sign-up ignore credentials in
// the URL query: the request is refused as missing them, and Qelos is not
// called.
func TestCredentialsOnlyFromBody(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	q := "?username=" + qelostest.AdminEmail + "&password=" + qelostest.AdminPassword + "&firstName=Ada&lastName=Admin"
	for _, path := range []string{"/auth/signin", "/auth/signup"} {
		before := h.qelos.Calls(qelostest.EndpointSignIn) + h.qelos.Calls(qelostest.EndpointSignUp)
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
			body := "{}"
			if ct != "application/json" {
				body = ""
			}
			r := h.do(http.MethodPost, path+q, strings.NewReader(body), ct)
			if r.status != 400 || r.header.Get("Set-Cookie") != "" {
				t.Errorf("%s %s with credentials in the query: %d %s, want 400", path, ct, r.status, r.body)
			}
		}
		if after := h.qelos.Calls(qelostest.EndpointSignIn) + h.qelos.Calls(qelostest.EndpointSignUp); after != before {
			t.Errorf("%s sent query credentials to Qelos", path)
		}
	}
}

// TestProxyRefusesEncodedDotSegments: a proxied path with percent-encoded
// dot-segments is answered 400 and never forwarded; dots inside names pass.
func TestProxyRefusesEncodedDotSegments(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	for _, p := range []string{"/api/%2e%2e/secret", "/api/%2E%2E%2Fadmin", "/api/..%2fsecret", "/api/.%2e/x", "/api/a/%252e%252e/b",
		"/api/a/%2e/b", "/api/a/..%5cb", "/api/echo/%2e%2e"} {
		n := len(up.seen)
		r := a.get(p)
		if r.status != 400 || !strings.Contains(string(r.body), qelos.CodeProxyBadPath) {
			t.Errorf("%s: %d %s, want 400 %s", p, r.status, r.body, qelos.CodeProxyBadPath)
		}
		up.mu.Lock()
		forwarded := len(up.seen) != n
		up.mu.Unlock()
		if forwarded {
			t.Errorf("%s was forwarded", p)
		}
	}
	for _, p := range []string{"/api/echo?x=%2e%2e", "/api/echo/a..b", "/api/echo/v1.2%20x"} {
		if r := a.get(p); r.status == 400 {
			t.Errorf("%s refused: %s", p, r.body)
		}
	}
}

// TestSignUpRefusesControlCharacters: a username (or email or name) with
// NUL or another control character is refused with 400 before Qelos is
// called.
func TestSignUpRefusesControlCharacters(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	for _, tt := range []struct{ field, value string }{
		{"username", "eve\x00admin@example.com"}, {"username", "eve\x1b[2J@example.com"}, {"username", "eve\x7f@example.com"},
		{"username", "eve\u0085@example.com"}, {"firstName", "Eve\nAdmin"}, {"email", "eve@example.com\r\nBcc: x@y.z"},
	} {
		fields := map[string]string{"username": "eve@example.com", "password": "Eve-Pass-123", "firstName": "Eve", "lastName": "Ng"}
		fields[tt.field] = tt.value
		body, _ := json.Marshal(fields)
		before := h.qelos.Calls(qelostest.EndpointSignUp)
		r := h.do(http.MethodPost, "/auth/signup", bytes.NewReader(body), "application/json")
		if r.status != 400 || !strings.Contains(string(r.body), "INVALID_CHARACTERS") {
			t.Errorf("%s %q: %d %s, want 400 INVALID_CHARACTERS", tt.field, tt.value, r.status, r.body)
		}
		if h.qelos.Calls(qelostest.EndpointSignUp) != before {
			t.Errorf("%s %q reached Qelos", tt.field, tt.value)
		}
	}
}
