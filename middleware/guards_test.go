package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// chain composes standard-shape middleware the way alice and chi's r.With
// do: the first wraps the outermost.
func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

func TestRequireHasTheStandardShape(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("/admin", chain(ok, middleware.Require(middleware.SignedIn()), middleware.Require(middleware.HasRole("admin"))))
	mux.Handle("/workspace", chain(ok, middleware.Require(middleware.HasWorkspace())))
	mux.Handle("/acme-admin", chain(ok, middleware.Require(middleware.HasWorkspaceRole("admin"))))
	app := mw.Handler(mux)

	admin := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	adminInBeta := k.SignIn(mw, qelostest.AdminEmail, qelostest.BetaWorkspaceID)
	user := k.SignIn(mw, qelostest.UserEmail, "")
	tests := []struct {
		name    string
		session *middlewaretest.Session
		path    string
		status  int
		code    string
	}{
		{"anonymous is refused 401", nil, "/admin", 401, "UNAUTHORIZED"},
		{"a user without the role is refused 403", user, "/admin", 403, "FORBIDDEN"},
		{"an admin passes both guards", admin, "/admin", 204, ""},
		{"no workspace is refused with NO_WORKSPACE", user, "/workspace", 403, "NO_WORKSPACE"},
		{"a workspace passes", adminInBeta, "/workspace", 204, ""},
		{"a workspace role is read from the active workspace", adminInBeta, "/acme-admin", 403, "FORBIDDEN"},
		{"the workspace role held passes", admin, "/acme-admin", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.session != nil {
				req = tt.session.Request("GET", tt.path, nil)
			}
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.code) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.code)
			}
		})
	}
}

// TestAGuardWithoutHandlerSaysSo: forgetting mw.Handler makes every guarded
// route answer 401; the first such request is logged at Error, once.
func TestAGuardWithoutHandlerSaysSo(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{SkipPaths: []string{"/public/"}})
	guarded := middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s := k.SignIn(mw, qelostest.AdminEmail, "")

	tests := []struct {
		name      string
		handler   http.Handler
		path      string
		signedIn  bool
		noHandler bool   // no Handler has served a request in the process yet
		want      string // in the one Error record; "" for none
	}{
		{"no Handler, a signed-in request", guarded, "/private", true, false, "wrap your router with mw.Handler"},
		{"no Handler in the process, an anonymous request", guarded, "/private", false, true, "wrap your router with mw.Handler"},
		{"Handler, an anonymous request", mw.Handler(guarded), "/private", false, false, ""},
		{"Handler, an anonymous request in a fresh process", mw.Handler(guarded), "/private", false, true, ""},
		{"Handler, an anonymous request with another cookie", mw.Handler(guarded), "/theme", false, false, ""},
		{"no Handler, a request with another cookie", guarded, "/theme", false, false, ""},
		{"a guard under a skipped prefix", mw.Handler(guarded), "/public/x", true, false, "Config.SkipPaths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			t.Cleanup(func() { slog.SetDefault(prev) })
			middleware.ResetGuardWarnings()
			mw.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if tt.noHandler {
				middleware.ForgetHandlers()
			}

			for range 3 {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", tt.path, nil)
				if tt.signedIn {
					req = s.Request("GET", tt.path, nil) // signed in, yet refused
				}
				if tt.path == "/theme" {
					req.Header.Set("Cookie", "theme=dark")
				}
				tt.handler.ServeHTTP(rec, req)
				if rec.Code != 401 {
					t.Fatalf("status %d, want 401", rec.Code)
				}
			}
			n := strings.Count(logs.String(), "level=ERROR")
			switch {
			case tt.want == "" && n != 0:
				t.Fatalf("logged %q, want nothing", logs.String())
			case tt.want != "" && (n != 1 || !strings.Contains(logs.String(), tt.want)):
				t.Fatalf("logged %q, want one Error record saying %q", logs.String(), tt.want)
			}
		})
	}
}
