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
// route answer 401; the first such request of a guard is logged at Error,
// on slog.Default since no Middleware is reachable from it. A guard under
// a skipped prefix is logged once on the Middleware's Config.Logger.
func TestAGuardWithoutHandlerSaysSo(t *testing.T) {
	k := middlewaretest.Start(t)
	const fix = "wrap your router with mw.Handler"
	tests := []struct {
		name        string
		viaHandler  bool   // the guard is wrapped with mw.Handler
		path        string // "/theme" carries a cookie of the app's own
		signedIn    bool
		wantDefault string // in the one Error record on slog.Default; "" for none
		wantLogger  string // in the one Error record on Config.Logger; "" for none
	}{
		{"no Handler, a signed-in request", false, "/private", true, fix, ""},
		// Without a credential, a request no Handler saw looks like an
		// anonymous one Handler passed unmarked: 401, nothing logged.
		{"no Handler, an anonymous request", false, "/private", false, "", ""},
		{"no Handler, a request with another cookie", false, "/theme", false, "", ""},
		{"Handler, an anonymous request", true, "/private", false, "", ""},
		{"Handler, an anonymous request with another cookie", true, "/theme", false, "", ""},
		{"a guard under a skipped prefix", true, "/public/x", true, "", "Config.SkipPaths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var deflt, logger bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&deflt, nil)))
			t.Cleanup(func() { slog.SetDefault(prev) })
			mw := k.Middleware(middleware.Config{SkipPaths: []string{"/public/"}, Logger: slog.New(slog.NewTextHandler(&logger, nil))})
			s := k.SignIn(mw, qelostest.AdminEmail, "")
			var guarded http.Handler = middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			if tt.viaHandler {
				guarded = mw.Handler(guarded)
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
				guarded.ServeHTTP(rec, req)
				if rec.Code != 401 {
					t.Fatalf("status %d, want 401", rec.Code)
				}
			}
			for _, l := range []struct {
				name, got, want string
			}{{"slog.Default", deflt.String(), tt.wantDefault}, {"Config.Logger", logger.String(), tt.wantLogger}} {
				n := strings.Count(l.got, "level=ERROR")
				switch {
				case l.want == "" && n != 0:
					t.Fatalf("%s: logged %q, want nothing", l.name, l.got)
				case l.want != "" && (n != 1 || !strings.Contains(l.got, l.want)):
					t.Fatalf("%s: logged %q, want one Error record saying %q", l.name, l.got, l.want)
				}
			}
		})
	}
}

// TestTwoMiddlewaresShareNothing: a guard reaches the Middleware whose
// Handler saw the request, and only it: each answers with its own
// Config.ErrorHandler, and neither learns the other's cookies.
func TestTwoMiddlewaresShareNothing(t *testing.T) {
	k := middlewaretest.Start(t)
	answer := func(status int) func(http.ResponseWriter, *http.Request, error) {
		return func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(status) }
	}
	one := k.Middleware(middleware.Config{ErrorHandler: answer(451)})
	two := k.Middleware(middleware.Config{ErrorHandler: answer(452), Cookie: middleware.CookieConfig{AccessName: "b_access", RefreshName: "b_refresh"}})
	guard := middleware.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s := k.SignIn(one, qelostest.AdminEmail, "")
	for _, tt := range []struct {
		name string
		h    http.Handler
		want int
	}{
		{"one, signed in", one.Handler(guard), 200},
		{"two, with one's cookies", two.Handler(guard), 452},
		{"one, anonymous", one.Handler(guard), 451},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/private", nil)
		if tt.want == 200 || tt.want == 452 {
			req = s.Request("GET", "/private", nil)
		}
		tt.h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
}
