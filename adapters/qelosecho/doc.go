// Package qelosecho adapts package middleware to echo (v4): it signs the
// users of an echo app in through Qelos, keeps their session fresh, and
// hands every handler the user and the active workspace.
//
// It is a translation, not a second implementation: all behaviour (cookies,
// refresh, failure policy, skip paths) is [middleware.Middleware]'s, so an
// echo app answers exactly as a net/http app with the same Config does.
//
//	browser ──cookie pair──▶ echo.Echo ─▶ qelosecho.New(mw) ─▶ … your handlers
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
//	e.Use(qelosecho.New(mw))
//	e.POST("/auth/signin", echo.WrapHandler(mw.SignInHandler()))
//	e.POST("/auth/signout", echo.WrapHandler(mw.SignOutHandler()))
//	e.GET("/private", func(c echo.Context) error {
//		u, _ := qelosecho.User(c) // or middleware.UserFrom(c.Request().Context())
//		return c.JSON(http.StatusOK, u)
//	}, qelosecho.RequireUser())
//	e.Logger.Fatal(e.Start(":8080"))
//
// The session travels in c.Request()'s context, so code that only has the
// request (or its context) reads it with [middleware.UserFrom] as well.
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/adapters/qelosecho), so that an app that
// imports it gets echo v4 and the root module, and neither gin nor Redis.
package qelosecho
