// Package middleware authenticates the users of a Go web app against Qelos.
//
// The app is the browser's only origin. It keeps the user's Qelos OAuth
// token pair in two cookies of its own, sealed with gorilla/securecookie,
// refreshes the pair when the access token expires, and hands every handler
// the signed-in user and the active workspace through the request context:
//
//	browser ──cookie pair──▶ Handler: open cookies → claims → (expiring? refresh) → context
//	                                                  └──▶ POST {AppURL}/api/token/refresh
//	                         your handlers: middleware.UserFrom(r.Context())
//
// A warm request costs no upstream call and no cryptography: a cookie that
// opened once is remembered (bounded, and never past its token's expiry).
// Refreshes are coalesced by package refresh, so the single-use Qelos
// refresh token is spent once however many requests carry it. A transient
// Qelos fault never clears a session; only Qelos rejecting the refresh token
// does.
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
//	mux := http.NewServeMux()
//	mux.Handle("POST /auth/signin", mw.SignInHandler())
//	mux.Handle("POST /auth/signout", mw.SignOutHandler())
//	mux.Handle("/private", middleware.RequireUser(private))
//	mux.Handle("/api/", mw.Proxy()) // the same-origin proxy to Qelos
//	srv := &http.Server{Addr: ":8080", Handler: mw.Handler(mux),
//		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
//		WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second}
//	log.Fatal(srv.ListenAndServe())
//
// In a handler:
//
//	u, ok := middleware.UserFrom(r.Context())       // *middleware.User
//	ws, ok := middleware.WorkspaceFrom(r.Context()) // *middleware.Workspace
//
// Unauthenticated requests to guarded routes are answered 401
// {"code":"UNAUTHORIZED"}, as every Qelos integrator answers; a request
// whose session could not be confirmed because Qelos was down is answered
// 503 {"code":"QELOS_UNAVAILABLE"} and keeps its cookies.
//
// Guards come in the standard shape too: Require(rule) returns a
// func(http.Handler) http.Handler for chi's r.Use and r.With or alice.
// chi and echo have a package named middleware of their own; import this
// one under another name:
//
//	import qelos "github.com/qelos-io/integrator-go/middleware"
//
// # Secure defaults
//
// The cookies are HttpOnly, Secure (browsers accept Secure cookies on
// http://localhost), SameSite=Lax and named with the __Host- prefix, so no
// sibling subdomain can plant one; the pair carries one session id in both
// cookies and stays within 4,096 bytes. Cross-origin
// state-changing browser requests are refused. Tokens must carry
// Config.Tenant. Error bodies carry a stable code and a generic message;
// details go to the Logger. Each has an opt-out field in Config,
// documented with its trade-off.
//
// To call Qelos as the request's user, ClientFrom returns a
// [qelosapi.Client] (its workspaces, memberships and API tokens);
// Middleware.ServiceClient calls it as the app.
//
// Adapters for gin and echo live in adapters/qelosgin and adapters/qelosecho;
// they translate, and all behaviour is here. To test an app that uses this
// package, see the testing kit in package middleware/middlewaretest
// (middlewaretest.Start).
package middleware
