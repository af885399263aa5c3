// Command observability is the net/http example app with its calls to
// Qelos measured and traced, using only the standard library:
//
//   - metrics: Config.OnEvent counts every event and every upstream call by
//     kind and status, and adds up their durations, in expvar maps served
//     at GET /debug/vars (qelos_events, qelos_upstream_calls,
//     qelos_upstream_seconds). Swap expvar for your metrics library: the
//     Event fields are the labels.
//   - tracing: Config.HTTPClient's Transport is wrapped so every call to
//     Qelos — sign-in, refresh, identity, the /api proxy — carries the W3C
//     traceparent of the request that caused it and is recorded as a span
//     (here: logged at Debug and counted in qelos_trace_spans). Swap the
//     wrapper for your tracer's (otelhttp.NewTransport has the same shape).
//
// It serves the examples contract (GET /whoami, GET /private, POST
// /auth/signin, POST /auth/signout, /api/**) plus GET /debug/vars. In
// production, keep /debug/vars off the public listener.
//
//	QELOS_APP_URL=https://app.qelos.example go run ./examples/observability
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"expvar"
	"fmt"
	qelos "github.com/qelos-io/integrator-go"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
)

// The metrics, registered once per process as expvar requires.
var (
	events          = expvar.NewMap("qelos_events")           // by event kind
	upstreamCalls   = expvar.NewMap("qelos_upstream_calls")   // by "call status", e.g. "refresh 200"
	upstreamSeconds = expvar.NewMap("qelos_upstream_seconds") // total duration by call
	traceSpans      = expvar.NewInt("qelos_trace_spans")      // spans recorded by the tracing transport
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(url string) { slog.Info("listening", "url", url) }
	if err := run(ctx, os.Getenv, ready); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. It reads its settings with getenv
// and calls ready with the app's URL once it listens.
func run(ctx context.Context, getenv func(string) string, ready func(url string)) error {
	getenv = withEphemeralKeys(getenv)
	cfg, err := middleware.ConfigFromLookup(getenv)
	if err != nil {
		return err
	}
	cfg.OnEvent = record
	cfg.HTTPClient = &http.Client{
		Transport:     tracing{next: http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, // never replay credentials
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		return err
	}
	return serve(ctx, getenv("ADDR"), app(mw), ready)
}

// app is the whole app: a trace per request, the middleware, the routes.
func app(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", middleware.WhoAmIHandler())
	mux.Handle("GET /private", middleware.RequireUser(middleware.WhoAmIHandler()))
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.Handle("GET /healthz", mw.ReadyHandler())
	mux.Handle("/api/", mw.Proxy())
	mux.Handle("GET /debug/vars", expvar.Handler())
	return traced(mw.Handler(mux))
}

// record is Config.OnEvent: it turns each Event into metrics.
func record(e qelos.Event) {
	events.Add(e.Kind.String(), 1)
	if e.Kind == qelos.EventUpstreamCall {
		upstreamCalls.Add(e.Call+" "+strconv.Itoa(e.Status), 1)
		upstreamSeconds.AddFloat(e.Call, e.Duration.Seconds())
	}
}

// traceKey carries a request's trace id in its context.
type traceKey struct{}

// traced gives each inbound request a trace id (from its traceparent
// header, else a fresh one), which the calls to Qelos it causes carry on.
func traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := traceIDFrom(r.Header.Get("Traceparent"))
		if id == "" {
			id = randomHex(16)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), traceKey{}, id)))
	})
}

// tracing is the Transport of Config.HTTPClient: each call to Qelos is a
// span of the request's trace. It clones the request before adding the
// header, as a RoundTripper must.
type tracing struct{ next http.RoundTripper }

func (t tracing) RoundTrip(req *http.Request) (*http.Response, error) {
	traceID, _ := req.Context().Value(traceKey{}).(string)
	if traceID == "" {
		traceID = randomHex(16) // a call no request caused
	}
	spanID := randomHex(8)
	req = req.Clone(req.Context())
	req.Header.Set("Traceparent", "00-"+traceID+"-"+spanID+"-01")
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	traceSpans.Add(1)
	slog.Debug("span", "trace", traceID, "span", spanID, "name", req.Method+" "+req.URL.Path, "status", status, "duration", time.Since(start), "err", err)
	return resp, err
}

// traceIDFrom reads the trace id of a W3C traceparent header.
func traceIDFrom(h string) string {
	if len(h) == 55 && h[2] == '-' && h[35] == '-' {
		if _, err := hex.DecodeString(h[3:35]); err == nil {
			return h[3:35]
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
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
