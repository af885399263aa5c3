package refresh

import (
	"errors"
	"fmt"
)

// ErrRejected reports that Qelos refused the refresh token (401 or 403): it is
// unknown, expired, already used, or its session was logged out. The session
// is over; clear the user's credentials.
var ErrRejected = errors.New("refresh: Qelos rejected the refresh token")

// ErrUnavailable reports a transient failure: a timeout, a refused or reset
// connection, a 5xx or other unexpected status, or a body that is not a token
// pair. The session may still be valid; keep the user's credentials and try
// again later.
var ErrUnavailable = errors.New("refresh: Qelos is unavailable")

// ErrFailedRecently is returned (wrapped) by a [FailureSharer]'s Get and
// Wait while another process's failed refresh of the key is being shared.
// It is not a store failure; the Coordinator answers [ErrUnavailable].
var ErrFailedRecently = errors.New("refresh: another replica's refresh of this token failed just now")

// ErrInDoubt is returned (wrapped) by a shared store when this process
// cannot know whether another one is spending the token: the store is
// down (refresh/redisstore's breaker is open), it restarted or failed over
// while an owner may have been refreshing, or an outcome is recorded that
// it cannot decrypt (sealed with a key it lacks, in the middle of a key
// rotation). It is never a permission to spend: the Coordinator answers
// [ErrUnavailable] at once, without retrying, and the cookies are kept.
var ErrInDoubt = errors.New("refresh: this replica cannot know whether another is spending this token")

// ErrOutcomeUnreadable is returned (wrapped, with [ErrInDoubt]) by a shared
// store that holds an outcome for the token which it cannot decrypt: another
// replica spent the token and sealed its new pair with a key this one lacks
// (a key rotation done in one step). Waiting will not make it readable.
var ErrOutcomeUnreadable = errors.New("refresh: the token's outcome was recorded with a key this replica does not have")

// Error describes a failed refresh. It matches [ErrRejected] or
// [ErrUnavailable] with errors.Is, and unwraps to its cause. It never holds a
// token.
type Error struct {
	// Kind is ErrRejected or ErrUnavailable.
	Kind error
	// Status is the HTTP status Qelos answered, or 0 when there was no answer.
	Status int
	// Err is the underlying cause, if any (a net error, a JSON error).
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Status != 0 && e.Err != nil:
		return fmt.Sprintf("%v: status %d: %v", e.Kind, e.Status, e.Err)
	case e.Status != 0:
		return fmt.Sprintf("%v: status %d", e.Kind, e.Status)
	case e.Err != nil:
		return fmt.Sprintf("%v: %v", e.Kind, e.Err)
	}
	return e.Kind.Error()
}

// Unwrap returns the kind and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// IsDefinitive reports whether err means the session is over (Qelos rejected
// the refresh token), as opposed to a transient fault after which the
// credentials must be kept.
func IsDefinitive(err error) bool { return errors.Is(err, ErrRejected) }

// errStore marks an ErrUnavailable caused by the shared store (down, or
// unable to tell), not by Qelos: it is not shared for the failure window.
var errStore = errors.New("refresh: the shared store cannot coordinate this refresh")

func storeUnavailable(cause error) error {
	return &Error{Kind: ErrUnavailable, Err: errors.Join(errStore, cause)}
}

func unavailable(status int, cause error) error {
	return &Error{Kind: ErrUnavailable, Status: status, Err: cause}
}
