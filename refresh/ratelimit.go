package refresh

import (
	"context"
	"time"
)

// A RateCounter counts attempts in a sliding window, shared by every
// process that uses it. It is an optional upgrade of a [Store]: the
// middleware's sign-in rate limit uses the RefreshStore's counter when the
// store is one (the Redis store is), so that replicas share the limit, and
// counts in process memory otherwise.
//
// Take records one attempt under key at now, unless limit attempts are
// already recorded in (now−window, now]: then it records nothing and
// reports ok false with retryAfter, the time until the oldest of them
// leaves the window. Attempts refused are not recorded, so a caller
// hammering a key gets exactly limit attempts per window through. key is
// chosen by the caller; implementations must bound what they keep per key
// (at most limit entries) and forget a key a window after its last
// attempt. It must be safe for concurrent use.
type RateCounter interface {
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
}
