// Package qelosecho5 adapts package middleware to echo v5: it signs the
// users of an echo app in through Qelos, keeps their session fresh, and
// hands every handler the user and the active workspace. For echo v4 use
// package qelosecho; the two differ only in echo's types (v5 handlers take
// a *echo.Context).
//
// It is a translation, not a second implementation: all behaviour (cookies,
// refresh, failure policy, skip paths) is [middleware.Middleware]'s, so an
// echo app answers exactly as a net/http app with the same Config does.
//
//	browser ──cookie pair──▶ echo.Echo ─▶ qelosecho5.New(mw) ─▶ … your handlers
//	                                       │ mw.Handler: open cookies → (expired? refresh) → context
//	                                       └ answers 401/503 itself with RequireAuth, and skips next
//
// # Quick start
//
//	cfg, err := middleware.ConfigFromEnv() // QELOS_APP_URL, QELOS_COOKIE_KEYS, …
//	if err != nil {
//		log.Fatal(err)
//	}
//	mw, err := middleware.New(cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	e := echo.New()
//	e.Use(qelosecho5.New(mw))
//	e.POST("/auth/signin", echo.WrapHandler(mw.SignInHandler()))
//	e.POST("/auth/signout", echo.WrapHandler(mw.SignOutHandler()))
//	e.GET("/healthz", echo.WrapHandler(mw.ReadyHandler()))
//	e.GET("/private", func(c *echo.Context) error {
//		u, _ := qelosecho5.User(c) // or middleware.UserFrom(c.Request().Context())
//		return c.JSON(http.StatusOK, u)
//	}, qelosecho5.Require(middleware.SignedIn()))
//	if err := e.Start(":8080"); err != nil {
//		log.Fatal(err)
//	}
//
// # Every function, with its signature
//
//	func New(mw *middleware.Middleware) echo.MiddlewareFunc                // e.Use(qelosecho5.New(mw))
//	func User(c *echo.Context) (*middleware.User, bool)                 // the signed-in user; false when anonymous
//	func Workspace(c *echo.Context) (*middleware.Workspace, bool)       // the active workspace; false when none
//	func Auth(c *echo.Context) (*middleware.Auth, bool)                 // everything the middleware learned
//	func Client(c *echo.Context) (*qelosapi.Client, bool)             // calls Qelos as the user; false when anonymous
//	func Require(rule middleware.Rule) echo.MiddlewareFunc                 // 401 / 403 / 503 per middleware.Deny
//	func SelectWorkspace(resolve WorkspaceResolver) echo.MiddlewareFunc    // choose the workspace per route
//	func SelectWorkspaceParam(name string) echo.MiddlewareFunc             // … from the route parameter name
//
// Require takes the core's rules, as [middleware.Require] does:
// middleware.SignedIn(), HasRole(roles...), HasWorkspaceRole(roles...),
// Privileged() (Config.PrivilegedRoles) and HasWorkspace() (403
// NO_WORKSPACE without one).
//
// The session handlers are the core's, wrapped with echo.WrapHandler:
// mw.SignInHandler, mw.SignOutHandler, mw.SignUpHandler,
// mw.SwitchWorkspaceHandler, mw.ReadyHandler, middleware.WhoAmIHandler and
// mw.Proxy.
//
// The session travels in c.Request()'s context, so code that only has the
// request (or its context) reads it with [middleware.UserFrom] as well.
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/adapters/qelosecho5), so that an app that
// imports it gets echo v5 and the root module, and neither gin nor Redis.
package qelosecho5
