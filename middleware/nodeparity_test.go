package middleware_test

// The behavioural checklist of the wire spec's §7 (the Node and Python
// integrators' test suites), adapted to Go. Each test names its case.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// passthroughOn opts in to Config.Proxy.Passthrough, the Node integrators'
// mode these cases compare with.
func passthroughOn(c *middleware.Config) { c.Proxy.Passthrough = true }

// qelosSession signs in to Qelos in cookie mode and returns the qlt_0
// cookie Qelos set: the Qelos session the Node integrators pass through.
func qelosSession(t *testing.T, up *upstream, email, password string) *http.Cookie {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": email, "password": password})
	resp, err := http.Post(up.srv.URL+"/api/signin", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "qlt_") {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("Qelos set no qlt_ cookie (status %d)", resp.StatusCode)
	return nil
}

func TestCase01HappyPath(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, passthroughOn)
	qlt := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
	w := a.get("/whoami", qlt).whoami(t)
	if w.User == nil || w.User.ID == "" || w.Workspace == nil || w.Workspace.ID != acmeID || w.Workspace.Name != acmeName {
		t.Fatalf("user %+v workspace %+v", w.User, w.Workspace)
	}
	var list []middleware.Workspace
	json.Unmarshal(a.get("/workspaces", qlt).body, &list)
	if len(list) == 0 || list[0].ID == "" {
		t.Fatalf("workspaces %+v", list)
	}
}

func TestCase02HeaderForwarding(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, passthroughOn)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/whoami", nil)
	// Unlike the Node integrators, only Qelos's session cookie goes to
	// Qelos: the app's other cookies are none of its business.
	session := sessionShaped(t)
	req.Header.Set("Cookie", "qelos_session=opaque-value; qlt_0="+session)
	req.Header.Set("Authorization", "Bearer header-token")
	a.send(req)
	probes := up.requests("/api/me")
	if len(probes) != 1 {
		t.Fatalf("%d probes", len(probes))
	}
	if got := probes[0].header.Get("Cookie"); got != "qlt_0="+session {
		t.Errorf("Cookie forwarded as %q", got)
	}
	if got := probes[0].header.Get("Authorization"); got != "Bearer header-token" {
		t.Errorf("Authorization forwarded as %q", got)
	}
}

func TestCase03CookieRelay(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	up.override("/api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1; Domain=.qelos.app; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "b=2; Domain=*.qelos.app; Path=/; Secure")
		json.NewEncoder(w).Encode(map[string]any{"_id": "user-1", "tenant": "0", "roles": []string{}})
	})
	a := newApp(t, up, passthroughOn)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/whoami", nil)
	req.Host = "app.example.com"
	req.AddCookie(&http.Cookie{Name: "qlt_0", Value: sessionShaped(t)})
	r := a.send(req)
	got := r.header.Values("Set-Cookie")
	want := []string{"a=1; Domain=app.example.com; Path=/; HttpOnly", "b=2; Domain=app.example.com; Path=/; Secure"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Set-Cookie %q, want %q", got, want)
	}
}

func TestCase04Anonymous(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	for _, c := range []*http.Cookie{nil, {Name: "qlt_0", Value: "not-a-session"}} {
		var cookies []*http.Cookie
		if c != nil {
			cookies = append(cookies, c)
		}
		r := a.get("/whoami", cookies...)
		if r.status != 200 || r.whoami(t).User != nil {
			t.Fatalf("cookie %v: %d %s", c, r.status, r.body)
		}
	}
}

func TestCase05RequireAuth(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, func(c *middleware.Config) { c.RequireAuth = true })
	r := a.get("/whoami", &http.Cookie{Name: "qlt_0", Value: "rejected-by-qelos"})
	if r.status != 401 || strings.TrimSpace(string(r.body)) != `{"code":"UNAUTHORIZED"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestCase06And07SkipPaths(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	up.override("/api/me", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	a := newApp(t, up, func(c *middleware.Config) { c.SkipPaths = []string{"/health", "/metrics"} })
	for _, p := range []string{"/health", "/metrics"} {
		r := a.get(p, &http.Cookie{Name: "qlt_0", Value: "x"})
		if p == "/health" && strings.TrimSpace(string(r.body)) != `{"hasAuth":false}` {
			t.Fatalf("case 6: %s has a context: %s", p, r.body)
		}
		if r.status == 500 || r.status == 503 {
			t.Fatalf("case 7: %s answered %d", p, r.status)
		}
	}
	if n := len(up.requests("/api/me")); n != 0 {
		t.Fatalf("skip paths probed Qelos %d times", n)
	}
}

func TestCase08ResolveWorkspace(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, func(c *middleware.Config) {
		c.Proxy.Passthrough = true
		c.ResolveWorkspace = func(r *http.Request, u *middleware.User, _ *qelosapi.Client) (*middleware.Workspace, error) {
			return &middleware.Workspace{ID: "ws-2", Name: "Second"}, nil
		}
	})
	w := a.get("/whoami", qelosSession(t, up, qelostest.UserEmail, qelostest.UserPassword)).whoami(t)
	if w.Workspace == nil || w.Workspace.ID != "ws-2" {
		t.Fatalf("workspace %+v", w.Workspace)
	}
}

func TestCase09NoDefaultWorkspace(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	tok, err := up.q.IssueAccessToken(qelostest.AdminEmail, "", time.Hour) // a session without a workspace
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if w := a.send(req).whoami(t); w.User == nil || w.Workspace != nil {
		t.Fatalf("user %v workspace %+v: want a user and no workspace", w.User, w.Workspace)
	}
	req, _ = http.NewRequest(http.MethodGet, a.app.URL+"/workspaces", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var list []middleware.Workspace
	json.Unmarshal(a.send(req).body, &list)
	if len(list) < 2 {
		t.Fatalf("the user has %d workspaces; the test needs 2 to show none is picked", len(list))
	}
}

func TestCase10RequireUser(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	if r := a.get("/private", &http.Cookie{Name: "qlt_0", Value: "rejected"}); r.status != 401 {
		t.Fatalf("%d", r.status)
	}
}

func TestCase11APITokenServiceMode(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	key, err := up.q.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, up, func(c *middleware.Config) { c.APIToken = key })
	r := a.get("/workspaces") // anonymous request: the service client answers
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	calls := up.requests("/api/workspaces")
	if len(calls) != 1 || calls[0].header.Get("X-Api-Key") != key || calls[0].header.Get("Cookie") != "" {
		t.Fatalf("workspaces call headers: %+v", calls)
	}
	me, err := a.mw.ServiceClient().Me(t.Context())
	if err != nil || me.Email != qelostest.AdminEmail {
		t.Fatalf("service identity %+v %v", me, err)
	}
	// The service token never identifies a visitor.
	if w := a.get("/whoami").whoami(t); w.User != nil {
		t.Fatal("an anonymous visitor was signed in as the service token's owner")
	}
	if n := len(up.requests("/api/token/refresh")) + len(up.requests("/api/cookie/refresh")); n != 0 {
		t.Fatalf("%d refresh calls in API-token mode", n)
	}
}

func TestCase12ConfigFromEnvEqualsLiteral(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	key := middleware.GenerateCookieKey()
	t.Setenv("QELOS_APP_URL", up.srv.URL)
	t.Setenv("QELOS_COOKIE_KEYS", key.String())
	t.Setenv("QELOS_PASSTHROUGH", "true")
	cfg, err := middleware.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Proxy.Passthrough {
		t.Fatal("QELOS_PASSTHROUGH=true left Config.Proxy.Passthrough off")
	}
	a := newApp(t, up, func(c *middleware.Config) {
		c.AppURL, c.CookieKeys, c.Proxy.Passthrough = cfg.AppURL, cfg.CookieKeys, cfg.Proxy.Passthrough
	})
	if w := a.get("/whoami", qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)).whoami(t); w.User == nil || w.Workspace == nil {
		t.Fatalf("%+v", w)
	}
}

// TestCase13APIIsNotSkippedImplicitly: unlike the Node integrators, the
// app's own /api/ routes get their user (the proxy being on or not); only
// SkipPaths skips.
func TestCase13APIIsNotSkippedImplicitly(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, passthroughOn)
	r := a.get("/api/local", qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword))
	if strings.TrimSpace(string(r.body)) != `{"hasAuth":true}` {
		t.Fatalf("/api/local: %s", r.body)
	}
}

func TestCase14UnconfiguredTargetFailsAtStartup(t *testing.T) {
	// The Node proxy answers 503 QELOS_PROXY_NOT_CONFIGURED per request; in
	// Go, New refuses to start without a target, and names the fix.
	key := []middleware.CookieKey{middleware.GenerateCookieKey()}
	if _, err := middleware.New(middleware.Config{CookieKeys: key}); err == nil || !strings.Contains(err.Error(), "AppURL is required") {
		t.Fatalf("%v", err)
	}
	// a bare IP (QELOS_IP=10.0.0.7) is no URL
	if _, err := middleware.New(middleware.Config{AppURL: "https://q.example", Proxy: middleware.ProxyConfig{Target: "10.0.0.7"}, CookieKeys: key}); err == nil || !strings.Contains(err.Error(), "QELOS_PROXY_TARGET, QELOS_IP or QELOS_API_IP") {
		t.Fatalf("%v", err)
	}
}

func TestCase15DisableProxy(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, func(c *middleware.Config) { c.Proxy.Disable, c.Proxy.Passthrough = true, true })
	if r := a.get("/api/anything"); r.status != 404 {
		t.Fatalf("proxy answered %d with DisableProxy", r.status)
	}
	r := a.get("/api/local", qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword))
	if strings.TrimSpace(string(r.body)) != `{"hasAuth":true}` {
		t.Fatalf("/api/local with Proxy.Disable: %s", r.body)
	}
}

func TestCase16TypedUser(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, passthroughOn)
	w := a.get("/whoami", qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)).whoami(t)
	if w.User.FullName != "Ada Admin" || w.User.ID != "6b08ed3053ba253bfa2e98e9" || !reflect.DeepEqual(w.User.Roles, []string{"admin"}) {
		t.Fatalf("%+v", w.User)
	}
}

func TestCase17ClientWithoutMiddleware(t *testing.T) {
	if c, ok := middleware.ClientFrom(t.Context()); ok || c != nil {
		t.Fatal("ClientFrom found a client in a context the middleware never saw")
	}
}

func TestCase18Guard(t *testing.T) {
	guard := middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	tests := []struct {
		name string
		auth *middleware.Auth
		want int
	}{
		{"no context", nil, 401},
		{"no user", &middleware.Auth{}, 401},
		{"user", &middleware.Auth{User: &middleware.User{ID: "u"}}, 204},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		if tt.auth != nil {
			req = req.WithContext(middleware.NewContext(req.Context(), tt.auth))
		}
		rec := newRecorder()
		guard.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
}

func TestCase19SkipPathNormalisation(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	qlt := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
	tests := []struct {
		name       string
		disable    bool
		skip       []string
		apiHasAuth bool
	}{
		{"proxy on adds nothing to the list", false, []string{"/health"}, true},
		{"an /api prefix in the list skips /api/", false, []string{"/api"}, false},
		{"proxy off adds nothing either", true, []string{"/health"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, up, func(c *middleware.Config) {
				c.Proxy.Disable, c.SkipPaths, c.Proxy.Passthrough = tt.disable, tt.skip, true
			})
			r := a.get("/api/local", qlt)
			if got := strings.Contains(string(r.body), `"hasAuth":true`); got != tt.apiHasAuth {
				t.Fatalf("/api/local hasAuth = %v (%s)", got, r.body)
			}
			if w := a.get("/whoami", qlt).whoami(t); w.User == nil {
				t.Fatal("/whoami lost its user")
			}
		})
	}
}

func TestCase20IdentityHeadersAreStripped(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	var seen http.Header
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })
	mux.Handle("/api/", a.mw.Proxy())
	app := newTestServer(t, a.mw.Handler(mux))
	for _, path := range []string{"/page", "/api/echo"} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
		req.Header.Set("X-Qelos-User-Id", "spoofed")
		req.Header.Set("X-Qelos-Workspace-Id", "spoofed")
		req.Header.Set("User", "spoofed")
		a.send(req)
	}
	if seen.Get("X-Qelos-User-Id") != "" || seen.Get("X-Qelos-Workspace-Id") != "" {
		t.Fatalf("a handler saw spoofed identity headers: %v", seen)
	}
	for _, r := range up.requests("/api/echo") {
		for _, h := range []string{"X-Qelos-User-Id", "X-Qelos-Workspace-Id", "User"} {
			if r.header.Get(h) != "" {
				t.Fatalf("Qelos received a client-sent %s", h)
			}
		}
	}
}

func TestCase21ConfigFromEnv(t *testing.T) {
	key := middleware.GenerateCookieKey()
	tests := []struct {
		name    string
		env     map[string]string
		check   func(middleware.Config) bool
		wantErr string
	}{
		{"reads QELOS_APP_URL; the rest stays zero", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": key.String()},
			func(c middleware.Config) bool {
				return c.AppURL == "https://q.example" && c.APIToken == "" && !c.RequireAuth
			}, ""},
		{"parses the flags", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": key.String(), "QELOS_API_TOKEN": "ql_x", "QELOS_REQUIRE_AUTH": "true", "QELOS_DISABLE_PROXY": "1"},
			func(c middleware.Config) bool { return c.APIToken == "ql_x" && c.RequireAuth && c.Proxy.Disable }, ""},
		{"splits skip paths", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": key.String(), "QELOS_SKIP_PATHS": "/_next, /favicon.ico,/api/_health,,"},
			func(c middleware.Config) bool {
				return reflect.DeepEqual(c.SkipPaths, []string{"/_next", "/favicon.ico", "/api/_health"})
			}, ""},
		{"false is false", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": key.String(), "QELOS_REQUIRE_AUTH": "false"},
			func(c middleware.Config) bool { return !c.RequireAuth }, ""},
		{"cookie keys and secret", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": key.String(), "QELOS_JWT_SECRET": "s"},
			func(c middleware.Config) bool { return len(c.CookieKeys) == 1 && c.JWTSecret == "s" }, ""},
		{"missing QELOS_APP_URL", map[string]string{}, nil, "QELOS_APP_URL is required"},
		{"missing QELOS_COOKIE_KEYS says how to make one", map[string]string{"QELOS_APP_URL": "https://q.example"}, nil, "QELOS_COOKIE_KEYS is required: generate a key set with `go run github.com/qelos-io/integrator-go/cmd/qelos-keys`"},
		{"bad boolean", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_REQUIRE_AUTH": "yes"}, nil, "QELOS_REQUIRE_AUTH"},
		{"malformed keys", map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": "!!"}, nil, "QELOS_COOKIE_KEYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"QELOS_APP_URL", "QELOS_API_TOKEN", "QELOS_REQUIRE_AUTH", "QELOS_DISABLE_PROXY", "QELOS_SKIP_PATHS", "QELOS_COOKIE_KEYS", "QELOS_JWT_SECRET"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := middleware.ConfigFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("%+v %v", c, err)
			}
			// Reading twice gives the same configuration (the Node loader memoises).
			if c2, _ := middleware.ConfigFromEnv(); !reflect.DeepEqual(c, c2) {
				t.Fatal("two reads differ")
			}
		})
	}
}

func TestCase22ExamplesBuild(t *testing.T) {
	// Nuxt's smoke test runs `nuxt prepare` on its fixtures; the Go analogue
	// is that every example program builds. The examples are a module of
	// their own (examples/go.mod), built here from its directory.
	if testing.Short() {
		t.Skip("builds the examples")
	}
	_, file, _, _ := runtime.Caller(0)
	examples := filepath.Join(filepath.Dir(filepath.Dir(file)), "examples")
	if _, err := os.Stat(filepath.Join(examples, "go.mod")); err != nil {
		t.Skip("no examples module next to this package (a module-cache copy holds the root module only)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(goTool, "build", "-o", os.DevNull, "./...")
	cmd.Dir = examples
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./... in examples: %v\n%s", err, out)
	}
}

func TestCases23To34RewriteSetCookieDomain(t *testing.T) {
	tests := []struct {
		caseNo      int
		in, domain  string
		want        string
		description string
	}{
		{23, "sid=abc; Path=/; Domain=.qelos.app; HttpOnly; Secure", "example.com", "sid=abc; Path=/; Domain=example.com; HttpOnly; Secure", "rewrites the domain"},
		{24, "sid=abc; Domain=*.qelos.app; Path=/", "example.com", "sid=abc; Domain=example.com; Path=/", "wildcard domain"},
		{25, "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax", "example.com", "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax", "no Domain: unchanged"},
		{26, "sid=abc; Domain=.qelos.app; Path=/", "localhost:3000", "sid=abc; Domain=localhost; Path=/", "port stripped"},
		{27, "sid=abc; Path=/; Domain=.qelos.app; HttpOnly; Secure; SameSite=Lax; Max-Age=3600", "example.com", "sid=abc; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax; Max-Age=3600", "order and extras kept"},
		{28, "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=.qelos.app; Path=/", "example.com", "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=example.com; Path=/", "Expires commas kept"},
		{29, "sid=abc; domain=.qelos.app; path=/", "example.com", "sid=abc; domain=example.com; path=/", "attribute casing kept"},
		{30, "sid=abc; Domain=.qelos.app; Path=/", "", "sid=abc; Path=/", "no domain (undefined) removes the segment"},
		{31, "sid=abc; Domain=.qelos.app; Path=/", "", "sid=abc; Path=/", "empty domain removes the segment"},
		{32, "sid=abc; Path=/; Domain=.qelos.app", "", "sid=abc; Path=/", "trailing Domain removed cleanly"},
		{0, "sid=abc; Domain=a.example; Domain=b.example", "x.example", "sid=abc; Domain=x.example; Domain=b.example", "first occurrence only"},
		{0, "sid=abc; Domain=.qelos.app", "[::1]:8080", "sid=abc; Domain=::1", "IPv6 brackets and port stripped"},
		{0, "qlt_0=jwt; Max-Age=2592000; Domain=127.0.0.1; Path=/api; Expires=Sun, 27 Dec 2026 02:40:02 GMT; HttpOnly; Secure; SameSite=None", "app.example:8443",
			"qlt_0=jwt; Max-Age=2592000; Domain=app.example; Path=/api; Expires=Sun, 27 Dec 2026 02:40:02 GMT; HttpOnly; Secure; SameSite=None", "the real Qelos cookie (transcript A, first cookie)"},
	}
	for _, tt := range tests {
		name := tt.description
		if tt.caseNo != 0 {
			name = "case " + itoa(tt.caseNo) + ": " + name
		}
		t.Run(name, func(t *testing.T) {
			if got := middleware.RewriteSetCookieDomain(tt.in, tt.domain); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	t.Run("case 33: array helper", func(t *testing.T) {
		got := rewriteAll([]string{"a=1; Domain=.q.app", "b=2; Path=/"}, "example.com")
		if !reflect.DeepEqual(got, []string{"a=1; Domain=example.com", "b=2; Path=/"}) {
			t.Fatalf("%q", got)
		}
	})
	t.Run("case 34: array helper without a domain", func(t *testing.T) {
		got := rewriteAll([]string{"a=1; Domain=.q.app; Path=/", "b=2; Domain=x"}, "")
		if !reflect.DeepEqual(got, []string{"a=1; Path=/", "b=2"}) {
			t.Fatalf("%q", got)
		}
	})
}

// rewriteAll is the Node integrator's array helper, case 33 and 34: Go
// callers loop over RewriteSetCookieDomain.
func rewriteAll(setCookies []string, domain string) []string {
	out := make([]string, len(setCookies))
	for i, s := range setCookies {
		out[i] = middleware.RewriteSetCookieDomain(s, domain)
	}
	return out
}

func TestCases35To41ResolveProxyTarget(t *testing.T) {
	tests := []struct {
		caseNo                 int
		target, ip, apiIP, app string
		want                   string
	}{
		{35, "http://target", "http://ip", "http://api-ip", "https://app", "http://target"},
		{36, "", "http://ip", "http://api-ip", "https://app", "http://ip"},
		{37, "", "", "http://api-ip", "https://app", "http://api-ip"},
		{38, "", "", "", "https://app", "https://app"},
		{39, "", "", "", "", ""},
		{40, "   ", "\t", "", "https://app", "https://app"},
		{41, "", "", "", "  https://trimmed.example  ", "https://trimmed.example"},
	}
	for _, tt := range tests {
		t.Run("case "+itoa(tt.caseNo), func(t *testing.T) {
			env := map[string]string{"QELOS_PROXY_TARGET": tt.target, "QELOS_IP": tt.ip, "QELOS_API_IP": tt.apiIP, "QELOS_APP_URL": tt.app}
			cfg, _ := middleware.ConfigFromLookup(func(k string) string { return env[k] })
			got := cfg.Proxy.Target // where New sends every call: ProxyTarget, else AppURL
			if got == "" {
				got = cfg.AppURL
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// sessionShaped returns a value shaped like Qelos's session cookie (an
// HS256 JWT that has not expired) that this Qelos did not sign: the
// middleware must ask Qelos about it, and Qelos refuses it.
func sessionShaped(t *testing.T) string {
	return signToken(t, jwt.SigningMethodHS256, []byte("not-this-qelos-secret"), jwt.MapClaims{
		"sub": "user-1", "tenant": "0", "exp": time.Now().Add(time.Hour).Unix()})
}

func TestCase03CookieRelayOnA401(t *testing.T) {
	// Qelos clearing its cookie while refusing the session: the clearing
	// Set-Cookie must still reach the browser, Domain rewritten.
	up := newUpstream(t, qelostest.Options{})
	up.override("/api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "qlt_0=; Max-Age=-1; Domain=qelos.internal; Path=/api; HttpOnly; Secure; SameSite=None")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"you are not authorized. must be logged in."}`))
	})
	a := newApp(t, up, passthroughOn)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
	req.Host = "app.example.com:8443"
	req.AddCookie(&http.Cookie{Name: "qlt_0", Value: sessionShaped(t)}) // stale: not signed by this Qelos
	r := a.send(req)
	want := "qlt_0=; Max-Age=-1; Domain=app.example.com; Path=/api; HttpOnly; Secure; SameSite=None"
	if r.status != 401 || r.header.Get("Set-Cookie") != want {
		t.Fatalf("%d Set-Cookie %q, want 401 and %q", r.status, r.header.Get("Set-Cookie"), want)
	}
}

func TestProxyDropsHopByHopHeaders(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/api/echo", nil)
	req.Header.Set("Connection", "X-Per-Hop")
	req.Header.Set("X-Per-Hop", "1")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.Header.Set("Te", "gzip") // "Te: trailers" alone is passed on by httputil, so trailers work end to end
	req.Header.Set("X-End-To-End", "kept")
	if r := a.send(req); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	seen := up.requests("/api/echo")[0].header
	for _, h := range []string{"X-Per-Hop", "Proxy-Authorization", "Te"} {
		if seen.Get(h) != "" {
			t.Errorf("the proxy forwarded the hop-by-hop header %s", h)
		}
	}
	if seen.Get("X-End-To-End") != "kept" {
		t.Error("the proxy dropped an end-to-end header")
	}
}
