package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// authOf serves r through mw and returns the Auth the handler saw.
func authOf(mw *middleware.Middleware, r *http.Request) (*middleware.Auth, *httptest.ResponseRecorder) {
	var got *middleware.Auth
	w := httptest.NewRecorder()
	mw.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = middleware.FromContext(r.Context())
	})).ServeHTTP(w, r)
	return got, w
}

// TestTransientFailuresMatchErrUnavailable: whatever failed upstream — a
// refresh answered 500, a refresh whose connection was dropped, /api/me
// reset in API-key mode, /api/me answering garbage — Auth.Err matches
// qelos.ErrUnavailable, and a failed refresh also matches
// refresh.ErrUnavailable.
func TestTransientFailuresMatchErrUnavailable(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		fault       qelostest.Fault
		alsoRefresh bool
	}{
		{"refresh answers 500", "pair", qelostest.Fault{Status: 500}, true},
		{"refresh connection dropped", "pair", qelostest.Fault{Drop: true}, true},
		{"/api/me reset, API key", "api-key", qelostest.Fault{Drop: true}, false},
		{"/api/me answers garbage, API key", "api-key", qelostest.Fault{Garbage: true}, false},
		{"/api/me answers 502, bearer", "bearer", qelostest.Fault{Status: 502}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := middlewaretest.Start(t)
			mw := k.Middleware(middleware.Config{Limits: middleware.Limits{UpstreamTimeout: 5 * time.Second}})
			var r *http.Request
			switch tt.mode {
			case "pair":
				s := k.SignIn(mw, qelostest.UserEmail, "")
				k.Expire()
				k.InjectFault(qelostest.EndpointRefresh, tt.fault)
				r = s.Request("GET", "/", nil)
			case "api-key":
				key, err := k.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				k.InjectFault(qelostest.EndpointMe, tt.fault)
				r = httptest.NewRequest("GET", "/", nil)
				r.Header.Set("X-Api-Key", key)
			case "bearer":
				tok, err := k.IssueAccessToken(qelostest.AdminEmail, "", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				k.InjectFault(qelostest.EndpointMe, tt.fault)
				r = httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			a, _ := authOf(mw, r)
			if a == nil || a.Err == nil {
				t.Fatalf("Auth %+v: want one with Err set", a)
			}
			if !errors.Is(a.Err, qelos.ErrUnavailable) {
				t.Errorf("Auth.Err %v does not match qelos.ErrUnavailable", a.Err)
			}
			if errors.Is(a.Err, qelos.ErrUnauthorized) {
				t.Errorf("Auth.Err %v matches ErrUnauthorized too", a.Err)
			}
			if tt.alsoRefresh && !errors.Is(a.Err, refresh.ErrUnavailable) {
				t.Errorf("Auth.Err %v does not match refresh.ErrUnavailable", a.Err)
			}
		})
	}
}

// TestRejectionsMatchErrUnauthorized: the Err of every rejection event — a
// tampered cookie, a refresh token Qelos rejects, a bearer Qelos refuses —
// matches ErrUnauthorized and not ErrUnavailable.
func TestRejectionsMatchErrUnauthorized(t *testing.T) {
	k := middlewaretest.Start(t)
	var rec recorder
	mw := k.Middleware(middleware.Config{OnEvent: rec.on})
	s := k.SignIn(mw, qelostest.UserEmail, "")

	tampered := s.Request("GET", "/", nil)
	tampered.Header.Set("Cookie", strings.Replace(tampered.Header.Get("Cookie"), "=", "=x", 1))
	authOf(mw, tampered)

	k.Expire()
	k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 401, Times: 1})
	authOf(mw, s.Request("GET", "/", nil))

	tok, err := k.IssueAccessToken(qelostest.AdminEmail, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	k.InjectFault(qelostest.EndpointMe, qelostest.Fault{Status: 401, Times: 1})
	bearer := httptest.NewRequest("GET", "/", nil)
	bearer.Header.Set("Authorization", "Bearer "+tok)
	authOf(mw, bearer)

	kinds := map[qelos.EventKind]bool{}
	for _, e := range rec.take() {
		if e.Err == nil || e.Kind == qelos.EventUpstreamCall {
			continue
		}
		kinds[e.Kind] = true
		if !errors.Is(e.Err, qelos.ErrUnauthorized) || errors.Is(e.Err, qelos.ErrUnavailable) {
			t.Errorf("%v: Err %v should match ErrUnauthorized only", e.Kind, e.Err)
		}
	}
	for _, want := range []qelos.EventKind{qelos.EventCookieRejected, qelos.EventRefreshFailed, qelos.EventIdentityFailed} {
		if !kinds[want] {
			t.Errorf("no %v event with an Err", want)
		}
	}
}

// TestClientErrorsFollowTheModel: a Client call Qelos cannot answer
// matches ErrUnavailable; one it refuses matches ErrUnauthorized.
func TestClientErrorsFollowTheModel(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	s := k.SignIn(mw, qelostest.AdminEmail, "")
	var c *qelosapi.Client
	authOf(mw, s.Request("GET", "/", nil))
	mw.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { c, _ = middleware.ClientFrom(r.Context()) })).
		ServeHTTP(httptest.NewRecorder(), s.Request("GET", "/", nil))
	if c == nil {
		t.Fatal("no client")
	}
	for _, tt := range []struct {
		fault qelostest.Fault
		want  error
	}{
		{qelostest.Fault{Drop: true}, qelos.ErrUnavailable},
		{qelostest.Fault{Status: 503}, qelos.ErrUnavailable},
		{qelostest.Fault{Garbage: true}, qelos.ErrUnavailable},
		{qelostest.Fault{Status: 401}, qelos.ErrUnauthorized},
	} {
		k.InjectFault(qelostest.EndpointMe, tt.fault)
		_, err := c.Me(t.Context())
		if !errors.Is(err, tt.want) {
			t.Errorf("fault %+v: Me error %v, want %v", tt.fault, err, tt.want)
		}
		req, _ := http.NewRequest("GET", "/api/me", nil)
		resp, err := c.Do(req)
		if tt.fault.Drop {
			if !errors.Is(err, qelos.ErrUnavailable) {
				t.Errorf("Do with a dropped connection: %v, want ErrUnavailable", err)
			}
		} else if err == nil {
			resp.Body.Close()
		}
		if len(req.Header) != 0 || req.URL.Host != "" {
			t.Errorf("Do changed the caller's request: %v %v", req.URL, req.Header)
		}
	}
}

// TestErrorHandlerAnswersEveryRefusal: Config.ErrorHandler writes the 401
// and 503 of RequireAuth, the 403 of the cross-origin check, the guards'
// 401, 403 and 503, the sign-in and sign-up handlers' 400s, sign-in's 405
// and the proxy's 400,
// with the status and code of the JSON answer.
func TestErrorHandlerAnswersEveryRefusal(t *testing.T) {
	type call struct {
		status int
		code   string
	}
	handler := func(calls *[]call) func(http.ResponseWriter, *http.Request, error) {
		return func(w http.ResponseWriter, r *http.Request, err error) {
			var e *qelos.Error
			if !errors.As(err, &e) {
				t.Errorf("ErrorHandler got %v, not a *qelos.Error", err)
				return
			}
			*calls = append(*calls, call{e.Status, e.Code})
			w.WriteHeader(299)
		}
	}
	k := middlewaretest.Start(t)
	var calls []call
	guarded := k.Middleware(middleware.Config{ErrorHandler: handler(&calls)})
	strict := k.Middleware(middleware.Config{ErrorHandler: handler(&calls), RequireAuth: true})
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	admin := guarded.Handler(middleware.Require(middleware.HasRole("admin"))(ok))
	private := guarded.Handler(middleware.RequireUser(ok))
	user := k.SignIn(guarded, qelostest.UserEmail, "")
	expiring := k.SignIn(guarded, qelostest.UserEmail, "")
	strictExpiring := k.SignIn(strict, qelostest.UserEmail, "")

	crossOrigin := httptest.NewRequest("POST", "http://app.example/x", nil)
	crossOrigin.Header.Set("Sec-Fetch-Site", "cross-site")
	tests := []struct {
		name string
		h    http.Handler
		r    func() *http.Request
		want call
	}{
		{"guard, anonymous", private, func() *http.Request { return httptest.NewRequest("GET", "/", nil) }, call{401, qelos.CodeUnauthorized}},
		{"guard, wrong role", admin, func() *http.Request { return user.Request("GET", "/", nil) }, call{403, qelos.CodeForbidden}},
		{"guard, Qelos down", private, func() *http.Request {
			k.Expire()
			k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 500, Times: 1})
			return expiring.Request("GET", "/", nil)
		}, call{503, qelos.CodeQelosUnavailable}},
		{"cross-origin", private, func() *http.Request { return crossOrigin }, call{403, qelos.CodeCrossOrigin}},
		{"RequireAuth, anonymous", strict.Handler(ok), func() *http.Request { return httptest.NewRequest("GET", "/", nil) }, call{401, qelos.CodeUnauthorized}},
		{"RequireAuth, Qelos down", strict.Handler(ok), func() *http.Request {
			k.Expire()
			k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 500, Times: 1})
			return strictExpiring.Request("GET", "/", nil)
		}, call{503, qelos.CodeQelosUnavailable}},
		{"sign-in, no password", guarded.SignInHandler(), func() *http.Request {
			return httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"username":"a@b.c"}`))
		}, call{400, qelos.CodeInvalidInput}},
		{"sign-up, no password", guarded.SignUpHandler(), func() *http.Request {
			return httptest.NewRequest("POST", "/auth/signup", strings.NewReader(`{"username":"a@b.c"}`))
		}, call{400, qelos.CodeInvalidInput}},
		{"sign-in, GET", guarded.SignInHandler(), func() *http.Request { return httptest.NewRequest("GET", "/auth/signin", nil) }, call{405, qelos.CodeMethodNotAllowed}},
		{"proxy, dot-segment", guarded.Proxy(), func() *http.Request { return httptest.NewRequest("GET", "/api/a/%2e%2e/me", nil) }, call{400, qelos.CodeProxyBadPath}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, tt.r())
			if len(calls) != 1 || calls[0] != tt.want || w.Code != 299 {
				t.Fatalf("ErrorHandler calls %v, status %d; want one %v", calls, w.Code, tt.want)
			}
		})
	}
}

// TestAuthenticateIsHandler: the adapters' seam returns the request with
// the Auth for a session, r itself for an anonymous request, and false
// after answering a refusal; the writer it is given is never unwrapped.
func TestAuthenticateIsHandler(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	s := k.SignIn(mw, qelostest.AdminEmail, "")
	type wrapped struct{ http.ResponseWriter } // no Unwrap: a writer Authenticate cannot see through

	r := s.Request("GET", "/", nil)
	r2, ok := mw.Authenticate(wrapped{httptest.NewRecorder()}, r)
	if u, _ := middleware.UserFrom(r2.Context()); !ok || u == nil || u.Email != qelostest.AdminEmail {
		t.Fatalf("session: ok=%v user %+v", ok, u)
	}
	anon := httptest.NewRequest("GET", "/", nil)
	if r2, ok := mw.Authenticate(wrapped{httptest.NewRecorder()}, anon); !ok || r2 != anon {
		t.Fatalf("anonymous: ok=%v, same request %v (want r itself: nothing to allocate)", ok, r2 == anon)
	}
	cross := httptest.NewRequest("POST", "http://app.example/", nil)
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	if _, ok := mw.Authenticate(wrapped{w}, cross); ok || w.Code != http.StatusForbidden {
		t.Fatalf("cross-origin: ok=%v status %d", ok, w.Code)
	}
}

// TestNewReadsNoEnvironment: the development overrides of the Qelos target
// are ConfigFromEnv's business; a hand-built Config is used as it is.
func TestNewReadsNoEnvironment(t *testing.T) {
	k := middlewaretest.Start(t)
	t.Setenv("QELOS_PROXY_TARGET", "http://127.0.0.1:1") // nothing listens there
	mw := k.Middleware(middleware.Config{})
	key, err := k.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Api-Key", key)
	if a, _ := authOf(mw, r); a == nil || a.User == nil {
		t.Fatalf("Auth %+v: New followed QELOS_PROXY_TARGET", a)
	}
	cfg, err := middleware.ConfigFromLookup(func(k string) string {
		return map[string]string{"QELOS_APP_URL": "https://app.example", "QELOS_IP": " http://10.0.0.7:3000 ", "QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String()}[k]
	})
	if err != nil || cfg.Proxy.Target != "http://10.0.0.7:3000" {
		t.Fatalf("ConfigFromLookup: ProxyTarget %q, %v", cfg.Proxy.Target, err)
	}
}

// TestCrossOriginProtectionFromConfig: an app's own protection is used,
// with its trusted origins.
func TestCrossOriginProtectionFromConfig(t *testing.T) {
	k := middlewaretest.Start(t)
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin("https://admin.example"); err != nil {
		t.Fatal(err)
	}
	cop.AddInsecureBypassPattern("POST /webhook")
	mw := k.Middleware(middleware.Config{CrossOrigin: middleware.CrossOriginConfig{Protection: cop}})
	for _, tt := range []struct {
		path, origin string
		ok           bool
	}{
		{"/x", "https://admin.example", true},
		{"/x", "https://evil.example", false},
		{"/webhook", "https://evil.example", true},
	} {
		r := httptest.NewRequest("POST", "http://app.example"+tt.path, nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", tt.origin)
		if _, ok := mw.Authenticate(httptest.NewRecorder(), r); ok != tt.ok {
			t.Errorf("%s from %s: passed %v, want %v", tt.path, tt.origin, ok, tt.ok)
		}
	}
}
