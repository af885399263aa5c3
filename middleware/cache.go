package middleware

import (
	"sync"
	"time"
)

// openedCache remembers cookies that already opened, keyed by the sealed
// cookie value itself: only a value that opened with the app's keys gets in,
// so a hit is as good as opening it again. Entries carry the time at which
// the session needs a refresh; past it they are misses.
type openedCache struct {
	mu  sync.RWMutex
	m   map[string]cacheEntry
	max int
}

type cacheEntry struct {
	auth      *Auth
	refreshAt int64 // unix nanoseconds
}

func newOpenedCache(max int) *openedCache {
	if max < 0 {
		return nil
	}
	return &openedCache{m: make(map[string]cacheEntry), max: max}
}

// get returns the Auth for a sealed access cookie that does not yet need a
// refresh at now.
func (c *openedCache) get(cookie string, now time.Time) (*Auth, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[cookie]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= e.refreshAt {
		return nil, false
	}
	return e.auth, true
}

func (c *openedCache) put(cookie string, a *Auth, refreshAt time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict()
	}
	c.m[cookie] = cacheEntry{auth: a, refreshAt: refreshAt.UnixNano()}
}

func (c *openedCache) remove(cookie string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, cookie)
	c.mu.Unlock()
}

// evict drops about an eighth of the entries, expired ones first, else
// arbitrary ones (map order is random), so eviction is amortised O(1).
func (c *openedCache) evict() {
	now := time.Now().UnixNano()
	target := len(c.m) - c.max + c.max/8 + 1
	for k, e := range c.m {
		if target <= 0 {
			return
		}
		if now >= e.refreshAt {
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

func (c *openedCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
