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

// errIdentityRefused is the Err of a qelos.EventIdentityFailed when Qelos
// refused the credential.
var errIdentityRefused = rejected(errors.New("qelos: credential refused (401/403 from GET /api/me)"))

// errTokenExpired is the Err of a qelos.EventIdentityFailed for an expired
// bearer token verified locally.
var errTokenExpired = rejected(errors.New("token expired, or without a readable exp"))

// errNotAToken is the Err of a qelos.EventIdentityFailed for an Authorization
// header that holds no Qelos access token.
var errNotAToken = rejected(errors.New("authorization is not a bearer JWT"))

// emit logs e and hands it to Config.OnEvent. Routine events (refreshes,
// sign-ins, rejected cookies, refused credentials, upstream calls) are
// logged at Debug; only what an operator must act on — Qelos unavailable —
// at Warn.
func (m *Middleware) emit(e qelos.Event) {
	level := slog.LevelDebug
	if e.Kind == qelos.EventRefreshFailed && !refresh.IsDefinitive(e.Err) {
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
		if e.Kind == qelos.EventIdentityFailed {
			attrs = append(attrs, "mode", e.Mode.String())
		}
		if e.Kind == qelos.EventUpstreamCall {
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
// emit as a qelos.EventUpstreamCall.
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
	e := qelos.Event{Kind: qelos.EventUpstreamCall, Call: callName(req), Duration: time.Since(start)}
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
