package qelosgin

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
)

// New returns a gin middleware that runs mw around the rest of the chain:
// [middleware.Middleware.Authenticate], the work mw.Handler does on each
// request, then the chain. Register it before the routes it protects,
// usually with Engine.Use.
//
// Handlers after it see the request as mw passes it on: the
// [middleware.Auth] is in c.Request.Context(), and a refreshed cookie pair
// is already in the response headers, so it reaches the client whatever the
// handler writes, and also when it aborts. Such an answer is made
// uncacheable (Cache-Control: private, no-store; Vary: Cookie) when its
// headers are written, whatever Cache-Control the handler set. When mw
// answers the request itself (401 or 503 with Config.RequireAuth), the
// chain is aborted. A multipart form parsed on the request the chain ends
// with is removed when the chain returns, also after a panic, as
// mw.Handler does: net/http removes only the files of the request it made.
func New(mw *middleware.Middleware) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, ok := c.Request, false
		if c.Request, ok = mw.Authenticate(c.Writer, r); !ok {
			c.Abort() // mw answered the request itself: c.Next below runs no handler
		}
		defer func() {
			if f := c.Request.MultipartForm; f != nil && f != r.MultipartForm {
				f.RemoveAll()
			}
		}()
		if w := (noStoreWriter{c.Writer}); len(w.Header()["Set-Cookie"]) > 0 {
			// mw set or cleared a cookie: the answer stays uncacheable
			// whatever the handler sets (see middleware.NoStoreIfCookies).
			c.Writer = w
			defer w.check() // for an answer nobody wrote, which gin writes after the chain
		}
		c.Next()
	}
}

// noStoreWriter applies middleware.NoStoreIfCookies just before the
// headers are written: gin has no before-write hook of its own.
type noStoreWriter struct{ gin.ResponseWriter }

// check applies middleware.NoStoreIfCookies and returns the writer w
// wraps. Headers changed after they are written are not sent, so the calls
// that come later need no guard.
func (w noStoreWriter) check() gin.ResponseWriter {
	middleware.NoStoreIfCookies(w.Header())
	return w.ResponseWriter
}

func (w noStoreWriter) WriteHeaderNow() { w.check().WriteHeaderNow() }

func (w noStoreWriter) Write(b []byte) (int, error) { return w.check().Write(b) }

func (w noStoreWriter) WriteString(s string) (int, error) { return w.check().WriteString(s) }

func (w noStoreWriter) Flush() { w.check().Flush() }

// Require returns a gin middleware that lets through only the requests
// rule allows and aborts the others with [middleware.Deny]'s answers: 401
// {"code":"UNAUTHORIZED"} when anonymous, 503 {"code":"QELOS_UNAVAILABLE"}
// when Qelos could not confirm the session, 403 when the user does not
// qualify. It must run after [New]:
//
//	r.GET("/private", qelosgin.Require(middleware.SignedIn()), private)
//	r.GET("/admin", qelosgin.Require(middleware.HasRole("admin")), admin)
func Require(rule middleware.Rule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if middleware.Deny(c.Writer, c.Request, rule) {
			c.Abort()
		}
	}
}

// Auth returns what the middleware learned about the request; see
// [middleware.FromContext].
func Auth(c *gin.Context) (*middleware.Auth, bool) { return middleware.FromContext(rc(c)) }

// User returns the signed-in user, and false when there is none; see
// [middleware.UserFrom].
func User(c *gin.Context) (*middleware.User, bool) { return middleware.UserFrom(rc(c)) }

// Workspace returns the request's active workspace, and false when there is
// none; see [middleware.WorkspaceFrom].
func Workspace(c *gin.Context) (*middleware.Workspace, bool) { return middleware.WorkspaceFrom(rc(c)) }

// Client returns the client that calls Qelos as the request's user, and
// false for an anonymous request; see [middleware.ClientFrom].
func Client(c *gin.Context) (*qelosapi.Client, bool) { return middleware.ClientFrom(rc(c)) }

// rc is the context of c's request, where [New] puts the Auth.
func rc(c *gin.Context) context.Context { return c.Request.Context() }

// WorkspaceResolver chooses the active workspace of a signed-in request
// from the gin context, such as a route parameter (c.Param). It follows
// [middleware.WorkspaceResolver]'s contract: check membership with
// cl.Workspaces, return nil, nil for none and an error when the choice
// could not be made.
type WorkspaceResolver func(c *gin.Context, u *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error)

// SelectWorkspace returns a gin middleware that applies resolve to each
// signed-in request, replacing the active workspace [New] chose:
// [middleware.SelectWorkspace], whose request becomes c.Request for the
// rest of the chain. Register it on the routes whose parameters name the
// workspace, after New:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspace(byParam), qelosgin.Require(middleware.HasWorkspace()), reports)
//
// Anonymous requests pass through unchanged. For the common case, a
// route parameter holding the workspace id, use [SelectWorkspaceParam].
func SelectWorkspace(resolve WorkspaceResolver) gin.HandlerFunc {
	return func(c *gin.Context) {
		byContext := func(_ *http.Request, u *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error) {
			return resolve(c, u, cl)
		}
		middleware.SelectWorkspace(byContext)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { c.Request = r })).ServeHTTP(c.Writer, c.Request)
	}
}

// SelectWorkspaceParam is SelectWorkspace choosing the workspace whose id
// is the route parameter name (c.Param(name)), when the user belongs to
// it, with the roles the user holds there ([qelosapi.Client.Membership]);
// none otherwise, so Require(middleware.HasWorkspace()) answers 403
// NO_WORKSPACE:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspaceParam("workspace"), qelosgin.Require(middleware.HasWorkspace()), reports)
func SelectWorkspaceParam(name string) gin.HandlerFunc {
	return SelectWorkspace(func(c *gin.Context, _ *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error) {
		return cl.Membership(rc(c), c.Param(name))
	})
}
