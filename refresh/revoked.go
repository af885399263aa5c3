package refresh

import (
	"sync"
	"sync/atomic"
	"time"
)

// revokedSet is the in-process set of revoked names, each until a time.
// Lookups (every warm request) read a sync.Map without locking; inserts
// cost O(log n): an expiry heap sweeps what has expired and, past
// maxRevoked, evicts the names closest to their end, never arbitrary ones.
type revokedSet struct {
	m      sync.Map     // key → time.Time until
	n      atomic.Int64 // entries in m; zero skips the lookup
	mu     sync.Mutex   // guards expiry and serialises writers
	expiry expiryHeap
}

// has reports whether key is revoked at now.
func (s *revokedSet) has(key string, now time.Time) bool {
	if s.n.Load() == 0 {
		return false
	}
	until, ok := s.m.Load(key)
	return ok && now.Before(until.(time.Time))
}

// add records key until the given time (a later time wins over an earlier
// one for the same key).
func (s *revokedSet) add(key string, until, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.expiry.Len() > 0 && !now.Before(s.expiry.items[0].at) {
		s.drop(s.expiry.pop())
	}
	if old, ok := s.m.Load(key); ok && !old.(time.Time).Before(until) {
		return
	}
	if _, loaded := s.m.Swap(key, until); !loaded {
		s.n.Add(1)
	}
	s.expiry.push(expiryItem{key: key, at: until})
	for s.n.Load() > maxRevoked && s.expiry.Len() > 0 {
		s.drop(s.expiry.pop())
	}
	if s.expiry.Len() > 2*maxRevoked+64 {
		items := s.expiry.items[:0]
		for _, it := range s.expiry.items {
			if v, ok := s.m.Load(it.key); ok && v.(time.Time).Equal(it.at) {
				items = append(items, it)
			}
		}
		clear(s.expiry.items[len(items):])
		s.expiry.items = items
		s.expiry.init()
	}
}

// drop removes it's key if the heap item still stands for its entry. s.mu
// is held.
func (s *revokedSet) drop(it expiryItem) {
	if v, ok := s.m.Load(it.key); ok && v.(time.Time).Equal(it.at) {
		s.m.Delete(it.key)
		s.n.Add(-1)
	}
}

// len reports how many names the set holds.
func (s *revokedSet) len() int { return int(s.n.Load()) }
