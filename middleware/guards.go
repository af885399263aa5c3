package middleware

import (
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"

	qelos "github.com/qelos-io/integrator-go"
)

// A Rule is what a guard asks of a request: a signed-in user, and maybe a
// role or an active workspace. Build one with SignedIn, HasRole,
// HasWorkspaceRole, Privileged or HasWorkspace, and apply it with Require
// (net/http) or an adapter's Require (gin, echo).
type Rule struct {
	allow  func(*Auth) bool
	code   string       // the code of the 403 answer when a signed-in user fails it
	warned *atomic.Bool // the rule has logged a request no Handler saw
}

// newRule returns the rule allow, refused with a 403 of code.
func newRule(code string, allow func(*Auth) bool) Rule {
	return Rule{allow: allow, code: code, warned: new(atomic.Bool)}
}

// SignedIn asks only for a signed-in user.
func SignedIn() Rule { return newRule(qelos.CodeForbidden, func(*Auth) bool { return true }) }

// HasRole asks for a user holding at least one of the tenant roles.
func HasRole(roles ...string) Rule {
	return newRule(qelos.CodeForbidden, func(a *Auth) bool { return anyRole(a.User.HasRole, roles) })
}

// HasWorkspaceRole asks for a user holding at least one of the roles in the
// request's active workspace (so an active workspace too).
func HasWorkspaceRole(roles ...string) Rule {
	return newRule(qelos.CodeForbidden, func(a *Auth) bool { return a.Workspace != nil && anyRole(a.Workspace.HasRole, roles) })
}

// Privileged asks for a privileged user: one holding a tenant role (the
// user's own roles, User.Roles) of Config.PrivilegedRoles (default
// "admin"), the rule of Qelos's isPrivileged (its PRIVILEGED_ROLES), which
// lets a user manage every workspace and user of the tenant. It is not
// about the active workspace: for Qelos's isPrivilegedUser of a workspace
// (the user's roles there hold "admin"), see Workspace.Privileged and
// HasWorkspaceRole(qelos.WorkspaceAdminRole).
func Privileged() Rule {
	return newRule(qelos.CodeForbidden, func(a *Auth) bool { return a.Privileged })
}

// HasWorkspace asks for an active workspace; its refusal's code is
// NO_WORKSPACE, so a front end can ask the user to pick one.
func HasWorkspace() Rule {
	return newRule(qelos.CodeNoWorkspace, func(a *Auth) bool { return a.Workspace != nil })
}

// Deny answers a request that rule refuses, and reports whether it did:
// 401 {"code":"UNAUTHORIZED"} when it is anonymous, 503
// {"code":"QELOS_UNAVAILABLE"} when Qelos could not be reached to confirm
// its session (whose cookies are kept) or to resolve its workspace, and 403
// with the rule's code when the signed-in user does not qualify — through
// the Config.ErrorHandler of the Middleware whose Handler saw the request.
// It writes nothing and reports false for a request the rule allows.
// Adapters build their guards on it.
//
// Handler marks every request that carries a credential (an x-api-key or
// Authorization header, a cookie of the pair, a Qelos session cookie it
// passes through) with a value in its context, even when it ends
// anonymous or lies on a SkipPaths prefix; with a Config.ErrorHandler it
// marks every request, so the guards answer through it. A request that
// carries a credential but no mark never went through Handler: the router
// is not wrapped with Middleware.Handler (or an adapter's New), and every
// guarded route answers 401. Deny answers it 401 with qelos.WriteError and
// logs the misconfiguration at Error level, naming the fix, once per Rule
// value (a guard built once logs once). No Middleware is reachable from
// such a request, so that record goes to slog.Default; a credential is
// recognised there by its header, by a cookie of the default pair names
// (with or without the __Host- prefix) or by Qelos's qlt_ cookie. A guard
// on a SkipPaths prefix, where Handler attaches no user, is logged once per
// Middleware on its Config.Logger.
func Deny(w http.ResponseWriter, r *http.Request, rule Rule) bool {
	a := rawFrom(r.Context())
	switch {
	case a == nil && carriesCredential(r):
		if rule.warned == nil || rule.warned.CompareAndSwap(false, true) {
			slog.Default().Error("qelos guard: the request never went through the middleware, so every guarded route answers 401: wrap your router with mw.Handler(router) (gin: r.Use(qelosgin.New(mw)); echo: e.Use(qelosecho.New(mw)))",
				"method", r.Method, "path", r.URL.Path)
		}
	case a == nil:
		// anonymous, and Handler had no reason to mark it
	case a.skipped:
		a.mw.skippedGuard.Do(func() {
			a.mw.log.Error("qelos guard: a guarded route is under a Config.SkipPaths prefix, where Handler attaches no user, so it always answers 401: remove the prefix from SkipPaths or the guard from the route",
				"method", r.Method, "path", r.URL.Path)
		})
	case a.User != nil && rule.allow(a):
		return false
	}
	var m *Middleware // its Config.ErrorHandler answers, when Handler saw the request
	if a != nil {
		m = a.mw
	}
	switch {
	case a != nil && a.Err != nil:
		m.fail(w, r, unavailableError(a.Err))
	case a != nil && a.User != nil:
		m.fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: rule.code})
	default:
		m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
	}
	return true
}

// Require returns middleware that lets through only requests rule allows;
// Deny answers the others. It has the standard shape, for chi's r.With and
// r.Use, alice, or plain wrapping:
//
//	mux.Handle("GET /admin", middleware.Require(middleware.HasRole("admin"))(admin))
//	r.With(middleware.Require(middleware.HasWorkspace())).Get("/reports", reports) // chi
func Require(rule Rule) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !Deny(w, r, rule) {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// RequireUser wraps h so that only signed-in requests reach it. Anonymous
// requests get 401 {"code":"UNAUTHORIZED"}; requests whose session could not
// be confirmed because Qelos was unavailable get 503
// {"code":"QELOS_UNAVAILABLE"}, with their cookies untouched.
func RequireUser(h http.Handler) http.Handler { return Require(SignedIn())(h) }

func anyRole(has func(string) bool, roles []string) bool {
	for _, r := range roles {
		if has(r) {
			return true
		}
	}
	return false
}

// carriesCredential reports whether r, which no Handler marked, carries
// something a Handler would have looked at: see Deny.
func carriesCredential(r *http.Request) bool {
	if len(r.Header["X-Api-Key"]) > 0 || len(r.Header["Authorization"]) > 0 {
		return true
	}
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, _, _ := strings.Cut(textproto.TrimString(part), "=")
			name = strings.TrimPrefix(name, hostPrefix)
			if name == defaultAccessCookieName || name == defaultRefreshCookieName || strings.HasPrefix(name, "qlt_") {
				return true
			}
		}
	}
	return false
}
