package qelos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The error model: one type, every code and every sentinel, and the one
// function that turns an error into an answer.
//
// Every error the library reports matches, with errors.Is, one of the
// sentinels below; errors.As finds the *Error (or the *APIError of a
// Client call) that carries its status and code. Two kinds matter most:
//
//   - ErrUnavailable: transient. Qelos could not be reached, timed out,
//     failed (5xx) or answered something unreadable. The session is kept;
//     try again later. It also matches refresh.ErrUnavailable when a
//     refresh failed.
//   - ErrUnauthorized: a rejection. The credential is no good (expired,
//     tampered with, signed out, refused by Qelos). It also matches
//     refresh.ErrRejected when Qelos rejected a refresh token.
var (
	// ErrUnauthorized: Qelos did not accept the credentials (401), or the
	// middleware rejected them.
	ErrUnauthorized = sentinel("unauthorized")
	// ErrForbidden: Qelos refused the operation to this user (403).
	ErrForbidden = sentinel("forbidden")
	// ErrNotFound: no such resource, or not visible to this user (404).
	ErrNotFound = sentinel("not found")
	// ErrInvalid: Qelos, or the middleware, refused the input (400).
	ErrInvalid = sentinel("invalid request")
	// ErrUnavailable: Qelos could not be reached or failed (5xx, timeout,
	// unreadable answer). Transient: try again later.
	ErrUnavailable = sentinel("unavailable")
	// ErrSessionTooLarge is returned by StartSession (and reported in
	// Event.Err, matching ErrUnauthorized) when the token pair Qelos issued
	// cannot be sealed within the middleware's MaxSessionBytes: the access
	// token carries the user's profile (names, picture URL), which Qelos
	// does not bound. Shorten the profile in Qelos; nothing this app can do
	// fits it in cookies. The sign-in handler answers it 422
	// CodeSessionTooLarge.
	ErrSessionTooLarge = sentinel("the session does not fit in its cookies: the user's profile (names, picture URL) in the access token is too large")
	// ErrTooManyTokens is returned (with ErrInvalid) when Qelos refuses to
	// create an API token because the user has ten already, expired ones
	// included: revoke one first.
	ErrTooManyTokens = sentinel("the user already has the maximum of 10 API tokens")
	// ErrTokenManagementByToken is returned (with ErrForbidden) when a
	// request authenticated by an API token tries to manage API tokens,
	// which Qelos allows only to a signed-in user.
	ErrTokenManagementByToken = sentinel("API tokens cannot be managed with an API token")
)

// sentinel returns the error of a sentinel, its message prefixed "qelos: ".
func sentinel(msg string) error { return errors.New("qelos: " + msg) }

// Codes: the stable, machine-readable "code" of every error body the
// library writes, as {"code":"…"} (with a "message" for humans when there
// is more to say).
const (
	// CodeUnauthorized (401): no signed-in user, as every Qelos
	// integrator answers.
	CodeUnauthorized = "UNAUTHORIZED"
	// CodeForbidden (403): the signed-in user does not qualify.
	CodeForbidden = "FORBIDDEN"
	// CodeNoWorkspace (403): the rule asks for an active workspace and
	// there is none, so a front end can ask the user to pick one.
	CodeNoWorkspace = "NO_WORKSPACE"
	// CodeQelosUnavailable (503, with Retry-After): Qelos could not be
	// reached to confirm the session, whose cookies are kept.
	CodeQelosUnavailable = "QELOS_UNAVAILABLE"
	// CodeInvalidCredentials (401): sign-in with a wrong username or
	// password.
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
	// CodeInvalidInput (400): a body or parameter that cannot be used.
	CodeInvalidInput = "INVALID_INPUT"
	// CodeNotFound (404): no such resource.
	CodeNotFound = "NOT_FOUND"
	// CodeMethodNotAllowed (405): the handler takes another method.
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// CodeAlreadyExists (409): sign-up with a username or email taken.
	CodeAlreadyExists = "ALREADY_EXISTS"
	// CodeWorkspaceSwitchUnsupported (409): only a cookie-pair session can
	// switch workspace.
	CodeWorkspaceSwitchUnsupported = "WORKSPACE_SWITCH_UNSUPPORTED"
	// CodeCrossOrigin (403): a state-changing cross-origin browser
	// request.
	CodeCrossOrigin = "CROSS_ORIGIN_REQUEST"
	// CodeSessionTooLarge (422): see ErrSessionTooLarge.
	CodeSessionTooLarge = "SESSION_TOO_LARGE"
	// CodeTooManyAttempts (429, with Retry-After): the sign-in rate limit.
	CodeTooManyAttempts = "TOO_MANY_ATTEMPTS"
	// CodeHeadersTooLarge (431): a request whose cookies or credentials
	// exceed the middleware's limits.
	CodeHeadersTooLarge = "REQUEST_HEADERS_TOO_LARGE"
	// CodeProxyBadPath (400 or 414): a proxied path with a dot-segment or
	// longer than 8 KiB.
	CodeProxyBadPath = "QELOS_PROXY_BAD_PATH"
	// CodeProxyUpgradeRefused (400): the proxy does not switch protocols.
	CodeProxyUpgradeRefused = "QELOS_PROXY_UPGRADE_REFUSED"
	// CodeProxyUpstreamError (502): the proxy could not reach Qelos.
	CodeProxyUpstreamError = "QELOS_PROXY_UPSTREAM_ERROR"
	// CodeInternal (500): an error outside the model, or a handler set up
	// wrongly.
	CodeInternal = "INTERNAL_ERROR"
)

// MsgUnavailable is the message of a 503 the library answers itself.
const MsgUnavailable = "Qelos is unavailable; your session is kept, try again shortly"

// Error is an error the library answers a request with: the HTTP status,
// the stable Code of the JSON body, a Message safe to show the client, and
// the cause, which is never shown. errors.Is matches it against the
// sentinel of its status (ErrUnauthorized for 401, ErrForbidden for 403,
// ErrNotFound for 404, ErrInvalid for 400, ErrUnavailable for 502 and 503,
// ErrSessionTooLarge for CodeSessionTooLarge) and against its cause.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code is the body's stable code, one of the Code constants.
	Code string
	// Message is for humans, safe to show the client; may be empty.
	Message string
	// Fields, for invalid input, maps each offending field to its code
	// ("email": "INVALID_EMAIL"), written as the body's "errors".
	Fields map[string]string
	// Err is the cause, for logs and errors.Is; never shown the client.
	Err error
}

// Error says the status, the code, the message and the cause.
func (e *Error) Error() string {
	s := fmt.Sprintf("qelos: %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's status or code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrSessionTooLarge:
		return e.Code == CodeSessionTooLarge
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusBadGateway
	}
	return statusIs(e.Status, target)
}

// statusIs reports whether an answer of status matches the sentinel target.
func statusIs(status int, target error) bool {
	switch target {
	case ErrUnauthorized:
		return status == http.StatusUnauthorized
	case ErrForbidden:
		return status == http.StatusForbidden
	case ErrNotFound:
		return status == http.StatusNotFound
	case ErrInvalid:
		return status == http.StatusBadRequest
	}
	return false
}

// APIError is a non-2xx answer from Qelos to a Client call. It matches, by
// Status, ErrUnauthorized (401), ErrForbidden (403), ErrNotFound (404),
// ErrInvalid (400) or ErrUnavailable (5xx, or a redirect).
type APIError struct {
	// Status is Qelos's HTTP status.
	Status int
	// Message is Qelos's "message" (or "error") field, when it sent one.
	Message string
	// Body is the raw answer, at most the client's read limit.
	Body []byte
}

// Error says Qelos's status and message (else the start of its answer).
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(string(e.Body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	if msg == "" {
		return fmt.Sprintf("qelos: status %d", e.Status)
	}
	return fmt.Sprintf("qelos: status %d: %s", e.Status, msg)
}

// Is matches the sentinel of e's status.
func (e *APIError) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Status >= 500 || e.Status == 0 || (e.Status >= 300 && e.Status < 400)
	}
	return statusIs(e.Status, target)
}

// ErrorFor maps err to the answer it gets: the *Error it wraps, else by the
// sentinel it matches (ErrUnavailable 503, ErrUnauthorized 401,
// ErrForbidden 403, ErrInvalid 400, ErrNotFound 404), else 500
// CodeInternal.
func ErrorFor(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeQelosUnavailable, Message: MsgUnavailable, Err: err}
	case errors.Is(err, ErrUnauthorized):
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: err}
	case errors.Is(err, ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Err: err}
	case errors.Is(err, ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput, Err: err}
	case errors.Is(err, ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Err: err}
}

// errorBody is the body of every error answer.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message,omitempty"`
	Fields  map[string]string `json:"errors,omitempty"`
}

// WriteError answers err as ErrorFor maps it: its status, the JSON body
// {"code":…,"message":…,"errors":{…}} (message and errors omitted when
// empty, the cause never written), Cache-Control: no-store, and Retry-After: 1 on a 503 or a 429
// that set none. It is the default of the middleware's
// Config.ErrorHandler, and what a handler of your own falls back to.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := ErrorFor(err)
	h := w.Header()
	if e.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(errorBody{Code: e.Code, Message: e.Message, Fields: e.Fields})
}
