package middleware

import (
	"errors"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/refresh"
)

// kindError gives a cause one of the model's kinds, keeping what it
// matched before.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// unavailable marks err transient.
func unavailable(err error) error {
	if err == nil || errors.Is(err, qelos.ErrUnavailable) {
		return err
	}
	return &kindError{qelos.ErrUnavailable, err}
}

// rejected marks err a rejection.
func rejected(err error) error {
	if err == nil || errors.Is(err, qelos.ErrUnauthorized) {
		return err
	}
	return &kindError{qelos.ErrUnauthorized, err}
}

// classify gives an error from the refresh package (or from this one) its
// kind: a rejection when Qelos rejected the token, else transient.
func classify(err error) error {
	if refresh.IsDefinitive(err) {
		return rejected(err)
	}
	return unavailable(err)
}
