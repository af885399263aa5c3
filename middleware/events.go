package middleware

import "net/http"

// EventKind names something the middleware did to a session.
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
	}
	return "unknown"
}

// Event reports something the middleware did to a session. It never holds a
// token or a cookie value.
type Event struct {
	Kind EventKind
	// UserID is the Qelos user id, when known.
	UserID string
	// Err is the cause of a failure or rejection.
	Err error
	// Request is the request being served.
	Request *http.Request
}

func (m *Middleware) emit(e Event) {
	attrs := []any{"event", e.Kind.String(), "path", e.Request.URL.Path}
	if e.UserID != "" {
		attrs = append(attrs, "user", e.UserID)
	}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err)
	}
	switch e.Kind {
	case EventRefreshFailed:
		m.log.Warn("qelos session", attrs...)
	default:
		m.log.Info("qelos session", attrs...)
	}
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(e)
	}
}
