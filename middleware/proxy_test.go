package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestProxyWhereverItIsMounted: the proxy serves the pair's user behind
// Handler (using the Auth Handler found: one refresh, not two), on its
// own, and under a skipped prefix; and an app's own /api/ route behind a
// guard gets its user, the proxy mounted or not.
func TestProxyWhereverItIsMounted(t *testing.T) {
	own := middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, `{"orders":[],"email":%q}`, u.Email)
	}))
	tests := []struct {
		name  string
		skip  []string
		build func(mw *middleware.Middleware) http.Handler
	}{
		{"behind Handler", nil, func(mw *middleware.Middleware) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/api/", mw.Proxy())
			mux.Handle("GET /api/orders", own)
			return mw.Handler(mux)
		}},
		{"on its own, beside Handler", nil, func(mw *middleware.Middleware) http.Handler {
			app := http.NewServeMux()
			app.Handle("GET /api/orders", own)
			outer := http.NewServeMux()
			outer.Handle("/api/", mw.Proxy())
			outer.Handle("/api/orders", mw.Handler(app))
			return outer
		}},
		{"under a skipped prefix", []string{"/api/"}, func(mw *middleware.Middleware) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/api/", mw.Proxy())
			return mw.Handler(mux)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := middlewaretest.Start(t)
			mw := k.Middleware(middleware.Config{SkipPaths: tt.skip})
			app := tt.build(mw)
			s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
			get := func(sess *middlewaretest.Session, path string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", path, nil)
				if sess != nil {
					req = sess.Request("GET", path, nil)
				}
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, req)
				return rec
			}
			email := func(rec *httptest.ResponseRecorder) string {
				var v struct{ Email string }
				_ = json.Unmarshal(rec.Body.Bytes(), &v)
				return v.Email
			}

			if rec := get(s, "/api/me"); rec.Code != 200 || email(rec) != qelostest.AdminEmail {
				t.Fatalf("GET /api/me with the pair: %d %s", rec.Code, rec.Body)
			}
			if rec := get(nil, "/api/me"); rec.Code != 401 {
				t.Fatalf("anonymous GET /api/me: %d, want Qelos's 401", rec.Code)
			}
			k.Expire()
			rec := get(s, "/api/me")
			if rec.Code != 200 || email(rec) != qelostest.AdminEmail || len(rec.Result().Cookies()) != 2 {
				t.Fatalf("GET /api/me with an expired pair: %d %s %v", rec.Code, rec.Body, rec.Result().Cookies())
			}
			if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
			if tt.skip == nil {
				if rec := get(k.SignIn(mw, qelostest.AdminEmail, ""), "/api/orders"); rec.Code != 200 || email(rec) != qelostest.AdminEmail {
					t.Fatalf("the app's own GET /api/orders: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
