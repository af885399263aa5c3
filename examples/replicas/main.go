// Command replicas is examples/nethttp made ready to run as several
// replicas behind a load balancer. Qelos refresh tokens are single use: when
// one browser's parallel requests with an expiring pair land on different
// replicas, they must spend the refresh token once between them, or the
// user is signed out. The replicas therefore share a refresh store on Redis
// (refresh/redisstore, a module of its own so that single-instance apps do
// not link a Redis client), and the same QELOS_COOKIE_KEYS.
//
// It serves the examples contract:
//
//	GET  /whoami        {"user": …, "workspace": …}, nulls when signed out
//	GET  /private       the same, or 401 {"code":"UNAUTHORIZED"}
//	POST /auth/signin   JSON or form "username", "password"
//	POST /auth/signout  204
//	/api/**             the same-origin proxy to Qelos (GET /api/me: the user)
//
// Run two replicas against a Qelos app and a Redis:
//
//	export QELOS_APP_URL=https://app.qelos.example QELOS_REDIS_URL=redis://127.0.0.1:6379/0
//	export QELOS_COOKIE_KEYS=…  # one key set for all replicas; go run ./examples/quickstart prints a fresh one
//	ADDR=127.0.0.1:8081 go run ./examples/replicas &
//	ADDR=127.0.0.1:8082 go run ./examples/replicas
//
// Environment: QELOS_APP_URL, QELOS_COOKIE_KEYS and QELOS_REDIS_URL
// (required), QELOS_JWT_SECRET (optional), ADDR (default 127.0.0.1:8080),
// and the rest of middleware.ConfigFromEnv's variables.
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

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(url string) { slog.Info("listening", "url", url) }
	if err := run(ctx, os.Getenv, ready); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. It reads its settings with getenv
// and calls ready with the app's URL once it listens.
func run(ctx context.Context, getenv func(string) string, ready func(url string)) error {
	cfg, err := middleware.ConfigFromLookup(getenv)
	if err != nil {
		return err
	}
	// ConfigFromLookup refuses an unset QELOS_COOKIE_KEYS: ephemeral keys
	// would differ per replica, and each would reject the others' cookies
	// and be unable to read their stored pairs.
	// The shared refresh store. Its secret is the first cookie key, so that
	// every replica with the same QELOS_COOKIE_KEYS reads what the others
	// wrote (the store derives its own encryption key from it). An app
	// reading os.Getenv directly would call redisstore.NewFromEnv.
	store, err := redisstore.NewFromURL(getenv(redisstore.EnvURL), redisstore.Options{Secret: cfg.CookieKeys[0].Hash})
	if err != nil {
		return fmt.Errorf("%s (required, the Redis every replica shares): %w", redisstore.EnvURL, err)
	}
	defer store.Close()
	cfg.Refresh.Store = store

	mw, err := middleware.New(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", middleware.WhoAmIHandler())
	mux.Handle("GET /private", middleware.RequireUser(middleware.WhoAmIHandler()))
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.Handle("GET /healthz", mw.ReadyHandler())
	mux.Handle("/api/", mw.Proxy())

	return serve(ctx, getenv("ADDR"), mw.Handler(mux), ready)
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
