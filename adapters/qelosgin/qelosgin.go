package qelosgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/middleware"
)

// New returns a gin middleware that runs mw around the rest of the chain:
// [middleware.Middleware.Handler] itself, with the chain as its next
// handler. Register it before the routes it protects, usually with
// Engine.Use.
//
// Handlers after it see the request as mw.Handler passes it on: the
// [middleware.Auth] is in c.Request.Context(), and a refreshed cookie pair
// is already in the response headers, so it reaches the client whatever the
// handler writes, and also when it aborts. Such an answer is made
// uncacheable (Cache-Control: private, no-store; Vary: Cookie) when its
// headers are written, whatever Cache-Control the handler set. When mw
// answers the request itself (401 or 503 with Config.RequireAuth), the
// chain is aborted.
func New(mw *middleware.Middleware) gin.HandlerFunc { return wrap(mw.Handler) }

// Require returns a gin middleware that lets through only the requests
// rule allows, [middleware.Require] around the rest of the chain: the
// others are aborted with [middleware.Deny]'s answers, 401
// {"code":"UNAUTHORIZED"} when anonymous, 503 {"code":"QELOS_UNAVAILABLE"}
// when Qelos could not confirm the session, 403 when the user does not
// qualify. It must run after [New]:
//
//	r.GET("/private", qelosgin.Require(middleware.SignedIn()), private)
//	r.GET("/admin", qelosgin.Require(middleware.HasRole("admin")), admin)
func Require(rule middleware.Rule) gin.HandlerFunc { return wrap(middleware.Require(rule)) }

// wrap turns net/http middleware m into gin middleware: the rest of c's
// chain runs as m's next handler, on the request m passes on, and is
// aborted when m answers the request itself. When m's next handler is
// called with a Set-Cookie already in the headers, c.Writer keeps the
// answer uncacheable (see [middleware.NoStoreIfCookies]); m applies it too
// when its next handler returns, to an answer nobody wrote, which gin
// writes after the chain.
func wrap(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed, c.Request = true, r
			if _, guarded := c.Writer.(noStoreWriter); !guarded && len(w.Header()["Set-Cookie"]) > 0 {
				c.Writer = noStoreWriter{c.Writer}
			}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// noStoreWriter applies middleware.NoStoreIfCookies just before the
// headers are written: gin writes them through its own writer, not the one
// mw.Handler passes on.
type noStoreWriter struct{ gin.ResponseWriter }

// check applies middleware.NoStoreIfCookies unless the headers are
// written already, and returns the writer w wraps.
func (w noStoreWriter) check() gin.ResponseWriter {
	if !w.Written() {
		middleware.NoStoreIfCookies(w.Header())
	}
	return w.ResponseWriter
}

func (w noStoreWriter) WriteHeaderNow() { w.check().WriteHeaderNow() }

func (w noStoreWriter) Write(b []byte) (int, error) { return w.check().Write(b) }

func (w noStoreWriter) WriteString(s string) (int, error) { return w.check().WriteString(s) }

func (w noStoreWriter) Flush() { w.check().Flush() }

// Auth returns what the middleware learned about the request; see
// [middleware.FromContext].
func Auth(c *gin.Context) (*middleware.Auth, bool) {
	return middleware.FromContext(c.Request.Context())
}

// User returns the signed-in user, and false when there is none; see
// [middleware.UserFrom].
func User(c *gin.Context) (*middleware.User, bool) {
	return middleware.UserFrom(c.Request.Context())
}

// Workspace returns the request's active workspace, and false when there is
// none; see [middleware.WorkspaceFrom].
func Workspace(c *gin.Context) (*middleware.Workspace, bool) {
	return middleware.WorkspaceFrom(c.Request.Context())
}

// Client returns the client that calls Qelos as the request's user, and
// false for an anonymous request; see [middleware.ClientFrom].
func Client(c *gin.Context) (*middleware.Client, bool) {
	return middleware.ClientFrom(c.Request.Context())
}

// WorkspaceResolver chooses the active workspace of a signed-in request
// from the gin context, such as a route parameter (c.Param). It follows
// [middleware.WorkspaceResolver]'s contract: check membership with
// cl.Workspaces, return nil, nil for none and an error when the choice
// could not be made.
type WorkspaceResolver func(c *gin.Context, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error)

// SelectWorkspace returns a gin middleware that applies resolve to each
// signed-in request, replacing the active workspace [New] chose:
// [middleware.SelectWorkspace] around the rest of the chain. Register it on
// the routes whose parameters name the workspace, after New:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspace(byParam), qelosgin.Require(middleware.HasWorkspace()), reports)
//
// Anonymous requests pass through unchanged. For the common case, a
// route parameter holding the workspace id, use [SelectWorkspaceParam].
func SelectWorkspace(resolve WorkspaceResolver) gin.HandlerFunc {
	return func(c *gin.Context) {
		wrap(middleware.SelectWorkspace(func(_ *http.Request, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
			return resolve(c, u, cl)
		}))(c)
	}
}

// SelectWorkspaceParam is SelectWorkspace choosing the workspace whose id
// is the route parameter name (c.Param(name)), when the user belongs to
// it, with the roles the user holds there ([middleware.Client.Membership]);
// none otherwise, so Require(middleware.HasWorkspace()) answers 403
// NO_WORKSPACE:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspaceParam("workspace"), qelosgin.Require(middleware.HasWorkspace()), reports)
func SelectWorkspaceParam(name string) gin.HandlerFunc {
	return SelectWorkspace(func(c *gin.Context, _ *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
		return cl.Membership(c.Request.Context(), c.Param(name))
	})
}
