package qelosecho5

import (
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/middleware"
)

// New returns an echo middleware that runs mw around the next handler.
// Register it with Echo.Use (or on a group) before the routes it protects.
//
// Handlers after it see the request as mw left it: the [middleware.Auth] is
// in c.Request().Context(), and a refreshed cookie pair is already in the
// response headers, so it reaches the client whatever the handler writes,
// and also when it returns an error. Such an answer is made uncacheable
// (Cache-Control: private, no-store; Vary: Cookie) when its headers are
// written, whatever Cache-Control the handler set. When mw answers the request itself
// (401 or 503 with Config.RequireAuth), next is not called.
//
// echo v5 pools its [echo.Context]: New keeps c only for the duration of
// the request, as every echo handler must.
func New(mw *middleware.Middleware) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			r := c.Request()
			r2, ok := mw.Authenticate(c.Response(), r)
			if !ok {
				return nil // mw answered the request itself
			}
			c.SetRequest(r2)
			defer removeMultipart(r, r2)
			if len(c.Response().Header()["Set-Cookie"]) > 0 {
				// mw set or cleared a cookie: the answer stays uncacheable
				// whatever the handler sets (see middleware.NoStoreIfCookies).
				if resp, err := echo.UnwrapResponse(c.Response()); err == nil {
					guard := func() {
						if !resp.Committed {
							middleware.NoStoreIfCookies(resp.Header())
						}
					}
					resp.Before(guard)
					defer guard() // for an answer nobody wrote, which the server writes
				}
			}
			return next(c)
		}
	}
}

// removeMultipart removes the temporary files of a multipart form parsed on
// r2, the request mw passed on: net/http removes only those of r.
func removeMultipart(r, r2 *http.Request) {
	if f := r2.MultipartForm; r2 != r && f != nil && f != r.MultipartForm {
		f.RemoveAll()
	}
}

// Auth returns what the middleware learned about the request; see
// [middleware.FromContext].
func Auth(c *echo.Context) (*middleware.Auth, bool) {
	return middleware.FromContext(c.Request().Context())
}

// User returns the signed-in user, and false when there is none; see
// [middleware.UserFrom].
func User(c *echo.Context) (*middleware.User, bool) {
	return middleware.UserFrom(c.Request().Context())
}

// Workspace returns the request's active workspace, and false when there is
// none; see [middleware.WorkspaceFrom].
func Workspace(c *echo.Context) (*middleware.Workspace, bool) {
	return middleware.WorkspaceFrom(c.Request().Context())
}

// Client returns the client that calls Qelos as the request's user, and
// false for an anonymous request; see [middleware.ClientFrom].
func Client(c *echo.Context) (*middleware.Client, bool) {
	return middleware.ClientFrom(c.Request().Context())
}

// Require returns an echo middleware that lets through only the requests
// rule allows and answers the others with [middleware.Deny]'s answers: 401
// {"code":"UNAUTHORIZED"} when anonymous, 503 {"code":"QELOS_UNAVAILABLE"}
// when Qelos could not confirm the session, 403 when the user does not
// qualify. It must run after [New].
func Require(rule middleware.Rule) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if middleware.Deny(c.Response(), c.Request(), rule) {
				return nil
			}
			return next(c)
		}
	}
}

// RequireUser lets through signed-in requests only ([middleware.RequireUser]).
func RequireUser() echo.MiddlewareFunc { return Require(middleware.SignedIn()) }

// RequireRoles lets through users holding one of the tenant roles.
func RequireRoles(roles ...string) echo.MiddlewareFunc { return Require(middleware.HasRole(roles...)) }

// RequireWorkspaceRoles lets through users holding one of the roles in the
// active workspace.
func RequireWorkspaceRoles(roles ...string) echo.MiddlewareFunc {
	return Require(middleware.HasWorkspaceRole(roles...))
}

// RequirePrivileged lets through privileged users (Config.PrivilegedRoles).
func RequirePrivileged() echo.MiddlewareFunc { return Require(middleware.Privileged()) }

// RequireWorkspace lets through requests with an active workspace; others
// get 403 {"code":"NO_WORKSPACE"}.
func RequireWorkspace() echo.MiddlewareFunc { return Require(middleware.HasWorkspace()) }
