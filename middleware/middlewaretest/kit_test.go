package middlewaretest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// The middleware's documented defaults the kit's clock steps over.
const (
	defaultIdentityTTL   = 30 * time.Second // Config.Limits.IdentityTTL
	defaultSignInPerUser = 10               // SignInLimit.PerUser
	defaultSignInWindow  = time.Minute      // SignInLimit.Window
)

// kitApp is the app under test in these tests: /private names the user
// and the workspace; /qelos-me asks Qelos who the user is, through the
// request's Client.
func kitApp() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		name := ""
		if ws != nil {
			name = ws.Name
		}
		fmt.Fprintf(w, "%s in %q", u.Email, name)
	})))
	mux.HandleFunc("GET /qelos-me", qelosMe)
	return mux
}

// qelosMe answers the email Qelos's /api/me gives for the request's user.
func qelosMe(w http.ResponseWriter, r *http.Request) {
	c, ok := middleware.ClientFrom(r.Context())
	if !ok {
		http.Error(w, "no client", http.StatusUnauthorized)
		return
	}
	u, err := c.Me(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	fmt.Fprint(w, u.Email)
}

func serve(h http.Handler, r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestKitExpiredSessionRefreshes is the test a user writes for "an expired
// session refreshes": no sleep, the shared clock moves instead.
func TestKitExpiredSessionRefreshes(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := mw.Handler(kitApp())
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)

	res := serve(app, s.Request("GET", "/private", nil))
	if got := readAll(res); res.StatusCode != 200 || got != `admin@example.com in "Acme Team"` {
		t.Fatalf("before expiry: %d %s", res.StatusCode, got)
	}
	if len(res.Cookies()) != 0 {
		t.Fatalf("a fresh session was rewritten: %v", res.Cookies())
	}

	k.Expire()
	res = serve(app, s.Request("GET", "/private", nil))
	if got := readAll(res); res.StatusCode != 200 || got != `admin@example.com in "Acme Team"` {
		t.Fatalf("after expiry: %d %s", res.StatusCode, got)
	}
	if len(res.Cookies()) != 2 {
		t.Fatalf("no rotated pair after expiry: %v", res.Cookies())
	}
	if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

// fatalT records a Kit's refusal instead of ending the test.
type fatalT struct {
	testing.TB
	msg string
}

type fatal struct{}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatal{})
}

func refusal(t *testing.T, do func(*fatalT)) (msg string) {
	f := &fatalT{TB: t}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
			msg = f.msg
		}
	}()
	do(f)
	return ""
}

func TestKitRefusesWhatItCannotDo(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	tests := []struct {
		name string
		do   func(*fatalT)
		want string
	}{
		{"unknown user", func(f *fatalT) { middlewaretest.Start(f).SignIn(mw, "nobody@example.com", "") }, `unknown user "nobody@example.com"`},
		{"not a member", func(f *fatalT) {
			kf := middlewaretest.Start(f)
			kf.SignIn(kf.Middleware(middleware.Config{}), qelostest.UserEmail, qelostest.AcmeWorkspaceID)
		}, "is not a member"},
		{"a Config New refuses", func(f *fatalT) {
			middlewaretest.Start(f).Middleware(middleware.Config{Refresh: middleware.RefreshConfig{Margin: -1}})
		}, "Refresh.Margin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := refusal(t, tt.do); !strings.Contains(msg, tt.want) {
				t.Fatalf("refusal %q, want one containing %q", msg, tt.want)
			}
		})
	}
}

// TestKitClockDrivesMiddlewareWindows: the windows the middleware measures
// follow the kit's Clock, so a user's test moves them with Advance instead
// of sleeping: the identity cache of a bearer token (IdentityTTL) and the
// sign-in rate limit's window.
func TestKitClockDrivesMiddlewareWindows(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	mux := http.NewServeMux()
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("GET /private", middleware.RequireUser(middleware.WhoAmIHandler()))
	app := mw.Handler(mux)
	serve := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		return rec.Code
	}

	t.Run("identity cache", func(t *testing.T) {
		access, _, err := k.IssuePair(qelostest.AdminEmail, "")
		if err != nil {
			t.Fatal(err)
		}
		bearer := func() int {
			r := httptest.NewRequest("GET", "/private", nil)
			r.Header.Set("Authorization", "Bearer "+access)
			return serve(r)
		}
		k.ResetCalls()
		bearer()
		bearer()
		if n := k.Calls(qelostest.EndpointMe); n != 1 {
			t.Fatalf("%d /api/me calls within IdentityTTL, want 1", n)
		}
		k.Clock.Advance(defaultIdentityTTL)
		if bearer(); k.Calls(qelostest.EndpointMe) != 2 {
			t.Fatalf("%d /api/me calls after IdentityTTL, want 2", k.Calls(qelostest.EndpointMe))
		}
	})
	t.Run("sign-in rate limit", func(t *testing.T) {
		signIn := func(password string) int {
			r := httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"username":"`+qelostest.UserEmail+`","password":"`+password+`"}`))
			r.Header.Set("Content-Type", "application/json")
			return serve(r)
		}
		for range defaultSignInPerUser {
			signIn("wrong")
		}
		if code := signIn(qelostest.UserPassword); code != http.StatusTooManyRequests {
			t.Fatalf("over the limit: %d, want 429", code)
		}
		k.Clock.Advance(defaultSignInWindow)
		if code := signIn(qelostest.UserPassword); code != http.StatusOK {
			t.Fatalf("after the window: %d, want 200", code)
		}
	})
	t.Run("refresh failure window", func(t *testing.T) {
		// Qelos fails one refresh: the failure is shared for the failure
		// window (503, cookies kept, no second call), and once the kit's
		// clock has passed it the session refreshes. No sleeping.
		s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
		k.Expire()
		k.ResetCalls()
		k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: http.StatusInternalServerError, Body: `{"message":"boom"}`})
		if code := serve(s.Request("GET", "/private", nil)); code != http.StatusServiceUnavailable {
			t.Fatalf("refresh failing: %d, want 503", code)
		}
		k.ClearFaults()
		if code := serve(s.Request("GET", "/private", nil)); code != http.StatusServiceUnavailable {
			t.Fatalf("within the failure window: %d, want 503 (the failure shared)", code)
		}
		if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
			t.Fatalf("%d refresh calls within the failure window, want 1", n)
		}
		k.Clock.Advance(refresh.DefaultFailureWindow)
		if code := serve(s.Request("GET", "/private", nil)); code != http.StatusOK {
			t.Fatalf("after the failure window: %d, want 200", code)
		}
	})
}
