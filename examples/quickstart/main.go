// Command quickstart is a complete Go app signed in through Qelos, runnable
// with no configuration:
//
//	go run ./examples/quickstart
//
// With QELOS_APP_URL unset it starts an embedded Qelos-compatible server
// (package qelostest) whose access tokens live 30 seconds, so refreshes can
// be watched, and prints the demo credentials. Open the printed URL, or use
// curl:
//
//	curl -c jar -H 'Content-Type: application/json' \
//	     -d '{"username":"admin@example.com","password":"Admin-Pass-123"}' \
//	     http://127.0.0.1:8080/auth/signin
//	curl -b jar http://127.0.0.1:8080/whoami
//	sleep 30; curl -i -b jar -c jar http://127.0.0.1:8080/whoami   # refreshed: new Set-Cookie
//
// Environment: QELOS_APP_URL (a real Qelos), QELOS_COOKIE_KEYS (see
// middleware.ParseCookieKeys; without it sessions end on restart),
// QELOS_JWT_SECRET, ADDR (default 127.0.0.1:8080), and for the embedded
// server QELOS_DEMO_ACCESS_TTL (default 30s).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. ready, when set, receives the
// app's URL once it listens, and the embedded Qelos server if one was
// started (nil otherwise).
func run(ctx context.Context, out io.Writer, ready func(url string, demo *qelostest.Server)) error {
	logger := slog.New(slog.NewTextHandler(out, nil))
	var demo *qelostest.Server
	if os.Getenv("QELOS_APP_URL") == "" {
		var err error
		if demo, err = startDemoQelos(out); err != nil {
			return err
		}
		defer demo.Close()
		// Point the configuration below at it, as a real deployment would.
		os.Setenv("QELOS_APP_URL", demo.URL)
		defer os.Unsetenv("QELOS_APP_URL")
	}

	if os.Getenv("QELOS_COOKIE_KEYS") == "" {
		logger.Warn("QELOS_COOKIE_KEYS is not set: using ephemeral keys, so sessions end when the app restarts; persist a key with: export QELOS_COOKIE_KEYS=$(go run github.com/qelos-io/integrator-go/cmd/qelos-keys)")
		os.Setenv("QELOS_COOKIE_KEYS", middleware.GenerateCookieKey().String())
		defer os.Unsetenv("QELOS_COOKIE_KEYS")
	}
	cfg, err := middleware.ConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.ErrorHandler = signInRedirect
	mw, err := middleware.New(cfg)
	if err != nil {
		return err
	}

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "quickstart app: %s (Qelos at %s)\n", url, cfg.AppURL)
	if ready != nil {
		ready(url, demo)
	}

	// Every timeout set: a client trickling a body or holding idle
	// connections cannot pin the server's resources.
	srv := &http.Server{
		Handler:           mw.Handler(routes(mw)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // above Config.Proxy.Timeout (60 s)
		IdleTimeout:       120 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startDemoQelos starts the embedded Qelos-compatible server and prints how
// to sign in to it.
func startDemoQelos(out io.Writer) (*qelostest.Server, error) {
	ttl := 30 * time.Second
	if v := os.Getenv("QELOS_DEMO_ACCESS_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("QELOS_DEMO_ACCESS_TTL=%q: expected a positive duration such as 30s", v)
		}
		ttl = d
	}
	demo := qelostest.New(qelostest.Options{AccessTTL: ttl})
	fmt.Fprintf(out, "QELOS_APP_URL is not set: started an embedded Qelos-compatible server at %s\n", demo.URL)
	fmt.Fprintf(out, "  access tokens live %s, so you can watch them refresh\n", ttl)
	fmt.Fprintf(out, "  sign in as %s / %s (admin, workspace Acme Team)\n", qelostest.AdminEmail, qelostest.AdminPassword)
	fmt.Fprintf(out, "          or %s / %s (user, no workspace)\n", qelostest.UserEmail, qelostest.UserPassword)
	return demo, nil
}
