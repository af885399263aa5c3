package qelosecho5

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
)

// New returns an echo middleware that runs mw around the next handler:
// [middleware.Middleware.Authenticate], the work mw.Handler does on each
// request, then next. Register it with Echo.Use (or on a group) before the
// routes it protects.
//
// Handlers after it see the request as mw passes it on: the
// [middleware.Auth] is in c.Request().Context(), and a refreshed cookie
// pair is already in the response headers, so it reaches the client
// whatever the handler writes, and also when it returns an error. Such an
// answer is made uncacheable (Cache-Control: private, no-store; Vary:
// Cookie) when its headers are written, whatever Cache-Control the handler
// set. When mw answers the request itself (401 or 503 with
// Config.RequireAuth), next is not called. A multipart form parsed on the
// request the chain ends with is removed when next returns, also after a
// panic, as mw.Handler does: net/http removes only the files of the
// request it made.
//
// echo v5 pools its [echo.Context]: New keeps c only for the duration of
// the request, as every echo handler must.
func New(mw *middleware.Middleware) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			r := c.Request()
			r2, ok := mw.Authenticate(c.Response(), r)
			if c.SetRequest(r2); !ok {
				return nil // mw answered the request itself
			}
			defer func() {
				if f := c.Request().MultipartForm; f != nil && f != r.MultipartForm {
					f.RemoveAll()
				}
			}()
			if resp, err := echo.UnwrapResponse(c.Response()); err == nil && len(resp.Header()["Set-Cookie"]) > 0 {
				// mw set or cleared a cookie: the answer stays uncacheable
				// whatever the handler sets (see middleware.NoStoreIfCookies).
				// Headers changed after they are written are not sent, so
				// the deferred call needs no guard.
				noStore := func() { middleware.NoStoreIfCookies(resp.Header()) }
				resp.Before(noStore)
				defer noStore() // for an answer nobody wrote, which the server writes
			}
			return next(c)
		}
	}
}

// Require returns an echo middleware that lets through only the requests
// rule allows and answers the others with [middleware.Deny]'s answers: 401
// {"code":"UNAUTHORIZED"} when anonymous, 503 {"code":"QELOS_UNAVAILABLE"}
// when Qelos could not confirm the session, 403 when the user does not
// qualify. It must run after [New]:
//
//	e.GET("/private", private, qelosecho5.Require(middleware.SignedIn()))
//	e.GET("/admin", admin, qelosecho5.Require(middleware.HasRole("admin")))
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

// Auth returns what the middleware learned about the request; see
// [middleware.FromContext].
func Auth(c *echo.Context) (*middleware.Auth, bool) { return middleware.FromContext(rc(c)) }

// User returns the signed-in user, and false when there is none; see
// [middleware.UserFrom].
func User(c *echo.Context) (*middleware.User, bool) { return middleware.UserFrom(rc(c)) }

// Workspace returns the request's active workspace, and false when there is
// none; see [middleware.WorkspaceFrom].
func Workspace(c *echo.Context) (*middleware.Workspace, bool) { return middleware.WorkspaceFrom(rc(c)) }

// Client returns the client that calls Qelos as the request's user, and
// false for an anonymous request; see [middleware.ClientFrom].
func Client(c *echo.Context) (*qelosapi.Client, bool) { return middleware.ClientFrom(rc(c)) }

// rc is the context of c's request, where [New] puts the Auth.
func rc(c *echo.Context) context.Context { return c.Request().Context() }

// WorkspaceResolver chooses the active workspace of a signed-in request
// from the echo context, such as a route parameter (c.Param). It follows
// [middleware.WorkspaceResolver]'s contract: check membership with
// cl.Workspaces, return nil, nil for none and an error when the choice
// could not be made.
type WorkspaceResolver func(c *echo.Context, u *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error)

// SelectWorkspace returns an echo middleware that applies resolve to each
// signed-in request, replacing the active workspace [New] chose:
// [middleware.SelectWorkspace] through echo.WrapMiddleware. Register it on
// the routes whose parameters name the workspace, after New:
//
//	e.GET("/w/:workspace/reports", reports, qelosecho5.SelectWorkspace(byParam), qelosecho5.Require(middleware.HasWorkspace()))
//
// Anonymous requests pass through unchanged. For the common case, a
// route parameter holding the workspace id, use [SelectWorkspaceParam].
func SelectWorkspace(resolve WorkspaceResolver) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			return echo.WrapMiddleware(middleware.SelectWorkspace(func(_ *http.Request, u *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error) {
				return resolve(c, u, cl)
			}))(next)(c)
		}
	}
}

// SelectWorkspaceParam is SelectWorkspace choosing the workspace whose id
// is the route parameter name (c.Param(name)), when the user belongs to
// it, with the roles the user holds there ([qelosapi.Client.Membership]);
// none otherwise, so Require(middleware.HasWorkspace()) answers 403
// NO_WORKSPACE:
//
//	e.GET("/w/:workspace/reports", reports, qelosecho5.SelectWorkspaceParam("workspace"), qelosecho5.Require(middleware.HasWorkspace()))
func SelectWorkspaceParam(name string) echo.MiddlewareFunc {
	return SelectWorkspace(func(c *echo.Context, _ *middleware.User, cl *qelosapi.Client) (*middleware.Workspace, error) {
		return cl.Membership(rc(c), c.Param(name))
	})
}
