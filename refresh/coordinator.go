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
	// DefaultPatience is how long a failing shared store is retried, from
	// its first failure, before a Coordinator that has seen no other owner
	// coordinates within its own process.
	DefaultPatience = 2 * time.Second
	// DefaultFailureWindow is how long a transient refresh failure is
	// shared with the callers that arrive after it.
	DefaultFailureWindow = time.Second
	// storeRetry is the pause between two tries at a failing store.
	storeRetry = 50 * time.Millisecond
	// maxRevoked bounds the in-process set of revoked access tokens; each
	// entry lives only until its token expires.
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
	// Patience is how long a failing Locker is retried, counted from its
	// first failure, before a Coordinator that has seen no other replica
	// refreshing this token refreshes within its own process. A store that
	// answers slowly for a moment — a busy machine, a failover — must not
	// make two replicas spend one token; one that stays down this long is
	// treated as down. A Coordinator that has seen another owner never
	// spends the token on its own: it answers ErrUnavailable until it can
	// read the outcome or sees the lock free. Default: DefaultPatience (2 s).
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

	mu       sync.Mutex
	flights  map[string]*flight
	failures map[string]failure   // transient failures, for failFor
	owners   map[string]time.Time // keys another replica was seen refreshing, until

	revoked    sync.Map     // Key(access token) → time.Time until
	revokedLen atomic.Int64 // entries in revoked; zero skips the lookup

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
		flights:   make(map[string]*flight),
		failures:  make(map[string]failure),
		owners:    make(map[string]time.Time),
	}
	if m, ok := c.store.(*MemoryStore); ok {
		c.local, c.store = m, nil // already in memory: nothing to share
	} else {
		c.local = NewMemoryStore(0)
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

// Revoke records accessToken as revoked until its expiry, in this process
// and in the shared store when it is a [Revoker]; [Coordinator.Revoked]
// then reports it, on every replica. A token already expired is not
// recorded: it is refused anyway.
func (c *Coordinator) Revoke(ctx context.Context, accessToken string, until time.Time) error {
	if !time.Now().Before(until) {
		return nil
	}
	key := Key(accessToken)
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
	if c.revokedLen.Load() == 0 && !shared {
		return false // the warm path: no hashing, no lock
	}
	return c.RevokedKey(ctx, Key(accessToken), shared)
}

// RevokedKey is [Coordinator.Revoked] for a token already hashed with
// [Key], for callers that hash once and ask on every request.
func (c *Coordinator) RevokedKey(ctx context.Context, key string, shared bool) bool {
	rv, ok := c.store.(Revoker)
	shared = shared && ok
	if c.revokedLen.Load() == 0 && !shared {
		return false
	}
	if until, ok := c.revoked.Load(key); ok && time.Now().Before(until.(time.Time)) {
		return true
	}
	if !shared || c.storeIsDown() {
		return false
	}
	yes, err := rv.Revoked(ctx, key)
	if ctx.Err() == nil {
		c.noteStore(err)
	}
	return err == nil && yes
}

// revokeLocally adds key to the in-process set, pruning expired entries
// (and, past maxRevoked, the soonest to expire) so the set stays bounded.
func (c *Coordinator) revokeLocally(key string, until time.Time) {
	if _, loaded := c.revoked.Swap(key, until); !loaded {
		c.revokedLen.Add(1)
	}
	c.revokedHooks(key)
	if c.revokedLen.Load() <= maxRevoked {
		return
	}
	now := time.Now()
	c.revoked.Range(func(k, v any) bool {
		if !now.Before(v.(time.Time)) || c.revokedLen.Load() > maxRevoked {
			if _, ok := c.revoked.LoadAndDelete(k); ok {
				c.revokedLen.Add(-1)
			}
		}
		return true
	})
}

// failed returns the transient failure recorded for key, if it is recent.
func (c *Coordinator) failed(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.failures[key]
	if !ok {
		return nil
	}
	if !time.Now().Before(f.until) {
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
	if err != nil && !IsDefinitive(err) {
		c.failures[key] = failure{err: err, until: time.Now().Add(c.failFor)}
	}
	c.prune()
	c.mu.Unlock()
	f.pair, f.err = pair, err
	close(f.done)
}

// prune drops expired failures and owner sightings. c.mu is held.
func (c *Coordinator) prune() {
	if len(c.failures)+len(c.owners) < 1024 {
		return
	}
	now := time.Now()
	for k, f := range c.failures {
		if !now.Before(f.until) {
			delete(c.failures, k)
		}
	}
	for k, until := range c.owners {
		if !now.Before(until) {
			delete(c.owners, k)
		}
	}
}

// sawOwner remembers, for the grace window, that another process was seen
// refreshing key: until its outcome is read or its lock is seen free, this
// process must not spend the token.
func (c *Coordinator) sawOwner(key string) {
	c.mu.Lock()
	c.owners[key] = time.Now().Add(c.grace)
	c.mu.Unlock()
}

func (c *Coordinator) ownerSeen(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.owners[key]
	return ok && time.Now().Before(until)
}

func (c *Coordinator) ownerGone(key string) {
	c.mu.Lock()
	delete(c.owners, key)
	c.mu.Unlock()
}

// spend refreshes once across every process sharing the store.
//
// The rule: the token is spent only by a process that knows nobody else is
// spending it — it holds the lock, or the store has failed since before it
// saw any other owner for longer than the patience window (then it
// coordinates within its own process). A process that has seen another
// owner waits for that owner's outcome, retrying a failing store, and
// answers ErrUnavailable if its callers' patience runs out first.
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
		if p, ok, err := c.shared(ctx, key); ok || errors.Is(err, ErrFailedRecently) {
			*recorded = ok
			return p, err
		}
		return c.refreshAndRecord(ctx, key, refreshToken, nil)
	}
	// With a Locker, the first look is the owner's, under the lock (see
	// own): one round trip fewer than looking first and again after.
	fails := 0
	for {
		if ctx.Err() != nil {
			return Pair{}, unavailable(0, ctx.Err())
		}
		l := c.newLease(ctx)
		release, owned, err := c.locker.TryLock(l.ctx, key)
		switch {
		case err != nil:
			l.end()
			if !c.storeFailed(ctx, err, key, &fails) {
				return c.refreshAndRecord(ctx, key, refreshToken, nil)
			}
			continue
		case owned:
			c.noteStore(nil)
			l.release = release
			return c.own(ctx, key, refreshToken, l, recorded)
		}
		l.end()
		c.noteStore(nil)
		c.sawOwner(key)
		p, ok, err := c.locker.Wait(ctx, key)
		switch {
		case ok:
			c.local.Put(ctx, key, p, c.grace)
			c.ownerGone(key)
			return p, nil
		case ctx.Err() != nil:
			return Pair{}, unavailable(0, ctx.Err())
		case errors.Is(err, ErrFailedRecently):
			c.ownerGone(key)
			return Pair{}, unavailable(0, err)
		case err != nil:
			c.storeFailed(ctx, err, key, &fails)
			continue
		}
		// The lock is free and no pair was recorded: the owner gave up or
		// its lease lapsed. Take over.
		c.ownerGone(key)
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

// storeFailed notes a store error and waits before the next try. It
// reports false when this process should stop waiting for the store and
// coordinate alone: the store has failed for longer than the patience
// window, counted from its first failure, this flight has tried it twice
// (a connection left stale by a restart fails once), and no other owner of
// key has been seen. A caller's own deadline is not a store failure.
func (c *Coordinator) storeFailed(ctx context.Context, err error, key string, fails *int) bool {
	if ctx.Err() != nil {
		return true // the loop ends on ctx
	}
	since := c.noteStore(err)
	*fails++
	if *fails >= 2 && !c.ownerSeen(key) && time.Since(since) >= c.patience {
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
	if errors.Is(err, ErrFailedRecently) {
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
// again, patiently, before spending the token.
func (c *Coordinator) own(ctx context.Context, key, refreshToken string, l *lease, recorded *bool) (Pair, error) {
	fails := 0
	for {
		p, ok, err := c.shared(ctx, key)
		if errors.Is(err, ErrFailedRecently) {
			l.end()
			return Pair{}, err
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
		if !c.storeFailed(ctx, err, key, &fails) {
			break // we hold the lock: nobody else is spending the token
		}
	}
	return c.refreshAndRecord(ctx, key, refreshToken, l)
}

// refreshAndRecord spends the token and records the outcome: a new pair in
// memory at once and in the shared store in the background (retrying on a
// budget of its own while the lock, if held, is kept), then lets go of the
// lock; a transient failure is shared before the lock is let go.
func (c *Coordinator) refreshAndRecord(ctx context.Context, key, refreshToken string, l *lease) (Pair, error) {
	p, err := c.call(ctx, key, refreshToken)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = unavailable(0, err) // an unclassified failure is never definitive
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
func (c *Coordinator) record(key string, p Pair, l *lease) {
	defer l.end()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	for {
		err := c.store.Put(ctx, key, p, c.grace)
		if ctx.Err() == nil {
			c.noteStore(err)
		}
		if err == nil {
			return
		}
		select {
		case <-time.After(storeRetry):
		case <-ctx.Done():
			c.log.Warn("qelos refresh: could not record a refresh in the shared store; other replicas will answer 503 for this session until its grace window ends", "err", err)
			return
		}
	}
}

// storeIsDown reports whether the shared store is failing now.
func (c *Coordinator) storeIsDown() bool {
	c.storeDown.Lock()
	defer c.storeDown.Unlock()
	return !c.outageSince.IsZero()
}

// noteStore logs the first store failure of an outage and the recovery,
// and returns when the current outage started (zero when there is none).
// Callers never pass an error caused by their own context.
func (c *Coordinator) noteStore(err error) time.Time {
	c.storeDown.Lock()
	defer c.storeDown.Unlock()
	switch {
	case err != nil && c.outageSince.IsZero():
		c.outageSince = time.Now()
		c.log.Warn("qelos refresh: shared store unavailable; coordinating in this process until it returns", "err", err)
	case err == nil && !c.outageSince.IsZero():
		c.outageSince = time.Time{}
		c.log.Info("qelos refresh: shared store available again")
	}
	return c.outageSince
}
