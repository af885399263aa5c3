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
// never fatal to a request: the [Coordinator] keeps every outcome in its own
// memory as well, and a failing shared store degrades coordination to one
// process, never to none.
type Store interface {
	// Get returns the pair recorded for key, and false when there is none
	// (never recorded, expired, or unreadable).
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
	// lease alive until release is called or ctx is done; release frees it
	// (only if still owned) and stops renewing. If the owner dies, the lease
	// lapses and another process may take over.
	TryLock(ctx context.Context, key string) (release func(), ok bool, err error)
	// Wait blocks until a pair is recorded under key (true), the owner is
	// known to have let go without one (false: it left a "gave up" mark, or
	// its lease lapsed in the same store lifetime, so the caller may try to
	// take the lock itself), or ctx is done (its error). A lock that
	// vanished because the store restarted or failed over is not a
	// permission to take over: Wait keeps waiting for the outcome. An
	// outcome it cannot read is an error wrapping [ErrInDoubt].
	Wait(ctx context.Context, key string) (Pair, bool, error)
}

// A LockHolder is a [Locker] that can tell whether this process still holds
// the lock it took for key, in the same store lifetime. The Coordinator asks
// it before it treats Qelos's rejection of a token as the end of a session:
// a lock lost meanwhile (a restart, a failover, a lapsed lease) means
// another replica may have spent the token, and the rejection then proves
// nothing. Optional; without it a rejection under the lock is final.
type LockHolder interface {
	Holds(ctx context.Context, key string) (bool, error)
}

// A FailureSharer is a [Store] that can also share, for a short window, the
// news that a refresh failed transiently (Qelos answered 5xx or garbage, or
// timed out), so that the callers of other processes answer "unavailable"
// at once instead of retrying a failing Qelos together. While the failure
// is recorded, the Store's Get for that key (and a Locker's Wait) returns an
// error wrapping [ErrFailedRecently]. Optional.
type FailureSharer interface {
	// PutFailure records that the refresh of key failed, for ttl.
	PutFailure(ctx context.Context, key string, ttl time.Duration) error
}

// A Forgetter is a [Store] that can drop a recorded outcome before its
// grace window ends: signing out must not leave the new pair available to
// the old one. Optional.
type Forgetter interface {
	Forget(ctx context.Context, key string) error
}

// A Revoker is a [Store] that also keeps a set of revoked access tokens,
// each until it expires, so that a sign-out on one replica is honoured by
// all of them. Keys come from [Key] applied to the access token. Optional.
type Revoker interface {
	// Revoke records key as revoked until the given time (the token's own
	// expiry: after it the token is refused anyway, so the set stays bounded).
	Revoke(ctx context.Context, key string, until time.Time) error
	// Revoked reports whether key is revoked.
	Revoked(ctx context.Context, key string) (bool, error)
	// OnRevoke registers f to be called, from any goroutine, with every
	// revocation another process records, as soon as the store learns of it.
	// The Coordinator uses it to keep its in-process set current, which the
	// warm path of every request consults without a round trip.
	OnRevoke(f func(key string, until time.Time))
}

// A KeyedStore is a [Store] that encrypts what it keeps with secrets the
// application supplies. The middleware hands it every cookie key's hash
// key when it is created, so that values sealed by a replica whose keys are
// in another order (in the middle of a key rotation) still open. Optional.
type KeyedStore interface {
	// AcceptSecrets adds secrets that open stored values (the store keeps
	// sealing with its own). Safe to call while the store is in use.
	AcceptSecrets(secrets ...[]byte)
}

// MemoryStore is a [Store] for a single process: a bounded map whose entries
// expire. The zero value is not usable; call [NewMemoryStore].
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	entries map[string]memoryEntry
	expiry  expiryHeap // every entry by expiry, soonest first; may hold stale items
	seq     uint64
	now     func() time.Time
}

var _ Forgetter = (*MemoryStore)(nil)

type memoryEntry struct {
	pair    Pair
	expires time.Time
	seq     uint64 // matches the heap item that stands for this entry
}

// DefaultMemoryStoreSize is the number of outcomes a [MemoryStore] keeps when
// asked for size 0: room for ten thousand refreshes inside one grace window,
// about 20 MB at Qelos token sizes.
const DefaultMemoryStoreSize = 10_000

// NewMemoryStore returns a store that keeps at most size outcomes (0 means
// [DefaultMemoryStoreSize]), evicting the soonest to expire when full.
// Evicting early only costs a straggler its grace: it then refreshes
// upstream and, the token being spent, is signed out.
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

// Put implements [Store]. It costs O(log n): expired entries are swept from
// the front of an expiry heap, and a full store evicts the entry closest to
// its end.
func (s *MemoryStore) Put(_ context.Context, key string, p Pair, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	if _, exists := s.entries[key]; !exists {
		for len(s.entries) >= s.max && s.expiry.Len() > 0 {
			it := s.expiry.pop()
			if e, ok := s.entries[it.key]; ok && e.seq == it.seq {
				delete(s.entries, it.key)
			}
		}
	}
	s.seq++
	e := memoryEntry{pair: p, expires: now.Add(ttl), seq: s.seq}
	s.entries[key] = e
	s.expiry.push(expiryItem{key: key, at: e.expires, seq: e.seq})
	if s.expiry.Len() > 2*s.max+64 {
		s.compact()
	}
	return nil
}

// sweep drops the entries that expired by now, and stale heap items met on
// the way. s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	for s.expiry.Len() > 0 {
		it := s.expiry.items[0]
		e, ok := s.entries[it.key]
		switch {
		case !ok || e.seq != it.seq: // forgotten or replaced
		case !now.Before(it.at):
			delete(s.entries, it.key)
		default:
			return
		}
		s.expiry.pop()
	}
}

// compact rebuilds the heap from the live entries: Forget and replacing
// Puts leave stale items behind, which this drops in one pass, amortised
// over the more than max Puts that made them. s.mu is held.
func (s *MemoryStore) compact() {
	items := s.expiry.items[:0]
	for _, it := range s.expiry.items {
		if e, ok := s.entries[it.key]; ok && e.seq == it.seq {
			items = append(items, it)
		}
	}
	clear(s.expiry.items[len(items):])
	s.expiry.items = items
	s.expiry.init()
}

// Forget implements [Forgetter]. The heap item stays until a sweep or a
// compaction meets it.
func (s *MemoryStore) Forget(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, key)
	return nil
}

// Len reports how many outcomes the store holds, expired ones included until
// they are swept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
