package qelosgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/middleware"
)

// New returns a gin middleware that runs mw around the rest of the chain.
// Register it before the routes it protects, usually with Engine.Use.
//
// Handlers after it see the request as mw left it: the [middleware.Auth] is
// in c.Request.Context(), and a refreshed cookie pair is already in the
// response headers, so it reaches the client whatever the handler writes,
// and also when it aborts. Such an answer is made uncacheable
// (Cache-Control: private, no-store; Vary: Cookie) when its headers are
// written, whatever Cache-Control the handler set. When mw answers the request itself (401 or 503
// with Config.RequireAuth), the chain is aborted.
func New(mw *middleware.Middleware) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		r2, ok := mw.Authenticate(c.Writer, r)
		if !ok {
			c.Abort() // mw answered the request itself
			return
		}
		c.Request = r2
		if len(c.Writer.Header()["Set-Cookie"]) > 0 {
			// mw set or cleared a cookie: the answer stays uncacheable
			// whatever the handler sets (see middleware.NoStoreIfCookies).
			w := noStoreWriter{c.Writer}
			c.Writer = w
			defer w.check() // for an answer nobody wrote, which gin writes after the chain
		}
		c.Next()
		removeMultipart(r, r2)
	}
}

// noStoreWriter applies middleware.NoStoreIfCookies just before the
// headers are written.
type noStoreWriter struct{ gin.ResponseWriter }

func (w noStoreWriter) check() {
	if !w.Written() {
		middleware.NoStoreIfCookies(w.Header())
	}
}

func (w noStoreWriter) WriteHeaderNow() { w.check(); w.ResponseWriter.WriteHeaderNow() }

func (w noStoreWriter) Write(b []byte) (int, error) { w.check(); return w.ResponseWriter.Write(b) }

func (w noStoreWriter) WriteString(s string) (int, error) {
	w.check()
	return w.ResponseWriter.WriteString(s)
}

func (w noStoreWriter) Flush() { w.check(); w.ResponseWriter.Flush() }

// removeMultipart removes the temporary files of a multipart form parsed on
// r2, the request mw passed on: net/http removes only those of r.
func removeMultipart(r, r2 *http.Request) {
	if f := r2.MultipartForm; r2 != r && f != nil && f != r.MultipartForm {
		f.RemoveAll()
	}
}

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

// Require returns a gin middleware that lets through only the requests
// rule allows and aborts the others with [middleware.Deny]'s answers: 401
// {"code":"UNAUTHORIZED"} when anonymous, 503 {"code":"QELOS_UNAVAILABLE"}
// when Qelos could not confirm the session, 403 when the user does not
// qualify. It must run after [New].
func Require(rule middleware.Rule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if middleware.Deny(c.Writer, c.Request, rule) {
			c.Abort()
		}
	}
}

// RequireUser lets through signed-in requests only ([middleware.RequireUser]).
func RequireUser() gin.HandlerFunc { return Require(middleware.SignedIn()) }

// RequireRoles lets through users holding one of the tenant roles.
func RequireRoles(roles ...string) gin.HandlerFunc { return Require(middleware.HasRole(roles...)) }

// RequireWorkspaceRoles lets through users holding one of the roles in the
// active workspace.
func RequireWorkspaceRoles(roles ...string) gin.HandlerFunc {
	return Require(middleware.HasWorkspaceRole(roles...))
}

// RequirePrivileged lets through privileged users (Config.PrivilegedRoles).
func RequirePrivileged() gin.HandlerFunc { return Require(middleware.Privileged()) }

// RequireWorkspace lets through requests with an active workspace; others
// get 403 {"code":"NO_WORKSPACE"}.
func RequireWorkspace() gin.HandlerFunc { return Require(middleware.HasWorkspace()) }
