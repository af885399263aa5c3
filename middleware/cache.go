package middleware

import (
	"sync"
	"time"
)

// expiring is a bounded map whose entries expire. It backs each of the
// middleware's caches: opened cookies (the warm path: a hit on the sealed
// cookie value means the cookie already opened with the app's keys),
// verified bearer tokens, identities Qelos vouched for, workspace lists and
// workspace re-checks, each with its own bound. An entry's expiry is
// computed when it is put (on a miss); a hit compares one integer. A nil
// *expiring is a disabled cache: every get misses and put does nothing.
type expiring[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]expiringEntry[V]
	max int
	now func() time.Time // the injected clock (Config.Now), for eviction
}

type expiringEntry[V any] struct {
	v     V
	until int64 // unix nanoseconds
}

// newExpiring returns a cache of at most max entries, or nil (disabled)
// when max is not positive.
func newExpiring[K comparable, V any](max int, now func() time.Time) *expiring[K, V] {
	if max <= 0 {
		return nil
	}
	return &expiring[K, V]{m: make(map[K]expiringEntry[V]), max: max, now: now}
}

// get returns the value kept for key, if it has not expired at now.
func (c *expiring[K, V]) get(key K, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= e.until {
		return zero, false
	}
	return e.v, true
}

// put keeps v for key until the given time.
func (c *expiring[K, V]) put(key K, v V, until time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict()
	}
	c.m[key] = expiringEntry[V]{v: v, until: until.UnixNano()}
}

func (c *expiring[K, V]) remove(key K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// removeIf drops every entry whose value matches.
func (c *expiring[K, V]) removeIf(match func(V) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if match(e.v) {
			delete(c.m, k)
		}
	}
}

// evict drops about an eighth of the entries, expired ones first, else
// arbitrary ones (map order is random), so eviction is amortised O(1).
func (c *expiring[K, V]) evict() {
	now := c.now().UnixNano()
	target := len(c.m) - c.max + c.max/8 + 1
	for k, e := range c.m {
		if target <= 0 {
			return
		}
		if now >= e.until {
			delete(c.m, k)
			target--
		}
	}
	for k := range c.m {
		if target <= 0 {
			return
		}
		delete(c.m, k)
		target--
	}
}

func (c *expiring[K, V]) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
