package account

import (
	"encoding/json"
	"net/http"

	"github.com/qelos-io/integrator-go"
)

// WriteJSON answers status with v as JSON, never to be stored by a cache.
// The handlers' writers (Core.NoStore) make it private and keyed on the
// Cookie header too when it sets a cookie.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// unavailableError is the 503 of a request Qelos could not be asked about;
// its session is kept.
func unavailableError() *qelos.Error {
	return &qelos.Error{Status: http.StatusServiceUnavailable, Code: qelos.CodeQelosUnavailable, Message: qelos.MsgUnavailable}
}
