package refresh

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	// DefaultPatience is how long a failing Locker is retried before the
	// Coordinator coordinates in its own process only.
	DefaultPatience = 2 * time.Second
)

// Options configure a [Coordinator]. The zero value is usable.
type Options struct {
	// Store keeps outcomes for the grace window. Default: a MemoryStore of
	// DefaultMemoryStoreSize entries. A Store that is also a Locker (such as
	// refresh/redisstore) coordinates several replicas.
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
	// least this long, or it, not the Coordinator, decides when to give up.
	CallTimeout time.Duration
	// Patience is how long the Coordinator keeps retrying a Locker that
	// fails (every 50 ms) before it gives up on it and refreshes within
	// its own process. A store that answers slowly for a moment — a busy
	// machine, a failover — must not make two replicas spend one token and
	// sign the user out; one that stays down this long is treated as down.
	// Default: DefaultPatience (2 s).
	Patience time.Duration
	// Logger receives a warning when the Store fails and the Coordinator
	// falls back to memory (once per outage). Default: slog.Default().
	Logger *slog.Logger
}

// A Coordinator spends each refresh token once. Concurrent callers with the
// same refresh token share one upstream call and receive the same [Pair];
// callers that arrive within the grace window after it completed receive
// the recorded pair. It is safe for concurrent use.
type Coordinator struct {
	refresher Refresher
	store     Store
	locker    Locker // nil unless store is one
	grace     time.Duration
	timeout   time.Duration
	patience  time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight

	storeDown   sync.Mutex // guards outageSince
	outageSince time.Time  // when the store started failing; zero while it works
}

type flight struct {
	done chan struct{}
	pair Pair
	err  error
}

// NewCoordinator returns a Coordinator that refreshes through r.
func NewCoordinator(r Refresher, opts Options) *Coordinator {
	c := &Coordinator{
		refresher: r,
		store:     opts.Store,
		grace:     opts.Grace,
		timeout:   opts.CallTimeout,
		patience:  opts.Patience,
		log:       opts.Logger,
		flights:   make(map[string]*flight),
	}
	if c.store == nil {
		c.store = NewMemoryStore(0)
	}
	c.locker, _ = c.store.(Locker)
	if c.grace <= 0 {
		c.grace = DefaultGrace
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCallTimeout
	}
	if c.patience <= 0 {
		c.patience = DefaultPatience
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
	key := Key(refreshToken)
	if p, ok := c.recorded(ctx, key); ok {
		return p, nil
	}
	f := c.join(key, refreshToken)
	select {
	case <-f.done:
		return f.pair, f.err
	case <-ctx.Done():
		return Pair{}, unavailable(0, ctx.Err())
	}
}

// recorded returns the outcome kept for key, if any.
func (c *Coordinator) recorded(ctx context.Context, key string) (Pair, bool) {
	p, ok, err := c.store.Get(ctx, key)
	c.noteStore(err)
	return p, ok && err == nil
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

// fly performs the refresh detached from every caller. A success is in the
// store before the flight is let go, so a caller arriving afterwards finds
// it there; a failure is shared only by the callers already waiting.
func (c *Coordinator) fly(f *flight, key, refreshToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	pair, err := c.spend(ctx, key, refreshToken)
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	f.pair, f.err = pair, err
	close(f.done)
}

// spend refreshes once across every process sharing the store. Without a
// Locker the in-process flight is the only coordination. With one, a
// failing Locker is retried for the patience window before this process
// refreshes on its own: a slow answer is not an outage.
func (c *Coordinator) spend(ctx context.Context, key, refreshToken string) (Pair, error) {
	// A caller that missed the store just before the previous flight
	// recorded its outcome, and joined just after that flight ended, starts
	// this one: the outcome is in the store by now.
	if p, ok := c.recorded(ctx, key); ok {
		return p, nil
	}
	// One patience window covers the whole coordination, lock and record;
	// a store already known to be down gets a quarter of it (enough to ride
	// over the reconnection when it returns).
	patience := c.patience
	if c.longOutage() {
		patience /= 4
	}
	giveUp := time.Now().Add(patience)
	if c.locker == nil {
		return c.refreshAndRecord(ctx, key, refreshToken, giveUp)
	}
	for {
		release, owned, err := c.locker.TryLock(ctx, key)
		if err != nil {
			c.noteStore(err)
			if c.retry(ctx, giveUp) {
				continue
			}
			return c.refreshAndRecord(ctx, key, refreshToken, giveUp)
		}
		if owned {
			defer release()
			// Another replica may have finished between our first look and
			// the lock: make sure, patiently, before spending the token.
			p, ok, err := c.store.Get(ctx, key)
			for err != nil && c.retry(ctx, giveUp) {
				c.noteStore(err)
				p, ok, err = c.store.Get(ctx, key)
			}
			if ok && err == nil {
				return p, nil
			}
			return c.refreshAndRecord(ctx, key, refreshToken, giveUp)
		}
		p, ok, err := c.locker.Wait(ctx, key)
		switch {
		case ok:
			return p, nil
		case ctx.Err() != nil:
			return Pair{}, unavailable(0, ctx.Err())
		case err != nil:
			c.noteStore(err)
			if !c.retry(ctx, giveUp) {
				return c.refreshAndRecord(ctx, key, refreshToken, giveUp)
			}
		}
		// The owner let go without an outcome, or the store hiccupped:
		// look again.
	}
}

// retry waits a moment before another try at a failing store, and reports
// false once giveUp has passed or ctx is done.
func (c *Coordinator) retry(ctx context.Context, giveUp time.Time) bool {
	if !time.Now().Before(giveUp) {
		return false
	}
	select {
	case <-time.After(50 * time.Millisecond):
		return true
	case <-ctx.Done():
		return false
	}
}

// refreshAndRecord spends the token and records the new pair, retrying a
// failing store until giveUp.
func (c *Coordinator) refreshAndRecord(ctx context.Context, key, refreshToken string, giveUp time.Time) (Pair, error) {
	p, err := c.refresher.Refresh(ctx, refreshToken)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = unavailable(0, err) // an unclassified failure is never definitive
		}
		return Pair{}, err
	}
	// The token is spent: the new pair must reach the store, or waiting
	// replicas would spend the old token again and sign the user out.
	for err := c.store.Put(ctx, key, p, c.grace); err != nil; err = c.store.Put(ctx, key, p, c.grace) {
		c.noteStore(err)
		if !c.retry(ctx, giveUp) {
			break
		}
	}
	return p, nil
}

// noteStore logs the first store failure of an outage and the recovery.
func (c *Coordinator) noteStore(err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller left; says nothing about the store
	}
	c.storeDown.Lock()
	defer c.storeDown.Unlock()
	switch {
	case err != nil && c.outageSince.IsZero():
		c.outageSince = time.Now()
		c.log.Warn("qelos refresh: store unavailable, coordinating in this process only until it returns", "err", err)
	case err == nil && !c.outageSince.IsZero():
		c.outageSince = time.Time{}
		c.log.Info("qelos refresh: store available again")
	}
}

// longOutage reports whether the store has been failing for longer than
// the patience window: then it is down, and waiting on it again would only
// slow every refresh.
func (c *Coordinator) longOutage() bool {
	c.storeDown.Lock()
	defer c.storeDown.Unlock()
	return !c.outageSince.IsZero() && time.Since(c.outageSince) > c.patience
}
