package refresh

import (
	"context"
	"sync"
	"time"
)

// A Store remembers the outcome of a refresh for the grace window, so that a
// request still carrying the old pair gets the new one. Keys come from [Key];
// a Store never sees a token it could replay except inside the Pair it keeps.
//
// Implementations must be safe for concurrent use. An error from a Store is
// never fatal to a request: the [Coordinator] falls back to coordinating in
// memory.
type Store interface {
	// Get returns the pair recorded for key, and false when there is none
	// (never recorded, or expired).
	Get(ctx context.Context, key string) (Pair, bool, error)
	// Put records p under key for ttl.
	Put(ctx context.Context, key string, p Pair, ttl time.Duration) error
}

// A Locker is a [Store] that can also coordinate several processes: one
// process at a time holds the lock for a key and performs the refresh; the
// others wait for the outcome it records.
//
// Within one process the [Coordinator] already coalesces callers, so a
// Locker's methods are called at most once per key and process at a time.
type Locker interface {
	Store
	// TryLock takes the lock for key without waiting. It reports false when
	// another owner holds it. While held, the implementation keeps the lock's
	// lease alive; release frees it (only if still owned) and stops renewing.
	// If the owner dies, the lease lapses and another process may take over.
	TryLock(ctx context.Context, key string) (release func(), ok bool, err error)
	// Wait blocks until a pair is recorded under key (true), the lock is
	// free with no pair recorded (false: the owner gave up or died, so the
	// caller may try to take the lock itself), or ctx is done (its error).
	Wait(ctx context.Context, key string) (Pair, bool, error)
}

// MemoryStore is a [Store] for a single process: a bounded map whose entries
// expire. The zero value is not usable; call [NewMemoryStore].
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	entries map[string]memoryEntry
	order   []string // insertion order, oldest first, for eviction
	now     func() time.Time
}

type memoryEntry struct {
	pair    Pair
	expires time.Time
}

// DefaultMemoryStoreSize is the number of outcomes a [MemoryStore] keeps when
// asked for size 0: room for ten thousand refreshes inside one grace window,
// about 20 MB at Qelos token sizes.
const DefaultMemoryStoreSize = 10_000

// NewMemoryStore returns a store that keeps at most size outcomes (0 means
// [DefaultMemoryStoreSize]), evicting the oldest when full. Evicting early
// only costs a straggler its grace: it then refreshes upstream and, the token
// being spent, is signed out.
func NewMemoryStore(size int) *MemoryStore {
	if size <= 0 {
		size = DefaultMemoryStoreSize
	}
	return &MemoryStore{max: size, entries: make(map[string]memoryEntry), now: time.Now}
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) (Pair, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || !s.now().Before(e.expires) {
		return Pair{}, false, nil
	}
	return e.pair, true, nil
}

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, key string, p Pair, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.entries[key]; !exists {
		for len(s.entries) >= s.max && len(s.order) > 0 {
			delete(s.entries, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, key)
	}
	s.entries[key] = memoryEntry{pair: p, expires: s.now().Add(ttl)}
	if cap(s.order) > 4*s.max { // keep the backing array from growing without bound
		s.order = append([]string(nil), s.order...)
	}
	return nil
}

// Len reports how many outcomes the store holds, expired ones included until
// they are evicted.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
