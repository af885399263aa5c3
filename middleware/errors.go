package middleware

import (
	"errors"

	"github.com/qelos-io/integrator-go/refresh"
)

// The error model. Every error the package reports — Auth.Err, Event.Err,
// and the errors of Client's methods — matches exactly one of two kinds
// with errors.Is:
//
//   - ErrUnavailable: transient. Qelos could not be reached, timed out,
//     failed (5xx) or answered something unreadable. The session is kept;
//     try again later. It also matches refresh.ErrUnavailable when a
//     refresh failed.
//   - ErrUnauthorized: a rejection. The credential is no good (expired,
//     tampered with, signed out, refused by Qelos). It also matches
//     refresh.ErrRejected when Qelos rejected a refresh token.
//
// An *APIError from a Client call matches, by status, ErrUnauthorized,
// ErrForbidden, ErrNotFound, ErrInvalid or ErrUnavailable.
var (
	// ErrUnauthorized: Qelos did not accept the credentials (401), or the
	// middleware rejected them.
	ErrUnauthorized = errors.New("qelos: unauthorized")
	// ErrForbidden: Qelos refused the operation to this user (403).
	ErrForbidden = errors.New("qelos: forbidden")
	// ErrNotFound: no such resource, or not visible to this user (404).
	ErrNotFound = errors.New("qelos: not found")
	// ErrInvalid: Qelos refused the input (400).
	ErrInvalid = errors.New("qelos: invalid request")
	// ErrUnavailable: Qelos could not be reached or failed (5xx, timeout,
	// unreadable answer). Transient: try again later.
	ErrUnavailable = errors.New("qelos: unavailable")
)

// kindError gives a cause one of the model's kinds, keeping what it
// matched before.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// unavailable marks err transient.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &kindError{ErrUnavailable, err}
}

// rejected marks err a rejection.
func rejected(err error) error {
	if err == nil || errors.Is(err, ErrUnauthorized) {
		return err
	}
	return &kindError{ErrUnauthorized, err}
}

// classify gives an error from the refresh package (or from this one) its
// kind: a rejection when Qelos rejected the token, else transient.
func classify(err error) error {
	if refresh.IsDefinitive(err) {
		return rejected(err)
	}
	return unavailable(err)
}
