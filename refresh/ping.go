package refresh

import "context"

// A Pinger is a [Store] that can tell whether it is reachable: an optional
// upgrade the middleware's readiness handler uses, so that a replica whose
// shared store is down is reported not ready. The Redis store is one.
type Pinger interface {
	Ping(ctx context.Context) error
}
