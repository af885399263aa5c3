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
	log       *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight

	storeDown sync.Mutex // guards outage
	outage    bool       // a store failure was logged and has not recovered
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
// Locker, or when the Locker fails, the in-process flight is the only
// coordination.
func (c *Coordinator) spend(ctx context.Context, key, refreshToken string) (Pair, error) {
	// A caller that missed the store just before the previous flight
	// recorded its outcome, and joined just after that flight ended, starts
	// this one: the outcome is in the store by now.
	if p, ok := c.recorded(ctx, key); ok {
		return p, nil
	}
	if c.locker == nil {
		return c.refreshAndRecord(ctx, key, refreshToken)
	}
	for {
		release, owned, err := c.locker.TryLock(ctx, key)
		c.noteStore(err)
		if err != nil {
			return c.refreshAndRecord(ctx, key, refreshToken)
		}
		if owned {
			defer release()
			// Another replica may have finished between our first look and
			// the lock.
			if p, ok := c.recorded(ctx, key); ok {
				return p, nil
			}
			return c.refreshAndRecord(ctx, key, refreshToken)
		}
		p, ok, err := c.locker.Wait(ctx, key)
		switch {
		case ok:
			return p, nil
		case ctx.Err() != nil:
			return Pair{}, unavailable(0, ctx.Err())
		case err != nil:
			c.noteStore(err)
			return c.refreshAndRecord(ctx, key, refreshToken)
		}
		// The owner let go without an outcome: take over.
	}
}

func (c *Coordinator) refreshAndRecord(ctx context.Context, key, refreshToken string) (Pair, error) {
	p, err := c.refresher.Refresh(ctx, refreshToken)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = unavailable(0, err) // an unclassified failure is never definitive
		}
		return Pair{}, err
	}
	c.noteStore(c.store.Put(ctx, key, p, c.grace))
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
	case err != nil && !c.outage:
		c.outage = true
		c.log.Warn("qelos refresh: store unavailable, coordinating in this process only until it returns", "err", err)
	case err == nil && c.outage:
		c.outage = false
		c.log.Info("qelos refresh: store available again")
	}
}
