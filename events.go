package qelos

import (
	"net/http"
	"time"
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
	// Event.Err matches ErrUnavailable when Qelos could not be asked, and
	// is ErrUnauthorized-like otherwise (refused, expired, unreadable).
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
// made to Qelos, to Config.OnEvent of package middleware. It never holds a
// token or a cookie value.
type Event struct {
	Kind EventKind
	// UserID is the Qelos user id, when known.
	UserID string
	// Mode is the credential's kind, for EventIdentityFailed.
	Mode Mode
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
