package middleware

import (
	"encoding/json"
	"net/http"
)

// Error codes in the JSON bodies the middleware answers with.
const (
	CodeUnauthorized       = "UNAUTHORIZED"
	CodeForbidden          = "FORBIDDEN"
	CodeQelosUnavailable   = "QELOS_UNAVAILABLE"
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
	CodeInvalidInput       = "INVALID_INPUT"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeCrossOrigin        = "CROSS_ORIGIN_REQUEST"
)

// errorBody is the body of every error answer: a stable machine-readable
// code, and a message for humans when there is more to say.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// writeJSON answers status with v as JSON, never to be stored by a cache
// (private and keyed on the Cookie header too, when it sets a cookie).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(h["Set-Cookie"]) > 0 {
		noStore(h)
	} else {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Code: code, Message: message})
}

// msgUnavailable is the message of a 503 the package answers itself.
const msgUnavailable = "Qelos is unavailable; your session is kept, try again shortly"

// WriteError answers status with the JSON body {"code": code}, never to be
// stored by a cache; a 503 also says Retry-After: 1. It is what
// Config.ErrorHandler falls back to, less the message for humans the
// package adds by default.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, code, "")
}

// fail answers a refusal: through Config.ErrorHandler when one is set,
// else with the JSON body and its message.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if m != nil && m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(guardCookies(w), r, status, code)
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, code, message)
}

// Unauthorized answers {"code":"UNAUTHORIZED"}, as every Qelos
// integrator does.
func Unauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, "")
}

// Unavailable answers 503 {"code":"QELOS_UNAVAILABLE"}: the user may well be
// signed in, but Qelos could not be reached to confirm it. The session
// cookies are untouched; the client may retry.
func Unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, CodeQelosUnavailable, msgUnavailable)
}
