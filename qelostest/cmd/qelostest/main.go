// Command qelostest runs the in-memory Qelos-compatible auth server of
// package qelostest, for local development.
//
// Usage:
//
//	qelostest [-addr 127.0.0.1:9000] [-access-ttl 300m] [-refresh-race 0] [-route-cookie-refresh] [-v]
//
// It prints the base URL and the demo credentials, and serves until
// interrupted. All state is in memory and lost on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "qelostest:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	accessTTL := flag.Duration("access-ttl", qelostest.DefaultAccessTTL, "lifetime of OAuth access tokens")
	refreshRace := flag.Duration("refresh-race", 0, "reproduce Qelos's non-atomic refresh: a refresh token stays spendable this long after its first spend (0: spent atomically)")
	routeCookieRefresh := flag.Bool("route-cookie-refresh", false, "serve POST /api/cookie/refresh as the auth service does directly (default: the gateway's 504)")
	verbose := flag.Bool("v", false, "log every request (never token values)")
	flag.Parse()

	opts := qelostest.Options{AccessTTL: *accessTTL, RefreshRace: *refreshRace, RouteCookieRefresh: *routeCookieRefresh}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv := qelostest.NewHandler(opts)
	defer srv.Close()

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}

	fmt.Printf("Qelos test auth server listening on http://%s\n", l.Addr())
	fmt.Printf("  admin: %s / %s (workspaces \"Acme Team\", \"Beta Lab\")\n", qelostest.AdminEmail, qelostest.AdminPassword)
	fmt.Printf("  user:  %s / %s\n", qelostest.UserEmail, qelostest.UserPassword)
	fmt.Printf("  JWT secret: %q, access tokens live %s\n", srv.Secret(), *accessTTL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.Close() // release hanging requests first
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
