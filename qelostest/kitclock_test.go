package qelostest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// The middleware's documented defaults the kit's clock steps over.
const (
	defaultIdentityTTL   = 30 * time.Second // Config.Limits.IdentityTTL
	defaultSignInPerUser = 10               // SignInLimit.PerUser
	defaultSignInWindow  = time.Minute      // SignInLimit.Window
)

// TestKitClockDrivesMiddlewareWindows: the windows the middleware measures
// follow the kit's Clock, so a user's test moves them with Advance instead
// of sleeping: the identity cache of a bearer token (IdentityTTL) and the
// sign-in rate limit's window.
func TestKitClockDrivesMiddlewareWindows(t *testing.T) {
	k := qelostest.Start(t)
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
