package refresh

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for [Options].
const (
	// DefaultGrace is how long a refresh's outcome is kept for stragglers.
	DefaultGrace = 30 * time.Second
	// DefaultCallTimeout bounds a detached refresh, waiting on other
	// replicas included. It is long on purpose: callers stop waiting much
	// sooner (on their own contexts), but a rotation Qelos completes late
	// must still be recorded, or the single-use token is burnt.
	DefaultCallTimeout = 30 * time.Second
	// DefaultPatience is how long a flight retries a slow store.
	DefaultPatience = 2 * time.Second
	// DefaultFailureWindow is how long a transient refresh failure is
	// shared with the callers that arrive after it.
	DefaultFailureWindow = time.Second
	// storeRetry is the pause between two tries at a failing store.
	storeRetry = 50 * time.Millisecond
	// maxRevoked bounds the in-process set of revoked names; each entry
	// lives only until the time its revocation was given, and past the
	// bound the entries closest to their end go first.
	maxRevoked = 100_000
)

// Options configure a [Coordinator]. The zero value is usable.
type Options struct {
	// Store keeps outcomes for the grace window, shared with other
	// replicas. The Coordinator keeps every outcome in its own memory as
	// well, so a failing Store costs cross-replica coordination only.
	// Default: none beyond that memory. A Store that is also a Locker (such
	// as refresh/redisstore) coordinates several replicas.
	Store Store
	// Grace is how long a new pair stays available to requests that still
	// carry the old one. Browsers fire requests in bursts and may hold a
	// stale cookie for a moment; 30 s covers that without keeping spent
	// tokens' outcomes for long. Default: DefaultGrace.
	Grace time.Duration
	// CallTimeout bounds the detached refresh, including any wait for
	// another replica. It may outlive the callers that started it, so that a
	// rotation Qelos completes late is still recorded rather than lost.
	// Default: DefaultCallTimeout (30 s). Give the Refresher a timeout at
	// least this long, or it, not the Coordinator, decides when to give up;
	// and give a Locker a lease longer than this (see refresh/redisstore).
	CallTimeout time.Duration
	// Patience is how long a flight retries a store that is slow (a
	// timeout: a busy machine, a failover), counted from its first failure,
	// before it answers ErrUnavailable; it also bounds the store calls made
	// once the refresh is done (sharing a failure, confirming the lock). A
	// store that reports it cannot tell (ErrInDoubt: down, restarting) is
	// not retried: the flight answers ErrUnavailable at once. With a Locker, a Coordinator never spends a
	// token without holding the lock: a store that is down, restarted or
	// partitioned away cannot tell it that no other replica is spending the
	// same token, so the session is answered "unavailable" (cookies kept)
	// until the store returns, not signed out by a second spend.
	// Default: DefaultPatience (2 s).
	Patience time.Duration
	// FailureWindow is how long a transient failure of the refresh (5xx,
	// timeout, an answer that is not a token pair) is returned to callers
	// arriving after it, in this process and, through a FailureSharer, in
	// the others: a failing Qelos gets one call per token per window, not
	// one per request. Default: DefaultFailureWindow (1 s).
	FailureWindow time.Duration
	// Logger receives a warning when the Store fails (once per outage) and
	// a note when it recovers. Default: slog.Default().
	Logger *slog.Logger
	// Now is the Coordinator's clock: the grace and failure windows and
	// revocations' ends are measured with it. Tests and the
	// testing kit pass a clock they advance, so nothing sleeps. It must be
	// safe for concurrent use. Default: time.Now.
	Now func() time.Time
}

// A Coordinator spends each refresh token once. Concurrent callers with the
// same refresh token share one upstream call and receive the same [Pair];
// callers that arrive within the grace window after it completed receive
// the recorded pair. It also keeps the set of revoked access tokens (see
// [Coordinator.Revoke]). It is safe for concurrent use.
type Coordinator struct {
	refresher Refresher
	store     Store         // the shared store; nil for memory only
	local     *MemoryStore  // every outcome, for the grace window
	locker    Locker        // nil unless store is one
	sharer    FailureSharer // nil unless store is one
	grace     time.Duration
	timeout   time.Duration
	patience  time.Duration
	failFor   time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu       sync.Mutex
	flights  map[string]*flight
	failures map[string]failure // transient failures, for failFor

	revoked revokedSet // Key(name) → until

	onRevoke atomic.Pointer[[]func(key string)] // see OnRevoke

	storeDown   sync.Mutex // guards outageSince
	outageSince time.Time  // when the store started failing; zero while it works
}

type flight struct {
	done     chan struct{}
	pair     Pair
	recorded bool // the pair was found recorded, not obtained by this flight
	err      error
}

type failure struct {
	err   error
	until time.Time
}

// NewCoordinator returns a Coordinator that refreshes through r.
func NewCoordinator(r Refresher, opts Options) *Coordinator {
	c := &Coordinator{
		refresher: r,
		store:     opts.Store,
		grace:     opts.Grace,
		timeout:   opts.CallTimeout,
		patience:  opts.Patience,
		failFor:   opts.FailureWindow,
		log:       opts.Logger,
		now:       opts.Now,
		flights:   make(map[string]*flight),
		failures:  make(map[string]failure),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if m, ok := c.store.(*MemoryStore); ok {
		c.local, c.store = m, nil // already in memory: nothing to share
	} else {
		c.local = NewMemoryStore(0)
		c.local.now = c.now
	}
	c.locker, _ = c.store.(Locker)
	c.sharer, _ = c.store.(FailureSharer)
	if rv, ok := c.store.(Revoker); ok {
		rv.OnRevoke(c.revokeLocally)
	}
	if c.grace <= 0 {
		c.grace = DefaultGrace
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCallTimeout
	}
	if c.patience <= 0 {
		c.patience = DefaultPatience
	}
	if c.failFor <= 0 {
		c.failFor = DefaultFailureWindow
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Refresh returns the pair that replaces refreshToken. The first caller for a
// token starts one detached upstream call; every caller waits for it on its
// own ctx, so cancelling one caller never fails the others. A caller whose
// ctx ends first gets an error wrapping both [ErrUnavailable] and ctx.Err().
func (c *Coordinator) Refresh(ctx context.Context, refreshToken string) (Pair, error) {
	p, _, err := c.Exchange(ctx, refreshToken)
	return p, err
}

// Exchange is [Coordinator.Refresh] that also reports whether the pair is
// an outcome recorded earlier (within the grace window) rather than one
// this call's refresh just obtained: a recorded pair's access token may
// have expired since, and the caller may then exchange its refresh token
// in turn.
func (c *Coordinator) Exchange(ctx context.Context, refreshToken string) (p Pair, recorded bool, err error) {
	key := Key(refreshToken)
	if p, ok, _ := c.local.Get(ctx, key); ok {
		return p, true, nil
	}
	if err := c.failed(key); err != nil {
		// Another replica may have succeeded where this one failed.
		if c.store != nil {
			if p, ok, _ := c.store.Get(ctx, key); ok {
				c.local.Put(ctx, key, p, c.grace)
				return p, true, nil
			}
		}
		return Pair{}, false, err
	}
	f := c.join(key, refreshToken)
	select {
	case <-f.done:
		return f.pair, f.recorded, f.err
	case <-ctx.Done():
		return Pair{}, false, unavailable(0, ctx.Err())
	}
}

// Forget drops the outcome recorded for refreshToken, here and in the
// shared store (if it is a [Forgetter]), so that the old pair no longer
// yields the new one. Sign-out calls it.
func (c *Coordinator) Forget(ctx context.Context, refreshToken string) error {
	key := Key(refreshToken)
	c.local.Forget(ctx, key)
	if f, ok := c.store.(Forgetter); ok {
		return f.Forget(ctx, key)
	}
	return nil
}

// Revoke records name (a session's name, or a token) as revoked until the
// given time, in this process and in the shared store when it is a
// [Revoker]; [Coordinator.Revoked] then reports it, on every replica. Give
// the end of what is revoked: for a session, its refresh token's expiry.
// A name whose time has passed is not recorded: it is refused anyway.
func (c *Coordinator) Revoke(ctx context.Context, name string, until time.Time) error {
	if !c.now().Before(until) {
		return nil
	}
	key := Key(name)
	c.revokeLocally(key, until)
	if rv, ok := c.store.(Revoker); ok {
		return rv.Revoke(ctx, key, until)
	}
	return nil
}

// Revoked reports whether accessToken was revoked. It answers from memory,
// which the shared store keeps current; with shared true and a [Revoker]
// store, it also asks the store (a round trip: for a session met for the
// first time, not for every request). A failing store counts as "not
// revoked": the revocation still holds wherever it is known.
//
// The "token" may be any string that names what was signed out: the
// middleware revokes a session by its pair of tokens, since Qelos issues
// byte-identical access tokens to one user within one second.
func (c *Coordinator) Revoked(ctx context.Context, accessToken string, shared bool) bool {
	if c.revoked.len() == 0 && !shared {
		return false // the warm path: no hashing, no lock
	}
	return c.RevokedKey(ctx, Key(accessToken), shared)
}

// RevokedKey is [Coordinator.Revoked] for a token already hashed with
// [Key], for callers that hash once and ask on every request.
func (c *Coordinator) RevokedKey(ctx context.Context, key string, shared bool) bool {
	if !shared && c.revoked.len() == 0 {
		return false // the warm path: nothing revoked in this process
	}
	rv, ok := c.store.(Revoker)
	shared = shared && ok
	if c.revoked.len() == 0 && !shared {
		return false
	}
	if c.revoked.has(key, c.now()) {
		return true
	}
	if !shared {
		return false
	}
	// No shortcut on a store known to be down: a Store that can fail fast
	// (refresh/redisstore's breaker) answers in microseconds, and asking it
	// is what notices that it is back.
	yes, err := rv.Revoked(ctx, key)
	if ctx.Err() == nil {
		c.noteStore(err)
	}
	return err == nil && yes
}

// revokeLocally adds key to the in-process set (see revokedSet).
func (c *Coordinator) revokeLocally(key string, until time.Time) {
	c.revoked.add(key, until, c.now())
	c.revokedHooks(key)
}

// failed returns the transient failure recorded for key, if it is recent.
func (c *Coordinator) failed(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.failures[key]
	if !ok {
		return nil
	}
	if !c.now().Before(f.until) {
		delete(c.failures, key)
		return nil
	}
	return f.err
}

// join returns the flight for key, starting it if there is none.
func (c *Coordinator) join(key, refreshToken string) *flight {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[key]; ok {
		return f
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	go c.fly(f, key, refreshToken)
	return f
}

// fly performs the refresh detached from every caller. A success is in
// memory before the flight is let go, so a caller arriving afterwards finds
// it; a transient failure is kept for the failure window.
func (c *Coordinator) fly(f *flight, key, refreshToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	pair, err := c.spend(ctx, key, refreshToken, &f.recorded)
	c.mu.Lock()
	delete(c.flights, key)
	if err != nil && !IsDefinitive(err) && !errors.Is(err, errStore) {
		// Qelos failed: share it for the failure window. A store that
		// failed is not kept from the next request: it fails fast by itself.
		c.failures[key] = failure{err: err, until: c.now().Add(c.failFor)}
	}
	c.prune()
	c.mu.Unlock()
	f.pair, f.err = pair, err
	close(f.done)
}

// prune drops expired failures. c.mu is held.
func (c *Coordinator) prune() {
	if len(c.failures) < 1024 {
		return
	}
	now := c.now()
	for k, f := range c.failures {
		if !now.Before(f.until) {
			delete(c.failures, k)
		}
	}
}

// spend refreshes once across every process sharing the store.
//
// The rule: the token is spent only by a process that knows nobody else is
// spending it, which with a Locker means holding the lock. A process that
// has seen another owner waits for that owner's outcome; one that cannot
// tell (the store is down, restarted, or holds an outcome it cannot read)
// answers ErrUnavailable and spends nothing, so its callers keep their
// cookies until the store can tell.
func (c *Coordinator) spend(ctx context.Context, key, refreshToken string, recorded *bool) (Pair, error) {
	// A caller that missed the outcome just before the previous flight
	// recorded it, and joined just after that flight ended, starts this one.
	if p, ok, _ := c.local.Get(ctx, key); ok {
		*recorded = true
		return p, nil
	}
	if c.store == nil {
		return c.refreshAndRecord(ctx, key, refreshToken, nil)
	}
	if c.locker == nil {
		if p, ok, err := c.shared(ctx, key); ok || errors.Is(err, ErrFailedRecently) || errors.Is(err, ErrInDoubt) {
			*recorded = ok
			return p, err
		}
		return c.refreshAndRecord(ctx, key, refreshToken, nil)
	}
	// With a Locker, the first look is the owner's, under the lock (see
	// own): one round trip fewer than looking first and again after.
	var firstFail time.Time
	for {
		if ctx.Err() != nil {
			return Pair{}, unavailable(0, ctx.Err())
		}
		l := c.newLease(ctx)
		release, owned, err := c.locker.TryLock(l.ctx, key)
		switch {
		case err != nil:
			l.end()
			if !c.storeFailed(ctx, err, &firstFail) {
				return Pair{}, storeUnavailable(err)
			}
			continue
		case owned:
			c.noteStore(nil)
			l.release = release
			return c.own(ctx, key, refreshToken, l, recorded)
		}
		l.end()
		c.noteStore(nil)
		p, ok, err := c.locker.Wait(ctx, key)
		switch {
		case ok:
			c.local.Put(ctx, key, p, c.grace)
			return p, nil
		case ctx.Err() != nil:
			return Pair{}, unavailable(0, ctx.Err())
		case errors.Is(err, ErrFailedRecently):
			c.noteStore(nil)
			return Pair{}, unavailable(0, err)
		case errors.Is(err, ErrOutcomeUnreadable):
			c.noteStore(nil)
			return Pair{}, storeUnavailable(err)
		case err != nil:
			// An owner was seen: its outcome is coming, and this flight
			// (not its callers, who leave on their own deadlines) waits for
			// it through the store's failure, without ever taking over.
			c.noteStore(err)
			select {
			case <-time.After(storeRetry):
			case <-ctx.Done():
				return Pair{}, storeUnavailable(err)
			}
			p, ok, err = c.waitOwner(ctx, key)
			if ok {
				c.local.Put(ctx, key, p, c.grace)
				return p, nil
			}
			switch {
			case errors.Is(err, ErrFailedRecently):
				return Pair{}, unavailable(0, err)
			case err != nil:
				return Pair{}, storeUnavailable(err)
			}
		}
		// The owner left a "gave up" mark, or its lease lapsed in this
		// store's lifetime: nobody is spending the token. Take over.
	}
}

// waitOwner waits for the outcome of an owner already seen, retrying a
// failing store until ctx ends. It returns an error only for an outcome
// that cannot be had: a shared failure, one it cannot decrypt, or ctx's
// end.
func (c *Coordinator) waitOwner(ctx context.Context, key string) (Pair, bool, error) {
	for {
		p, ok, err := c.locker.Wait(ctx, key)
		switch {
		case ok:
			c.noteStore(nil)
			return p, true, nil
		case ctx.Err() != nil:
			return Pair{}, false, ctx.Err()
		case errors.Is(err, ErrFailedRecently), errors.Is(err, ErrOutcomeUnreadable):
			return Pair{}, false, err
		case err == nil:
			return Pair{}, false, nil // the owner gave up: take over
		}
		// The store is down or cannot tell yet: the owner's outcome may
		// still come.
		c.noteStore(err)
		select {
		case <-time.After(storeRetry):
		case <-ctx.Done():
			return Pair{}, false, err
		}
	}
}

// A lease is the life of a lock this process may hold. The Locker renews
// it while lease.ctx lives: until the refresh's deadline (CallTimeout), so
// that an owner stuck in its upstream call lets go in time; or, once the
// refresh has succeeded, until the pair is recorded in the store.
type lease struct {
	ctx      context.Context
	stop     context.CancelFunc
	watchdog func() bool // stops tying the lease to the refresh's deadline
	release  func()      // the Locker's release, once owned
}

func (c *Coordinator) newLease(ctx context.Context) *lease {
	lctx, stop := context.WithCancel(context.Background())
	return &lease{ctx: lctx, stop: stop, watchdog: context.AfterFunc(ctx, stop)}
}

// keep unties the lease from the refresh's deadline: the token is spent,
// and the lease must outlive the record step.
func (l *lease) keep() {
	if l != nil {
		l.watchdog()
	}
}

// abandon stops renewing the lock without letting go of it: it lapses.
func (l *lease) abandon() {
	if l != nil {
		l.watchdog()
		l.stop()
	}
}

// end lets go of the lock (if owned) and stops renewing it.
func (l *lease) end() {
	if l == nil {
		return
	}
	if l.release != nil {
		l.release()
	}
	l.watchdog()
	l.stop()
}

// storeFailed notes a store error and reports whether the flight should
// try the store again (after a pause): only for a store that is slow or
// hiccuped (a timeout), within the patience window counted from this
// flight's first failure. A store that knows it cannot tell (ErrInDoubt:
// down, restarting) is not retried. A caller's own deadline is not a store
// failure (the loop ends on ctx).
func (c *Coordinator) storeFailed(ctx context.Context, err error, first *time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	c.noteStore(err)
	now := c.now()
	if first.IsZero() {
		*first = now
	}
	if errors.Is(err, ErrInDoubt) || now.Sub(*first) >= c.patience {
		return false
	}
	select {
	case <-time.After(storeRetry):
	case <-ctx.Done():
	}
	return true
}

// shared reads an outcome from the store, remembering a pair locally. It
// returns ErrFailedRecently (wrapped in ErrUnavailable) when another
// replica's refresh just failed.
func (c *Coordinator) shared(ctx context.Context, key string) (Pair, bool, error) {
	p, ok, err := c.store.Get(ctx, key)
	if errors.Is(err, ErrFailedRecently) || errors.Is(err, ErrInDoubt) {
		c.noteStore(nil)
		return Pair{}, false, unavailable(0, err)
	}
	if ctx.Err() == nil {
		c.noteStore(err)
	}
	if ok && err == nil {
		c.local.Put(ctx, key, p, c.grace)
		return p, true, nil
	}
	return Pair{}, false, err
}

// own runs the refresh while holding the lock. Another replica may have
// finished between the first look and the lock (or failed just now): look
// again before spending the token. A store that fails at this look cannot
// say whether an outcome is recorded: the token is not spent.
func (c *Coordinator) own(ctx context.Context, key, refreshToken string, l *lease, recorded *bool) (Pair, error) {
	var firstFail time.Time
	for {
		p, ok, err := c.shared(ctx, key)
		if errors.Is(err, ErrFailedRecently) {
			l.end()
			return Pair{}, err
		}
		if errors.Is(err, ErrInDoubt) {
			l.end()
			return Pair{}, storeUnavailable(err)
		}
		if err == nil {
			if ok {
				l.end()
				*recorded = true
				return p, nil
			}
			break
		}
		if ctx.Err() != nil {
			l.end()
			return Pair{}, unavailable(0, ctx.Err())
		}
		if !c.storeFailed(ctx, err, &firstFail) {
			l.end()
			return Pair{}, storeUnavailable(err)
		}
	}
	return c.refreshAndRecord(ctx, key, refreshToken, l)
}

// refreshAndRecord spends the token and records the outcome: a new pair in
// memory at once and in the shared store in the background (retrying on a
// budget of its own while the lock, if held, is kept), then lets go of the
// lock; a transient failure is shared before the lock is let go. A
// rejection ends the session only if nobody else can have spent the token:
// the lock, when there is one, is still this process's (see settle).
func (c *Coordinator) refreshAndRecord(ctx context.Context, key, refreshToken string, l *lease) (Pair, error) {
	p, err := c.call(ctx, key, refreshToken)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = unavailable(0, err) // an unclassified failure is never definitive
		}
		if IsDefinitive(err) {
			err = c.settle(key, l, err)
		}
		if !IsDefinitive(err) && c.sharer != nil {
			sctx, cancel := context.WithTimeout(context.Background(), c.patience)
			c.sharer.PutFailure(sctx, key, c.failFor)
			cancel()
		}
		l.end()
		return Pair{}, err
	}
	l.keep()
	c.local.Put(ctx, key, p, c.grace)
	if c.store != nil {
		go c.record(key, p, l)
	} else {
		l.end()
	}
	return p, nil
}

// settle decides whether Qelos's rejection of a token spent under the lock
// l is final. It is when there is no shared lock (one process) or the
// Locker confirms the lock is still this process's; a lock lost meanwhile,
// or a store that cannot say, turns it into ErrUnavailable wrapping
// ErrInDoubt: another replica may have spent the token and handed the
// browser its successor, which a cleared cookie would then destroy.
func (c *Coordinator) settle(key string, l *lease, rejected error) error {
	if l == nil || c.locker == nil {
		return rejected
	}
	lh, ok := c.locker.(LockHolder)
	if !ok {
		return rejected
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.patience)
	defer cancel()
	held, err := lh.Holds(ctx, key)
	if err == nil && held {
		return rejected
	}
	c.log.Warn("qelos refresh: Qelos rejected a refresh token after this replica lost its lock on it; keeping the session's cookies, since another replica may have spent the token", "err", err)
	return unavailable(0, errors.Join(ErrInDoubt, err))
}

// call runs the Refresher, returning by ctx's deadline even if the
// Refresher ignores it; a pair it obtains later anyway is kept in memory.
func (c *Coordinator) call(ctx context.Context, key, refreshToken string) (Pair, error) {
	type result struct {
		p   Pair
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := c.refresher.Refresh(ctx, refreshToken)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				c.local.Put(context.Background(), key, r.p, c.grace)
			}
		}()
		return Pair{}, unavailable(0, ctx.Err())
	}
}

// record puts p in the shared store, retrying for CallTimeout from now: the
// token is spent, and until the pair is there the other replicas can only
// wait (they never spend a token whose owner they have seen).
//
// If it never gets there, the lock is not released but left to lapse: a
// release without a pair tells waiters the owner gave up, and they would
// spend the token again, which Qelos would refuse while the browser holds
// the new pair.
func (c *Coordinator) record(key string, p Pair, l *lease) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	for {
		err := c.store.Put(ctx, key, p, c.grace)
		if ctx.Err() == nil {
			c.noteStore(err)
		}
		if err == nil {
			l.end()
			return
		}
		select {
		case <-time.After(storeRetry):
		case <-ctx.Done():
			l.abandon()
			c.log.Warn("qelos refresh: could not record a refresh in the shared store; other replicas will answer 503 for this session until its lease lapses", "err", err)
			return
		}
	}
}

// noteStore logs the first store failure of an outage and the recovery,
// and returns when the current outage started (zero when there is none).
// Callers never pass an error caused by their own context.
func (c *Coordinator) noteStore(err error) time.Time {
	c.storeDown.Lock()
	defer c.storeDown.Unlock()
	switch {
	case err != nil && c.outageSince.IsZero():
		c.outageSince = c.now()
		c.log.Warn("qelos refresh: shared store unavailable; coordinating in this process until it returns", "err", err)
	case err == nil && !c.outageSince.IsZero():
		c.outageSince = time.Time{}
		c.log.Info("qelos refresh: shared store available again")
	}
	return c.outageSince
}
