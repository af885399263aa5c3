// Command chi is a chi app whose users sign in through Qelos, with the
// guards in their standard shape (middleware.Require(rule) is a
// func(http.Handler) http.Handler, as chi's r.Use and r.With take). It
// serves the examples contract:
//
//	GET  /whoami        {"user": …, "workspace": …}, nulls when signed out
//	GET  /private       the same, or 401 {"code":"UNAUTHORIZED"}
//	POST /auth/signin   JSON or form "username", "password"
//	POST /auth/signout  204
//	/api/**             the same-origin proxy to Qelos (GET /api/me: the user)
//
// chi has a middleware package of its own, so the integrator's is imported
// as qelos.
//
// Run it against a Qelos app:
//
//	QELOS_APP_URL=https://app.qelos.example go run ./examples/chi
//
// Environment: QELOS_APP_URL (required), QELOS_COOKIE_KEYS (see
// middleware.ParseCookieKeys; without it sessions end on restart),
// QELOS_JWT_SECRET (optional), ADDR (default 127.0.0.1:8080), and the
// rest of middleware.ConfigFromEnv's variables.
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

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	qelos "github.com/qelos-io/integrator-go/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(url string) { slog.Info("listening", "url", url) }
	if err := run(ctx, os.Getenv, ready); err != nil {
		fmt.Fprintln(os.Stderr, "chi:", err)
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
	mw, err := qelos.New(cfg)
	if err != nil {
		return err
	}
	return serve(ctx, getenv("ADDR"), app(mw), ready)
}

// app is the whole app: the middleware, then the routes.
func app(mw *qelos.Middleware) http.Handler {
	r := chi.NewRouter()
	r.Use(chimw.Recoverer, mw.Handler)
	r.Method(http.MethodGet, "/whoami", qelos.WhoAmIHandler())
	r.With(qelos.Require(qelos.SignedIn())).Method(http.MethodGet, "/private", qelos.WhoAmIHandler())
	r.Method(http.MethodPost, "/auth/signin", mw.SignInHandler())
	r.Method(http.MethodPost, "/auth/signout", mw.SignOutHandler())
	r.Method(http.MethodGet, "/healthz", mw.ReadyHandler())
	r.Handle("/api/*", mw.Proxy())
	return r
}

// configFrom reads the middleware's settings from the environment
// (QELOS_APP_URL, QELOS_COOKIE_KEYS, QELOS_JWT_SECRET, and the other
// variables of middleware.ConfigFromEnv).
func configFrom(getenv func(string) string) (qelos.Config, error) {
	getenv = withEphemeralKeys(getenv)
	cfg, err := qelos.ConfigFromLookup(getenv)
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
	key := qelos.GenerateCookieKey().String()
	return func(name string) string {
		if name == "QELOS_COOKIE_KEYS" {
			return key
		}
		return getenv(name)
	}
}
