// Package qelosgin adapts package middleware to gin: it signs the users of a
// gin app in through Qelos, keeps their session fresh, and hands every
// handler the user and the active workspace.
//
// It is a translation, not a second implementation: all behaviour (cookies,
// refresh, failure policy, skip paths) is [middleware.Middleware]'s, so a
// gin app answers exactly as a net/http app with the same Config does.
//
//	browser ──cookie pair──▶ gin.Engine ─▶ qelosgin.New(mw) ─▶ … your handlers
//	                                        │ mw.Handler: open cookies → (expired? refresh) → context
//	                                        └ answers 401/503 itself with RequireAuth, and aborts the chain
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
//	r := gin.New()
//	r.Use(qelosgin.New(mw))
//	r.POST("/auth/signin", gin.WrapH(mw.SignInHandler()))
//	r.POST("/auth/signout", gin.WrapH(mw.SignOutHandler()))
//	r.GET("/healthz", gin.WrapH(mw.ReadyHandler()))
//	r.GET("/private", qelosgin.Require(middleware.SignedIn()), func(c *gin.Context) {
//		u, _ := qelosgin.User(c) // or middleware.UserFrom(c.Request.Context())
//		c.JSON(http.StatusOK, u)
//	})
//	srv := &http.Server{Addr: ":8080", Handler: r, ReadHeaderTimeout: 10 * time.Second}
//	log.Fatal(srv.ListenAndServe())
//
// # Every function, with its signature
//
//	func New(mw *middleware.Middleware) gin.HandlerFunc                    // r.Use(qelosgin.New(mw))
//	func User(c *gin.Context) (*middleware.User, bool)                      // the signed-in user; false when anonymous
//	func Workspace(c *gin.Context) (*middleware.Workspace, bool)            // the active workspace; false when none
//	func Auth(c *gin.Context) (*middleware.Auth, bool)                      // everything the middleware learned
//	func Client(c *gin.Context) (*qelosapi.Client, bool)                  // calls Qelos as the user; false when anonymous
//	func Require(rule middleware.Rule) gin.HandlerFunc                      // 401 / 403 / 503 per middleware.Deny
//	func SelectWorkspace(resolve WorkspaceResolver) gin.HandlerFunc         // choose the workspace per route
//	func SelectWorkspaceParam(name string) gin.HandlerFunc                  // … from the route parameter name
//
// Require takes the core's rules, as [middleware.Require] does:
// middleware.SignedIn(), HasRole(roles...), HasWorkspaceRole(roles...),
// Privileged() (Config.PrivilegedRoles) and HasWorkspace() (403
// NO_WORKSPACE without one).
//
// The session handlers are the core's, wrapped with gin.WrapH:
// mw.SignInHandler, mw.SignOutHandler, mw.SignUpHandler,
// mw.SwitchWorkspaceHandler, mw.ReadyHandler, middleware.WhoAmIHandler and
// mw.Proxy.
//
// The session travels in c.Request's context, so code that only has the
// request (or its context) reads it with [middleware.UserFrom] as well.
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/adapters/qelosgin), so that an app that
// imports it gets gin and the root module, and neither echo nor Redis.
package qelosgin
