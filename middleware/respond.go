package middleware

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	qelos "github.com/qelos-io/integrator-go"
)

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

// fail answers err, an error the package refuses a request with, through
// Config.ErrorHandler (default qelos.WriteError). The writer it hands over
// makes the answer uncacheable if it sets a cookie. m may be nil (a guard
// on a request no Handler saw): then qelos.WriteError answers.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	answer := qelos.WriteError
	if m != nil && m.cfg.ErrorHandler != nil {
		answer = m.cfg.ErrorHandler
	}
	answer(guardCookies(w), r, err)
}

// unavailableError is the 503 of a request Qelos could not be asked about;
// its session is kept. cause, when known, says why.
func unavailableError(cause error) *qelos.Error {
	return &qelos.Error{Status: http.StatusServiceUnavailable, Code: qelos.CodeQelosUnavailable, Message: qelos.MsgUnavailable, Err: cause}
}

// tooMany answers 429 with Retry-After in whole seconds, rounded up.
func (m *Middleware) tooMany(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	secs := max(1, int((retry+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	m.fail(w, r, &qelos.Error{Status: http.StatusTooManyRequests, Code: qelos.CodeTooManyAttempts, Message: "too many sign-in attempts; try again in " + strconv.Itoa(secs) + " s"})
}
