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
//	mw, err := middleware.New(middleware.Config{
//		AppURL:     "https://app.qelos.example",
//		CookieKeys: keys, // middleware.ParseCookieKeys(os.Getenv("QELOS_COOKIE_KEYS"))
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := gin.New()
//	r.Use(qelosgin.New(mw))
//	r.POST("/auth/signin", gin.WrapH(mw.SignInHandler()))
//	r.POST("/auth/signout", gin.WrapH(mw.SignOutHandler()))
//	r.GET("/private", qelosgin.RequireUser(), func(c *gin.Context) {
//		u, _ := qelosgin.User(c) // or middleware.UserFrom(c.Request.Context())
//		c.JSON(http.StatusOK, u)
//	})
//	http.ListenAndServe(":8080", r)
//
// The session travels in c.Request's context, so code that only has the
// request (or its context) reads it with [middleware.UserFrom] as well.
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/adapters/qelosgin), so that an app that
// imports it gets gin and the root module, and neither echo nor Redis.
package qelosgin
