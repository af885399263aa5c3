package middleware

import "net/http"

// A WorkspaceResolver chooses the active workspace of a signed-in request,
// for example by subdomain ("acme.app.example" → the workspace named
// acme) or by a path segment. u is the signed-in user, with u.Workspace the
// one recorded in the session. c calls Qelos as that user: c.Workspaces
// lists the user's memberships with the roles they hold in each (cached
// for Config.IdentityTTL, so calling it on every request is cheap), which
// is how a resolver checks that the user belongs to the workspace it
// picks and learns the roles that HasWorkspaceRole reads. c is nil only
// for an Auth built by hand, without a Middleware.
//
// Return nil, nil for no active workspace (a user who is not a member of
// the requested one: guards that need a workspace then answer 403
// NO_WORKSPACE). Return an error when the choice could not be made
// (c.Workspaces failed because Qelos is unavailable): the request goes on
// with no workspace and Auth.Err set, and guards answer 503 instead of
// 403.
type WorkspaceResolver func(r *http.Request, u *User, c *Client) (*Workspace, error)

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
// request of its session) with the workspace resolve chose.
func (a *Auth) withResolvedWorkspace(r *http.Request, resolve WorkspaceResolver) *Auth {
	var c *Client
	if a.mw != nil {
		c = &Client{mw: a.mw, auth: a}
	}
	ws, err := resolve(r, a.User, c)
	cp := *a
	cp.Workspace = ws
	if err != nil {
		cp.Workspace, cp.Err = nil, err
	}
	return &cp
}
