package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestRefreshMarginRule: a pair is refreshed at max(exp − RefreshMargin,
// exp − lifetime/2), as Config.Refresh.Margin documents.
func TestRefreshMarginRule(t *testing.T) {
	tests := []struct {
		name          string
		ttl, margin   time.Duration
		before, after time.Duration // clock advances just before and just after the refresh point
	}{
		{"a 2 s token refreshes halfway, not 10 s early", 2 * time.Second, 0, 900 * time.Millisecond, 1100 * time.Millisecond},
		{"a 60 s token refreshes 10 s early by default", time.Minute, 0, 49 * time.Second, 51 * time.Second},
		{"a 60 s token with a 40 s margin refreshes halfway", time.Minute, 40 * time.Second, 29 * time.Second, 31 * time.Second},
		{"a 60 s token with a 5 s margin", time.Minute, 5 * time.Second, 54 * time.Second, 56 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := middlewaretest.StartWith(t, qelostest.Options{AccessTTL: tt.ttl})
			// Tokens carry whole seconds: start on one so the points are exact.
			now := k.Clock.Now()
			k.Clock.Advance(now.Truncate(time.Second).Add(time.Second).Sub(now))
			mw := k.Middleware(middleware.Config{Refresh: middleware.RefreshConfig{Margin: tt.margin}})
			app := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			s := k.SignIn(mw, qelostest.AdminEmail, "")
			get := func() { app.ServeHTTP(httptest.NewRecorder(), s.Request("GET", "/", nil)) }

			k.Clock.Advance(tt.before)
			get()
			if n := k.Calls(qelostest.EndpointRefresh); n != 0 {
				t.Fatalf("refreshed %d times before the refresh point", n)
			}
			k.Clock.Advance(tt.after - tt.before)
			get()
			if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
				t.Fatalf("refreshed %d times after the refresh point, want 1", n)
			}
		})
	}
}

func TestNegativeRefreshMarginIsRefused(t *testing.T) {
	_, err := middleware.New(middleware.Config{AppURL: "https://q.example", CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()}, Refresh: middleware.RefreshConfig{Margin: -time.Second}})
	if err == nil || !strings.Contains(err.Error(), "Config.Refresh.Margin") {
		t.Fatalf("err %v, want one naming Config.Refresh.Margin", err)
	}
}
