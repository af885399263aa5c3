package middleware_test

import (
	"context"
	qelos "github.com/qelos-io/integrator-go"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

func TestAnonymous(t *testing.T) {
	tests := []struct {
		name        string
		requireAuth bool
		path        string
		wantStatus  int
		wantBody    string
	}{
		{"no cookies reach the handler as anonymous", false, "/whoami", 200, `{"user":null,"workspace":null}`},
		{"RequireUser answers 401 with the integrators' body", false, "/private", 401, `{"code":"UNAUTHORIZED"}`},
		{"RequireAuth answers 401 everywhere", true, "/whoami", 401, `{"code":"UNAUTHORIZED"}`},
		{"RequireAuth leaves skip paths alone", true, "/health", 200, `{"hasAuth":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.RequireAuth = tt.requireAuth })
			r := h.get(tt.path)
			if r.status != tt.wantStatus || strings.TrimSpace(string(r.body)) != tt.wantBody {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			if len(r.cookies) != 0 {
				t.Fatalf("anonymous request got cookies %v", r.cookies)
			}
			if n := h.qelos.Calls(qelostest.EndpointRefresh) + h.qelos.Calls(qelostest.EndpointMe); n != 0 {
				t.Fatalf("anonymous request made %d upstream calls", n)
			}
		})
	}
}

func TestValidPairNeedsNoUpstreamCall(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	cookies := h.pair(qelostest.AdminEmail, acmeID, false)
	for i := 0; i < 3; i++ {
		r := h.get("/private", cookies...)
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		w := r.whoami(t)
		if w.User == nil || w.User.Email != qelostest.AdminEmail || !w.User.HasRole("admin") {
			t.Fatalf("user %+v", w.User)
		}
		if w.Workspace == nil || w.Workspace.ID != acmeID || w.Workspace.Name != acmeName {
			t.Fatalf("workspace %+v", w.Workspace)
		}
		if len(r.cookies) != 0 {
			t.Fatalf("a valid pair was rewritten: %v", r.cookies)
		}
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 0 {
		t.Fatalf("%d refresh calls for a valid pair", n)
	}
	if n := middleware.CacheLen(h.mw); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
}

func TestSignInSetsAHardenedPair(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Cookie.Secure = middleware.SecureAlways })
	body := strings.NewReader(`{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`)
	r := h.do(http.MethodPost, "/auth/signin", body, "application/json")
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	w := r.whoami(t)
	if w.User == nil || w.User.ID == "" || w.User.FullName != "Ada Admin" || w.Workspace == nil || w.Workspace.Name != acmeName {
		t.Fatalf("sign-in answer %s", r.body)
	}
	for _, name := range []string{accessCookie, refreshCookie} {
		c := r.cookies[name]
		if c == nil {
			t.Fatalf("no %s cookie", name)
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("%s attributes: HttpOnly=%v Secure=%v SameSite=%v Path=%q", name, c.HttpOnly, c.Secure, c.SameSite, c.Path)
		}
		// Max-Age follows the refresh token: 30 days.
		if want := int((30 * 24 * time.Hour).Seconds()); c.MaxAge < want-60 || c.MaxAge > want {
			t.Errorf("%s Max-Age %d, want about %d", name, c.MaxAge, want)
		}
	}
	// A JWT is base64url of `{"…` and has dots; a sealed value (base64url,
	// no dots) may contain "ey" by chance but never this.
	jwt := regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	for _, sc := range r.header.Values("Set-Cookie") {
		if jwt.MatchString(sc) {
			t.Fatal("a raw JWT is visible in Set-Cookie; the pair must be sealed")
		}
	}
}

// TestCookiesAreSecureByDefault: the app decides, not AppURL's scheme:
// with a plain-http Qelos (qelostest) the cookies are still Secure, and
// only SecureNever turns it off (and with it the __Host- prefix).
func TestCookiesAreSecureByDefault(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*middleware.Config)
		cookie     string
		wantSecure bool
	}{
		{"default on an http AppURL", nil, accessCookie, true},
		{"SecureNever for plain-http development", func(c *middleware.Config) { c.Cookie.Secure = middleware.SecureNever }, middleware.DefaultAccessCookieName, false},
	}
	t.Run("QELOS_INSECURE_COOKIES", func(t *testing.T) {
		for v, want := range map[string]middleware.CookieSecurity{"": middleware.SecureAlways, "false": middleware.SecureAlways, "true": middleware.SecureNever, "1": middleware.SecureNever} {
			cfg, err := middleware.ConfigFromLookup(func(k string) string {
				return map[string]string{"QELOS_APP_URL": "http://q.example", "QELOS_INSECURE_COOKIES": v, "QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String()}[k]
			})
			if err != nil || cfg.Cookie.Secure != want {
				t.Errorf("QELOS_INSECURE_COOKIES=%q: CookieSecure %v, err %v; want %v", v, cfg.Cookie.Secure, err, want)
			}
		}
	})
	t.Run("a hint when a plain-http host other than localhost gets them", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/signin", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Host = "192.168.1.10:8080"
		if r := h.send(req); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if !strings.Contains(h.logs.String(), "QELOS_INSECURE_COOKIES=true") {
			t.Fatalf("no hint in the log:\n%s", h.logs.String())
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, tt.mutate)
			body := strings.NewReader(`{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`)
			r := h.do(http.MethodPost, "/auth/signin", body, "application/json")
			c := r.cookies[tt.cookie]
			if c == nil || c.Secure != tt.wantSecure || !c.HttpOnly {
				t.Fatalf("cookie %s = %+v: want HttpOnly and Secure=%v (cookies set: %v)", tt.cookie, c, tt.wantSecure, r.cookies)
			}
		})
	}
}

func TestExpiredAccessTokenIsRefreshed(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)
	r := h.get("/private", cookies...)
	if r.status != 200 || r.whoami(t).User == nil {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refresh calls, want 1", n)
	}
	newCookies := h.sessionCookies(r)
	oldAccess, oldRefresh := h.tokens(map[string]*http.Cookie{cookies[0].Name: cookies[0], cookies[1].Name: cookies[1]})
	newAccess, newRefresh := h.tokens(r.cookies)
	if newAccess == oldAccess || newRefresh == oldRefresh {
		t.Fatal("the pair was not rotated")
	}
	// The new pair is warm: no further refresh.
	if r := h.get("/private", newCookies...); r.status != 200 || len(r.cookies) != 0 {
		t.Fatalf("new pair: status %d cookies %v", r.status, r.cookies)
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refresh calls after using the new pair, want 1", n)
	}
	if h.eventCount(qelos.EventRefreshed) != 1 {
		t.Fatal("no refreshed event")
	}
}

// TestRefreshStorm is the heart of the product: a browser fires many
// requests at once with one expired pair; the single-use refresh token must
// be spent exactly once and every request must see the user.
func TestRefreshStorm(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 100 * time.Millisecond, Times: 1}) // hold the door open
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)

	const n = 200
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.get("/private", cookies...)
		}()
	}
	wg.Wait()

	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
		t.Fatalf("%d upstream refreshes for %d concurrent requests, want exactly 1", got, n)
	}
	var firstAccess, firstRefresh string
	for i, r := range replies {
		if r.status != 200 || r.whoami(t).User == nil {
			t.Fatalf("request %d: status %d %s", i, r.status, r.body)
		}
		a, rf := h.tokens(r.cookies)
		if i == 0 {
			firstAccess, firstRefresh = a, rf
		} else if a != firstAccess || rf != firstRefresh {
			t.Fatalf("request %d received a different pair", i)
		}
	}

	t.Run("a straggler inside the grace window gets the same pair", func(t *testing.T) {
		r := h.get("/private", cookies...)
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		if a, rf := h.tokens(r.cookies); a != firstAccess || rf != firstRefresh {
			t.Fatal("straggler received a different pair")
		}
		if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
			t.Fatalf("straggler caused an upstream refresh (%d)", got)
		}
	})
}

func TestStragglerAfterGraceIsSignedOutCleanly(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Refresh.Grace = 150 * time.Millisecond })
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)
	if r := h.get("/private", cookies...); r.status != 200 {
		t.Fatalf("first refresh: %d %s", r.status, r.body)
	}
	time.Sleep(300 * time.Millisecond)
	r := h.get("/private", cookies...)
	if r.status != 401 || !strings.Contains(string(r.body), "UNAUTHORIZED") {
		t.Fatalf("spent pair after grace: %d %s, want 401", r.status, r.body)
	}
	if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
		t.Fatalf("spent pair not cleared: %v", r.cookies)
	}
	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 2 {
		t.Fatalf("%d refresh calls, want 2 (the second rejected by Qelos)", got)
	}
}

func TestCancelledFirstCallerDoesNotFailOthers(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 300 * time.Millisecond, Times: 1})
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.app.URL+"/private", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	time.Sleep(20 * time.Millisecond) // the first caller has started the refresh
	r := h.get("/private", cookies...)
	if r.status != 200 || r.whoami(t).User == nil {
		t.Fatalf("second caller: %d %s", r.status, r.body)
	}
	if err := <-first; err == nil {
		t.Fatal("the first caller was expected to give up")
	}
	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
		t.Fatalf("%d refresh calls, want 1", got)
	}
}

func TestAbandonedRefreshIsStillRecorded(t *testing.T) {
	// The only caller gives up, but the detached refresh completes and its
	// rotation is kept: the next request with the old pair gets the new one
	// rather than a sign-out.
	h := newHarness(t, qelostest.Options{}, nil)
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 200 * time.Millisecond, Times: 1})
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.app.URL+"/private", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("expected the caller to give up")
	}
	cancel()
	time.Sleep(300 * time.Millisecond)
	r := h.get("/private", cookies...)
	if r.status != 200 {
		t.Fatalf("after the abandoned refresh: %d %s", r.status, r.body)
	}
	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
		t.Fatalf("%d refresh calls, want 1", got)
	}
}

// TestTransientRefreshFaultsKeepTheSession: whatever goes wrong on the way
// to Qelos, the cookies stay and a guarded route answers 503, never 401.
func TestTransientRefreshFaultsKeepTheSession(t *testing.T) {
	tests := []struct {
		name  string
		fault qelostest.Fault
	}{
		{"500", qelostest.Fault{Status: 500, Body: `{"message":"boom"}`}},
		{"502 from a proxy", qelostest.Fault{Status: 502, Body: "<html>bad gateway</html>"}},
		{"timeout", qelostest.Fault{Delay: 2 * time.Second}},
		{"connection reset", qelostest.Fault{Drop: true}},
		{"garbage body", qelostest.Fault{Garbage: true}},
		{"404 (misrouted)", qelostest.Fault{Status: 404}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Limits.UpstreamTimeout = 200 * time.Millisecond })
			h.qelos.InjectFault(qelostest.EndpointRefresh, tt.fault)
			cookies := h.pair(qelostest.AdminEmail, acmeID, true)

			start := time.Now()
			r := h.get("/private", cookies...)
			if r.status != 503 || !strings.Contains(string(r.body), "QELOS_UNAVAILABLE") {
				t.Fatalf("guarded route: %d %s, want 503 QELOS_UNAVAILABLE", r.status, r.body)
			}
			if len(r.cookies) != 0 {
				t.Fatalf("a transient fault touched the cookies: %v", r.cookies)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("answer took %v; the upstream timeout is 200ms", d)
			}
			if r := h.get("/whoami", cookies...); r.status != 200 || r.whoami(t).User != nil || len(r.cookies) != 0 {
				t.Fatalf("open route: %d %s %v", r.status, r.body, r.cookies)
			}

			// Qelos recovers: the very same cookies work again once the
			// failure is no longer shared (refresh.DefaultFailureWindow).
			h.qelos.ClearFaults()
			deadline := time.Now().Add(10 * refresh.DefaultFailureWindow)
			r = h.get("/private", cookies...)
			for r.status == 503 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				r = h.get("/private", cookies...)
			}
			if r.status != 200 {
				t.Fatalf("after recovery: %d %s", r.status, r.body)
			}
		})
	}
}

func TestRequireAuthAnswers503OnTransientFault(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.RequireAuth = true })
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 503})
	r := h.get("/whoami", h.pair(qelostest.AdminEmail, acmeID, true)...)
	if r.status != 503 || len(r.cookies) != 0 {
		t.Fatalf("got %d %s %v, want 503 and no cookie change", r.status, r.body, r.cookies)
	}
}

func TestRejectedRefreshClearsTheSession(t *testing.T) {
	tests := []struct {
		name  string
		fault qelostest.Fault
	}{
		{"401 from Qelos", qelostest.Fault{Status: 401}},
		{"403 from Qelos", qelostest.Fault{Status: 403}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			h.qelos.InjectFault(qelostest.EndpointRefresh, tt.fault)
			r := h.get("/private", h.pair(qelostest.AdminEmail, acmeID, true)...)
			if r.status != 401 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
				t.Fatalf("cookies not cleared: %v", r.cookies)
			}
			c := r.cookies[accessCookie]
			if !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
				t.Fatalf("clearing cookie lacks the session's attributes: %+v", c)
			}
		})
	}
}

func TestWorkspaceSurvivesRefreshes(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	clock := time.Now()
	var mu sync.Mutex
	middleware.SetClock(h.mw, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	for i := 1; i <= 3; i++ {
		mu.Lock()
		clock = clock.Add(6 * time.Hour) // past the 5 h access lifetime
		mu.Unlock()
		r := h.get("/private", cookies...)
		if r.status != 200 {
			t.Fatalf("refresh %d: %d %s", i, r.status, r.body)
		}
		w := r.whoami(t)
		if w.Workspace == nil || w.Workspace.ID != acmeID || w.Workspace.Name != acmeName {
			t.Fatalf("after refresh %d the workspace is %+v", i, w.Workspace)
		}
		if w.User.Workspace == nil || w.User.Workspace.Name != acmeName {
			t.Fatalf("after refresh %d the user's workspace is %+v", i, w.User.Workspace)
		}
		cookies = h.sessionCookies(r)
	}
	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 3 {
		t.Fatalf("%d refreshes, want 3", got)
	}
}

func TestSkipPathsAreUntouched(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	r := h.get("/health", h.pair(qelostest.AdminEmail, acmeID, true)...)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"hasAuth":false}` || len(r.cookies) != 0 {
		t.Fatalf("skip path: %d %s %v", r.status, r.body, r.cookies)
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 0 {
		t.Fatalf("skip path refreshed (%d)", n)
	}
}

func TestResolveWorkspace(t *testing.T) {
	other := &middleware.Workspace{ID: "ws-2", Name: "Other"}
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) {
		c.ResolveWorkspace = func(r *http.Request, u *middleware.User, _ *qelosapi.Client) (*middleware.Workspace, error) {
			if r.Header.Get("X-Workspace") == "ws-2" {
				return other, nil
			}
			return nil, nil
		}
	})
	cookies := h.pair(qelostest.AdminEmail, acmeID, false)
	req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/whoami", nil)
	req.Header.Set("X-Workspace", "ws-2")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if w := h.send(req).whoami(t); w.Workspace == nil || w.Workspace.ID != "ws-2" {
		t.Fatalf("resolved workspace %+v, want ws-2", w.Workspace)
	}
	// Without the header the resolver says none: never a default pick.
	if w := h.get("/whoami", cookies...).whoami(t); w.Workspace != nil {
		t.Fatalf("workspace %+v, want none", w.Workspace)
	}
}

// TestLateRotationIsCaptured: Qelos completes a refresh after the request
// stopped waiting. The single-use token is spent by then, so the rotation
// must be kept, or the user's next request would be signed out.
func TestLateRotationIsCaptured(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Limits.UpstreamTimeout = 100 * time.Millisecond })
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 400 * time.Millisecond, Times: 1})
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)
	if r := h.get("/private", cookies...); r.status != 503 || len(r.cookies) != 0 {
		t.Fatalf("slow refresh: %d %v, want 503 with the cookies kept", r.status, r.cookies)
	}
	time.Sleep(600 * time.Millisecond) // Qelos has rotated the pair by now
	r := h.get("/private", cookies...)
	if r.status != 200 || r.whoami(t).User == nil {
		t.Fatalf("after the late rotation: %d %s", r.status, r.body)
	}
	h.sessionCookies(r) // the new pair is delivered
	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
		t.Fatalf("%d refresh calls, want 1", got)
	}
}
