// Command gin is a gin app whose users sign in through Qelos, with the
// adapter package qelosgin. It serves the examples contract:
//
//	GET  /whoami        {"user": …, "workspace": …}, nulls when signed out
//	GET  /private       the same, or 401 {"code":"UNAUTHORIZED"}
//	POST /auth/signin   JSON or form "username", "password"
//	POST /auth/signout  204
//	/api/**             the same-origin proxy to Qelos (GET /api/me: the user)
//
// Run it against a Qelos app:
//
//	QELOS_APP_URL=https://app.qelos.example GIN_MODE=release go run ./examples/gin
//
// Environment: QELOS_APP_URL (required), QELOS_COOKIE_KEYS (see
// middleware.ParseCookieKeys; without it sessions end on restart),
// QELOS_JWT_SECRET (optional), ADDR (default 127.0.0.1:8080), and the
// rest of middleware.ConfigFromEnv's variables. Running several replicas?
// Give them the same QELOS_COOKIE_KEYS and a shared refresh store on Redis,
// so they spend each refresh token once between them: see
// examples/replicas, which adds exactly that to this app's net/http twin.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/adapters/qelosgin"
	"github.com/qelos-io/integrator-go/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(url string) { slog.Info("listening", "url", url) }
	if err := run(ctx, os.Getenv, ready); err != nil {
		fmt.Fprintln(os.Stderr, "gin:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. It reads its settings with getenv
// and calls ready with the app's URL once it listens.
func run(ctx context.Context, getenv func(string) string, ready func(url string)) error {
	cfg, err := configFrom(getenv)
	if err != nil {
		return err
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		return err
	}

	return serve(ctx, getenv("ADDR"), app(mw), ready)
}

// app is the whole app: the middleware, then the routes.
func app(mw *middleware.Middleware) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery(), qelosgin.New(mw))
	r.GET("/whoami", whoami)
	r.GET("/private", qelosgin.Require(middleware.SignedIn()), whoami)
	r.POST("/auth/signin", gin.WrapH(mw.SignInHandler()))
	r.POST("/auth/signout", gin.WrapH(mw.SignOutHandler()))
	r.GET("/healthz", gin.WrapH(mw.ReadyHandler()))
	r.Any("/api/*path", gin.WrapH(mw.Proxy()))
	return r
}

// whoami answers the signed-in user and the active workspace, or nulls.
func whoami(c *gin.Context) {
	u, _ := qelosgin.User(c)
	ws, _ := qelosgin.Workspace(c)
	c.JSON(http.StatusOK, gin.H{"user": u, "workspace": ws})
}

// configFrom reads the middleware's settings from the environment
// (QELOS_APP_URL, QELOS_COOKIE_KEYS, QELOS_JWT_SECRET, and the other
// variables of middleware.ConfigFromEnv). The middleware's defaults refuse
// cross-origin form posts and keep the cookies Secure and __Host- prefixed.
func configFrom(getenv func(string) string) (middleware.Config, error) {
	getenv = withEphemeralKeys(getenv)
	cfg, err := middleware.ConfigFromLookup(getenv)
	if err != nil {
		return cfg, err
	}
	return cfg, nil
}

// serve listens on addr (default 127.0.0.1:8080) and serves h until ctx is
// done, then shuts down gracefully.
func serve(ctx context.Context, addr string, h http.Handler, ready func(url string)) error {
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// Every timeout set: a client trickling a body or holding idle
	// connections cannot pin the server's resources.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // above Config.Proxy.Timeout (60 s)
		IdleTimeout:       120 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready("http://" + ln.Addr().String())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// withEphemeralKeys returns getenv, or when QELOS_COOKIE_KEYS is unset a
// getenv that answers it with a fresh key set, after a warning: handy for
// a first run, but sessions then end when the app restarts.
func withEphemeralKeys(getenv func(string) string) func(string) string {
	if getenv("QELOS_COOKIE_KEYS") != "" {
		return getenv
	}
	slog.Warn("QELOS_COOKIE_KEYS is not set: using ephemeral cookie keys, so sessions will not survive a restart")
	key := middleware.GenerateCookieKey().String()
	return func(name string) string {
		if name == "QELOS_COOKIE_KEYS" {
			return key
		}
		return getenv(name)
	}
}
