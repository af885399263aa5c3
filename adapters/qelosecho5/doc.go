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
//	mw, err := middleware.New(middleware.Config{
//		AppURL:     "https://app.qelos.example",
//		CookieKeys: keys, // middleware.ParseCookieKeys(os.Getenv("QELOS_COOKIE_KEYS"))
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	e := echo.New()
//	e.Use(qelosecho5.New(mw))
//	e.POST("/auth/signin", echo.WrapHandler(mw.SignInHandler()))
//	e.POST("/auth/signout", echo.WrapHandler(mw.SignOutHandler()))
//	e.GET("/private", func(c *echo.Context) error {
//		u, _ := qelosecho5.User(c) // or middleware.UserFrom(c.Request().Context())
//		return c.JSON(http.StatusOK, u)
//	}, qelosecho5.RequireUser())
//	if err := e.Start(":8080"); err != nil {
//		log.Fatal(err)
//	}
//
// The session travels in c.Request()'s context, so code that only has the
// request (or its context) reads it with [middleware.UserFrom] as well.
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/adapters/qelosecho5), so that an app that
// imports it gets echo v5 and the root module, and neither gin nor Redis.
package qelosecho5
