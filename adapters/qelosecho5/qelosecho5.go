package qelosecho5

import (
	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/middleware"
)

// New returns an echo middleware that runs mw around the next handler:
// [middleware.Middleware.Handler] itself, through echo.WrapMiddleware.
// Register it with Echo.Use (or on a group) before the routes it protects.
//
// Handlers after it see the request and the writer as mw.Handler passes
// them on: the [middleware.Auth] is in c.Request().Context(), and a
// refreshed cookie pair is already in the response headers, so it reaches
// the client whatever the handler writes, and also when it returns an
// error. Such an answer is made uncacheable (Cache-Control: private,
// no-store; Vary: Cookie) when its headers are written, whatever
// Cache-Control the handler set. When mw answers the request itself (401 or
// 503 with Config.RequireAuth), next is not called.
func New(mw *middleware.Middleware) echo.MiddlewareFunc { return echo.WrapMiddleware(mw.Handler) }

// Require returns an echo middleware that lets through only the requests
// rule allows, [middleware.Require] through echo.WrapMiddleware: others get
// [middleware.Deny]'s answers, 401 {"code":"UNAUTHORIZED"} when anonymous,
// 503 {"code":"QELOS_UNAVAILABLE"} when Qelos could not confirm the
// session, 403 when the user does not qualify. It must run after [New]:
//
//	e.GET("/private", private, qelosecho5.Require(middleware.SignedIn()))
//	e.GET("/admin", admin, qelosecho5.Require(middleware.HasRole("admin")))
func Require(rule middleware.Rule) echo.MiddlewareFunc {
	return echo.WrapMiddleware(middleware.Require(rule))
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
