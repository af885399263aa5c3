package qelos_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	qelos "github.com/qelos-io/integrator-go"
)

// TestErrorMatchesItsSentinel: errors.Is finds the sentinel of an Error's
// status (or code) and its cause, through wrapping; errors.As finds the
// Error.
func TestErrorMatchesItsSentinel(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	tests := []struct {
		name string
		err  *qelos.Error
		is   error
		not  error
	}{
		{"401", &qelos.Error{Status: 401, Code: qelos.CodeUnauthorized}, qelos.ErrUnauthorized, qelos.ErrForbidden},
		{"403", &qelos.Error{Status: 403, Code: qelos.CodeNoWorkspace}, qelos.ErrForbidden, qelos.ErrUnauthorized},
		{"400", &qelos.Error{Status: 400, Code: qelos.CodeInvalidInput}, qelos.ErrInvalid, qelos.ErrUnavailable},
		{"404", &qelos.Error{Status: 404, Code: qelos.CodeNotFound}, qelos.ErrNotFound, qelos.ErrInvalid},
		{"502", &qelos.Error{Status: 502, Code: qelos.CodeProxyUpstreamError}, qelos.ErrUnavailable, qelos.ErrUnauthorized},
		{"503 with its cause", &qelos.Error{Status: 503, Code: qelos.CodeQelosUnavailable, Err: cause}, cause, qelos.ErrForbidden},
		{"422", &qelos.Error{Status: 422, Code: qelos.CodeSessionTooLarge}, qelos.ErrSessionTooLarge, qelos.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := fmt.Errorf("handler: %w", tt.err)
			if !errors.Is(wrapped, tt.is) || errors.Is(wrapped, tt.not) {
				t.Errorf("Is(%v) = %v, Is(%v) = %v", tt.is, errors.Is(wrapped, tt.is), tt.not, errors.Is(wrapped, tt.not))
			}
			var e *qelos.Error
			if !errors.As(wrapped, &e) || e != tt.err {
				t.Errorf("As found %v", e)
			}
		})
	}
}

// TestWriteError: every error maps to one answer, with the body the
// package has always written.
func TestWriteError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		retry  string
	}{
		{"typed", &qelos.Error{Status: 403, Code: qelos.CodeForbidden, Message: "no", Err: errors.New("secret cause")}, 403, `{"code":"FORBIDDEN","message":"no"}` + "\n", ""},
		{"invalid fields", &qelos.Error{Status: 400, Code: qelos.CodeInvalidInput, Message: "bad form", Fields: map[string]string{"email": "INVALID_EMAIL"}}, 400, `{"code":"INVALID_INPUT","message":"bad form","errors":{"email":"INVALID_EMAIL"}}` + "\n", ""},
		{"unauthorized sentinel", qelos.ErrUnauthorized, 401, `{"code":"UNAUTHORIZED"}` + "\n", ""},
		{"unavailable, wrapped", fmt.Errorf("refresh: %w", qelos.ErrUnavailable), 503, `{"code":"QELOS_UNAVAILABLE","message":"` + qelos.MsgUnavailable + `"}` + "\n", "1"},
		{"a Qelos answer", &qelos.APIError{Status: 404}, 404, `{"code":"NOT_FOUND"}` + "\n", ""},
		{"outside the model", errors.New("boom"), 500, `{"code":"INTERNAL_ERROR"}` + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			qelos.WriteError(w, httptest.NewRequest("GET", "/", nil), tt.err)
			if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Retry-After") != tt.retry {
				t.Errorf("got %d %q Retry-After %q", w.Code, w.Body.String(), w.Header().Get("Retry-After"))
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", w.Header())
			}
		})
	}
}
