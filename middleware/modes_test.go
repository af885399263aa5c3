package middleware_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// credentialFor builds a request decorator for each non-cookie-pair mode.
func credentialFor(t *testing.T, up *upstream, mode string) func(*http.Request) {
	t.Helper()
	switch mode {
	case "bearer":
		tok, err := up.q.IssueAccessToken(qelostest.AdminEmail, acmeID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	case "api-token":
		key, err := up.q.IssueAPIToken(qelostest.AdminEmail, acmeID, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return func(r *http.Request) { r.Header.Set("X-Api-Key", key) }
	case "passthrough":
		c := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
		return func(r *http.Request) { r.AddCookie(c) }
	}
	t.Fatalf("unknown mode %s", mode)
	return nil
}

// TestModesCostOneIdentityCallPerTTL: bearer, API-token and passthrough
// requests are identified by Qelos's /api/me at most once per credential
// per IdentityTTL, whether they come one by one or all at once.
func TestModesCostOneIdentityCallPerTTL(t *testing.T) {
	for _, mode := range []string{"bearer", "api-token", "passthrough"} {
		for _, concurrent := range []bool{false, true} {
			name := mode + "/sequential"
			if concurrent {
				name = mode + "/concurrent"
			}
			t.Run(name, func(t *testing.T) {
				up := newUpstream(t, qelostest.Options{})
				if concurrent { // make the first call slow, so all 100 miss the cache together
					up.q.InjectFault(qelostest.EndpointMe, qelostest.Fault{Delay: 100 * time.Millisecond, Times: 1})
				}
				a := newApp(t, up, passthroughOn)
				decorate := credentialFor(t, up, mode)
				do := func() reply {
					req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
					decorate(req)
					return a.send(req)
				}
				replies := make([]reply, 100)
				if concurrent {
					var wg sync.WaitGroup
					for i := range replies {
						wg.Add(1)
						go func() { defer wg.Done(); replies[i] = do() }()
					}
					wg.Wait()
				} else {
					for i := range replies {
						replies[i] = do()
					}
				}
				for i, r := range replies {
					w := r.whoami(t)
					if r.status != 200 || w.User == nil || w.User.Email != qelostest.AdminEmail || w.Workspace == nil || w.Workspace.ID != acmeID {
						t.Fatalf("request %d: %d %s", i, r.status, r.body)
					}
				}
				if n := len(up.requests("/api/me")); n != 1 {
					t.Fatalf("%d /api/me calls for 100 requests with one credential, want 1", n)
				}
				if n := len(up.requests("/api/token/refresh")); n != 0 {
					t.Fatalf("%s mode refreshed (%d)", mode, n)
				}
			})
		}
	}
}

func TestModePrecedenceAndRejections(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, nil)
	bearer := credentialFor(t, up, "bearer")
	tests := []struct {
		name     string
		decorate func(*http.Request)
		want     int
	}{
		{"an invalid API key is 401 even beside a valid bearer", func(r *http.Request) {
			bearer(r)
			r.Header.Set("X-Api-Key", "ql_"+strings.Repeat("0", 64))
		}, 401},
		{"a bad app cookie does not fall through to a valid bearer", func(r *http.Request) {
			bearer(r)
			r.AddCookie(&http.Cookie{Name: accessCookie, Value: "garbage"})
		}, 401},
		{"a garbage bearer is anonymous", func(r *http.Request) { r.Header.Set("Authorization", "Bearer not.a.jwt") }, 401},
		{"a valid bearer is signed in", bearer, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
			tt.decorate(req)
			if r := a.send(req); r.status != tt.want {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.want)
			}
		})
	}
}

func TestBearerVerifiedLocallyWithJWTSecret(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, func(c *middleware.Config) { c.JWTSecret = up.q.Secret() })
	tok, _ := up.q.IssueAccessToken(qelostest.AdminEmail, acmeID, time.Hour)
	expired, _ := up.q.IssueAccessToken(qelostest.AdminEmail, acmeID, -time.Minute)
	for _, tc := range []struct {
		tok  string
		want int
	}{{tok, 200}, {tok, 200}, {expired, 401}, {tok + "x", 401}} {
		req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
		req.Header.Set("Authorization", "Bearer "+tc.tok)
		if r := a.send(req); r.status != tc.want {
			t.Fatalf("%d, want %d", r.status, tc.want)
		}
	}
	if n := len(up.requests("/api/me")); n != 0 {
		t.Fatalf("%d /api/me calls with a JWT secret, want 0", n)
	}
}

func TestPassthroughRelaysRotationWithPathRewrite(t *testing.T) {
	up := newUpstream(t, qelostest.Options{CookieRotateAfter: time.Millisecond})
	a := newApp(t, up, func(c *middleware.Config) { c.Proxy.Passthrough, c.Proxy.PassthroughCookiePath = true, true })
	qlt := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
	time.Sleep(5 * time.Millisecond) // old enough for Qelos to rotate it
	req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/whoami", nil)
	req.Host = "app.example:8080"
	req.AddCookie(qlt)
	r := a.send(req)
	got := r.header.Values("Set-Cookie")
	if r.whoami(t).User == nil || len(got) != 1 {
		t.Fatalf("user %v, Set-Cookie %q", r.whoami(t).User, got)
	}
	if !strings.Contains(got[0], "Domain=app.example;") || !strings.Contains(got[0], "Path=/;") || !strings.HasPrefix(got[0], qlt.Name+"=") {
		t.Fatalf("relayed %q: want Domain=app.example and Path=/", got[0])
	}
}

func TestProxy(t *testing.T) {
	t.Run("a 1 MiB POST with a query passes byte-identical", func(t *testing.T) {
		up := newUpstream(t, qelostest.Options{})
		a := newApp(t, up, nil)
		body := make([]byte, 1<<20)
		rand.Read(body)
		sum := sha256.Sum256(body)
		req, _ := http.NewRequest(http.MethodPost, a.app.URL+"/api/echo?state=a%2Fb&returnUrl=%2Fcb&x=1&x=2", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		r := a.send(req)
		var echo struct {
			Method, Query, Sha256 string
			Len                   int
		}
		json.Unmarshal(r.body, &echo)
		if r.status != 200 || echo.Method != "POST" || echo.Len != len(body) || echo.Sha256 != hex.EncodeToString(sum[:]) || echo.Query != "state=a%2Fb&returnUrl=%2Fcb&x=1&x=2" {
			t.Fatalf("%d %+v", r.status, echo)
		}
		if got := r.header.Get("Set-Cookie"); !strings.Contains(got, "Domain=127.0.0.1;") {
			t.Fatalf("Set-Cookie not rewritten: %q", got)
		}
		rec := up.requests("/api/echo")[0]
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if rec.header.Get(h) != "" {
				t.Fatalf("the proxy added %s", h)
			}
		}
	})
	t.Run("Qelos unreachable is 502 QELOS_PROXY_UPSTREAM_ERROR", func(t *testing.T) {
		up := newUpstream(t, qelostest.Options{})
		a := newApp(t, up, nil)
		up.srv.Close()
		r := a.get("/api/echo?rt=secret-refresh-token")
		if r.status != 502 || !strings.Contains(string(r.body), "QELOS_PROXY_UPSTREAM_ERROR") || strings.Contains(string(r.body), "secret-refresh-token") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestRefreshedPairIsUsedUpstream: in the request that refreshes the pair,
// the proxy and the request-scoped client both present the new access
// token to Qelos, not the expired one.
func TestRefreshedPairIsUsedUpstream(t *testing.T) {
	for _, path := range []string{"/api/echo", "/me-via-client"} {
		t.Run(path, func(t *testing.T) {
			up := newUpstream(t, qelostest.Options{})
			a := newApp(t, up, nil)
			cookies := a.pair(qelostest.AdminEmail, acmeID, true)
			r := a.get(path, cookies...)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			newAccess, _ := a.tokens(r.cookies)
			upstreamPath := "/api/echo"
			if path == "/me-via-client" {
				upstreamPath = "/api/me"
			}
			seen := up.requests(upstreamPath)
			if len(seen) != 1 || seen[0].header.Get("Authorization") != "Bearer "+newAccess {
				t.Fatalf("Qelos saw Authorization %q, want the refreshed token", seen[0].header.Get("Authorization"))
			}
			if c := seen[0].header.Get("Cookie"); strings.Contains(c, accessCookie) {
				t.Fatalf("the app's own cookies reached Qelos: %q", c)
			}
			if n := len(up.requests("/api/token/refresh")); n != 1 {
				t.Fatalf("%d refreshes", n)
			}
		})
	}
}

func TestGuards(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	admin := &middleware.Auth{User: &middleware.User{ID: "a", Roles: []string{"admin"}}, Privileged: true,
		Workspace: &middleware.Workspace{ID: "w", Roles: []string{"editor"}}}
	user := &middleware.Auth{User: &middleware.User{ID: "u", Roles: []string{"user"}}}
	down := &middleware.Auth{Err: qelos.ErrUnavailable}
	tests := []struct {
		name  string
		guard http.Handler
		auth  *middleware.Auth
		want  int
	}{
		{"roles: holder passes", middleware.Require(middleware.HasRole("editor", "admin"))(ok), admin, 204},
		{"roles: signed-in non-holder is 403", middleware.Require(middleware.HasRole("admin"))(ok), user, 403},
		{"roles: anonymous is 401", middleware.Require(middleware.HasRole("admin"))(ok), nil, 401},
		{"roles: Qelos down is 503", middleware.Require(middleware.HasRole("admin"))(ok), down, 503},
		{"workspace roles: holder passes", middleware.Require(middleware.HasWorkspaceRole("editor"))(ok), admin, 204},
		{"workspace roles: no workspace is 403", middleware.Require(middleware.HasWorkspaceRole("editor"))(ok), user, 403},
		{"privileged: admin passes", middleware.Require(middleware.Privileged())(ok), admin, 204},
		{"privileged: user is 403", middleware.Require(middleware.Privileged())(ok), user, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			if tt.auth != nil {
				req = req.WithContext(middleware.NewContext(req.Context(), tt.auth))
			}
			rec := newRecorder()
			tt.guard.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("%d, want %d", rec.Code, tt.want)
			}
			if tt.want == 403 && strings.TrimSpace(rec.Body.String()) != `{"code":"FORBIDDEN"}` {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
}
