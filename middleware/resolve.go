package middleware

import (
	"net/http"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/qelosapi"
)

// A WorkspaceResolver chooses the active workspace of a signed-in request,
// for example by subdomain ("acme.app.example" → the workspace named
// acme) or by a path segment. u is the signed-in user, with u.Workspace the
// one recorded in the session. c calls Qelos as that user: c.Workspaces
// lists the user's memberships with the roles they hold in each (cached
// for Config.Limits.IdentityTTL, so calling it on every request is cheap), which
// is how a resolver checks that the user belongs to the workspace it
// picks and learns the roles that HasWorkspaceRole reads. c is nil only
// for an Auth built by hand, without a Middleware.
//
// The resolver can tell what kind of credential it serves: the request's
// Auth is in r's context ([FromContext]), with its Mode and, for an API key
// created for one workspace, its Scope. A scoped key is locked to its
// workspace: whatever the resolver returns, such a request's active
// workspace is its Scope or none — a choice of another workspace makes it
// none (guards answer 403 NO_WORKSPACE), and the same workspace keeps the
// one Qelos vouched for. The resolver can narrow a scoped key, never move
// it. Return nil early for a scoped key you do not want to serve here:
//
//	if a, ok := middleware.FromContext(r.Context()); ok && a.Scope() != nil && a.Scope().ID != wanted {
//		return nil, nil
//	}
//
// Return nil, nil for no active workspace (a user who is not a member of
// the requested one: guards that need a workspace then answer 403
// NO_WORKSPACE). Return an error when the choice could not be made
// (c.Workspaces failed because Qelos is unavailable): the request goes on
// with no workspace and Auth.Err set, and guards answer 503 instead of
// 403.
type WorkspaceResolver func(r *http.Request, u *User, c *qelosapi.Client) (*Workspace, error)

// SelectWorkspace returns route middleware that applies resolve to each
// signed-in request, replacing the active workspace Handler chose. Mount
// it inside your router, where route parameters are known, which
// Config.ResolveWorkspace (run by Handler, before routing) cannot read:
//
//	mux.Handle("GET /w/{workspace}/reports", middleware.SelectWorkspace(byPath)(
//		middleware.Require(middleware.HasWorkspace())(reports)))
//
// Anonymous requests pass through unchanged.
func SelectWorkspace(resolve WorkspaceResolver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a, ok := FromContext(r.Context())
			if !ok || a.User == nil {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), a.withResolvedWorkspace(r, resolve))))
		})
	}
}

// withResolvedWorkspace returns a copy of a (which may be shared by every
// request of its session) with the workspace resolve chose, which for a
// scoped credential is its Scope or none. resolve finds a in r's context.
func (a *Auth) withResolvedWorkspace(r *http.Request, resolve WorkspaceResolver) *Auth {
	var c *qelosapi.Client
	if a.mw != nil {
		c = a.mw.clientFor(a)
	}
	if cur, _ := r.Context().Value(contextKey{}).(*Auth); cur != a {
		r = r.WithContext(NewContext(r.Context(), a))
	}
	ws, err := resolve(r, a.User, c)
	cp := *a
	cp.Workspace = ws
	if scope := a.Scope(); scope != nil && ws != nil {
		cp.Workspace = nil // another workspace than the key's: none
		if ws.ID == scope.ID {
			cp.Workspace = scope
		}
	}
	if err != nil {
		cp.Workspace, cp.Err = nil, err
	}
	return &cp
}

// Scope returns the workspace the request's credential is locked to, or
// nil when it is not locked to one: an API key created for one workspace
// (POST /api/me/api-tokens with a "workspace"), which Qelos then answers
// with that workspace on GET /api/me, while an unscoped key has none.
// Qelos itself serves a scoped key in that workspace only; neither
// Config.ResolveWorkspace nor SelectWorkspace can move its requests to
// another (see WorkspaceResolver). Cookie pairs, bearer tokens and Qelos
// session cookies carry the workspace of their session, which the app may
// choose per request: their Scope is nil.
func (a *Auth) Scope() *Workspace {
	if a == nil || a.Mode != qelos.ModeAPIToken || a.User == nil {
		return nil
	}
	return a.User.Workspace
}
