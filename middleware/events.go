package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware/internal/proxy"
	"github.com/qelos-io/integrator-go/refresh"
)

// EventKind names something the middleware did to a session, or a call it
// made to Qelos.
type EventKind int

const (
	// EventRefreshed: an expiring pair was exchanged for a new one.
	EventRefreshed EventKind = iota + 1
	// EventRefreshFailed: a refresh failed. Event.Err says whether the
	// session ended (refresh.IsDefinitive) or Qelos was unavailable.
	EventRefreshFailed
	// EventCookieRejected: a session cookie did not open (tampered, sealed
	// with an unknown key, truncated, oversized, or holding a bad token)
	// and was cleared.
	EventCookieRejected
	// EventSignedIn: the sign-in handler started a session.
	EventSignedIn
	// EventSignedOut: the sign-out handler ended a session.
	EventSignedOut
	// EventIdentityFailed: a bearer token, API key or Qelos session cookie
	// did not identify a user. Event.Mode is the credential's kind;
	// Event.Err matches qelos.ErrUnavailable when Qelos could not be asked, and
	// is qelos.ErrUnauthorized-like otherwise (refused, expired, unreadable).
	EventIdentityFailed
	// EventUpstreamCall: one HTTP call to Qelos ended. Event.Call names it
	// ("refresh", "signin", "me", "proxy"…), Event.Status is Qelos's
	// status (0 when no answer came, with Event.Err), and Event.Duration
	// how long it took — for the proxy, until the answer's headers.
	// Event.Request is nil: the call may run detached from any request.
	EventUpstreamCall
)

func (k EventKind) String() string {
	switch k {
	case EventRefreshed:
		return "refreshed"
	case EventRefreshFailed:
		return "refresh-failed"
	case EventCookieRejected:
		return "cookie-rejected"
	case EventSignedIn:
		return "signed-in"
	case EventSignedOut:
		return "signed-out"
	case EventIdentityFailed:
		return "identity-failed"
	case EventUpstreamCall:
		return "upstream-call"
	}
	return "unknown"
}

// Event reports something the middleware did to a session, or a call it
// made to Qelos. It never holds a token or a cookie value.
type Event struct {
	Kind EventKind
	// UserID is the Qelos user id, when known.
	UserID string
	// Mode is the credential's kind, for EventIdentityFailed.
	Mode qelos.Mode
	// Call names the Qelos endpoint of an EventUpstreamCall: "signin",
	// "signup", "refresh", "logout", "me", "workspaces",
	// "workspace-activate", "api-tokens", "auth-callback", "proxy" (a call
	// through Proxy), "other" (any other path, through Client.Do).
	Call string
	// Status is Qelos's HTTP status for an EventUpstreamCall; 0 when no
	// answer came.
	Status int
	// Duration is how long an EventUpstreamCall took.
	Duration time.Duration
	// Err is the cause of a failure or rejection.
	Err error
	// Request is the request being served; nil for EventUpstreamCall.
	Request *http.Request
}

// errIdentityRefused is the Err of an EventIdentityFailed when Qelos
// refused the credential.
var errIdentityRefused = rejected(errors.New("qelos: credential refused (401/403 from GET /api/me)"))

// errTokenExpired is the Err of an EventIdentityFailed for an expired
// bearer token verified locally.
var errTokenExpired = rejected(errors.New("token expired, or without a readable exp"))

// errNotAToken is the Err of an EventIdentityFailed for an Authorization
// header that holds no Qelos access token.
var errNotAToken = rejected(errors.New("authorization is not a bearer JWT"))

// emit logs e and hands it to Config.OnEvent. Routine events (refreshes,
// sign-ins, rejected cookies, refused credentials, upstream calls) are
// logged at Debug; only what an operator must act on — Qelos unavailable —
// at Warn.
func (m *Middleware) emit(e Event) {
	level := slog.LevelDebug
	if e.Kind == EventRefreshFailed && !refresh.IsDefinitive(e.Err) {
		level = slog.LevelWarn // Qelos unavailable; identify logs its own Warn
	}
	if ctx := context.Background(); m.log.Enabled(ctx, level) {
		attrs := []any{"event", e.Kind.String()}
		if e.Request != nil {
			attrs = append(attrs, "path", e.Request.URL.Path)
		}
		if e.UserID != "" {
			attrs = append(attrs, "user", e.UserID)
		}
		if e.Kind == EventIdentityFailed {
			attrs = append(attrs, "mode", e.Mode.String())
		}
		if e.Kind == EventUpstreamCall {
			attrs = append(attrs, "call", e.Call, "status", e.Status, "duration", e.Duration)
		}
		if e.Err != nil {
			attrs = append(attrs, "err", e.Err)
		}
		m.log.Log(ctx, level, "qelos session", attrs...)
	}
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(e)
	}
}

// observed is the transport of every call to Qelos: it reports each one to
// emit as an EventUpstreamCall.
type observed struct {
	rt http.RoundTripper // nil: http.DefaultTransport
	m  *Middleware
}

func (o observed) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := o.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	e := Event{Kind: EventUpstreamCall, Call: callName(req), Duration: time.Since(start)}
	if err != nil {
		e.Err = proxy.ScrubURL(err)
	}
	if resp != nil {
		e.Status = resp.StatusCode
	}
	o.m.emit(e)
	return resp, err
}

// callName names a call to Qelos by its endpoint, with no id in it, so it
// can label a metric.
func callName(req *http.Request) string {
	if proxy.Proxied(req.Context()) {
		return "proxy"
	}
	method, path := req.Method, req.URL.Path
	switch {
	case path == "/api/signin":
		return "signin"
	case path == "/api/signup":
		return "signup"
	case path == "/api/token/refresh":
		return "refresh"
	case path == "/api/logout":
		return "logout"
	case path == "/api/me" && method == http.MethodGet:
		return "me"
	case path == "/api/workspaces" && method == http.MethodGet:
		return "workspaces"
	case strings.HasPrefix(path, "/api/workspaces/") && strings.HasSuffix(path, "/activate"):
		return "workspace-activate"
	case strings.HasPrefix(path, "/api/me/api-tokens"):
		return "api-tokens"
	case path == "/api/auth/callback":
		return "auth-callback"
	}
	return "other"
}
