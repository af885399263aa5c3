package refresh

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestMemoryStoreStaysBoundedUnderPutForget: sign-outs Forget what refreshes
// Put. The store's bookkeeping stays within a constant factor of its size,
// however many cycles run (it used to grow with every Forget, and to copy
// itself on every Put once grown).
func TestMemoryStoreStaysBoundedUnderPutForget(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(1000)
	for i := range 50_000 {
		k := strconv.Itoa(i)
		s.Put(ctx, k, Pair{AccessToken: "a", RefreshToken: "r"}, time.Minute)
		s.Forget(ctx, k)
		if n := s.expiry.Len(); n > 2*s.max+64 {
			t.Fatalf("after %d Put+Forget cycles the expiry heap holds %d items for a store of %d", i+1, n, s.max)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("%d entries left after forgetting them all", s.Len())
	}
}

// TestMemoryStoreEvictsSoonestToExpire: a full store evicts the entry
// closest to its end, and sweeps expired ones first.
func TestMemoryStoreEvictsSoonestToExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	s := NewMemoryStore(3)
	s.now = func() time.Time { return now }
	p := Pair{AccessToken: "a", RefreshToken: "r"}
	s.Put(ctx, "long", p, time.Hour)
	s.Put(ctx, "short", p, time.Minute)
	s.Put(ctx, "middle", p, 30*time.Minute)
	s.Put(ctx, "new", p, time.Hour) // full: "short" goes
	for _, tt := range []struct {
		key  string
		want bool
	}{{"long", true}, {"short", false}, {"middle", true}, {"new", true}} {
		if _, ok, _ := s.Get(ctx, tt.key); ok != tt.want {
			t.Errorf("%s kept: %v, want %v", tt.key, ok, tt.want)
		}
	}
	now = now.Add(31 * time.Minute) // "middle" expires
	s.Put(ctx, "later", p, time.Hour)
	if _, ok, _ := s.Get(ctx, "long"); !ok {
		t.Error("a live entry was evicted while an expired one was there to sweep")
	}
}

// TestRevokedSetEvictsSoonestToExpire: past maxRevoked, the revocations
// closest to their end go first, never one that lasts longer.
func TestRevokedSetEvictsSoonestToExpire(t *testing.T) {
	var s revokedSet
	now := time.Unix(1_000_000, 0)
	for i := range maxRevoked {
		s.add(strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Millisecond), now)
	}
	s.add("soonest", now.Add(time.Minute), now)
	s.add("latest", now.Add(30*24*time.Hour), now)
	if s.len() != maxRevoked {
		t.Fatalf("%d entries, want the bound %d", s.len(), maxRevoked)
	}
	for _, tt := range []struct {
		key  string
		want bool
	}{{"latest", true}, {"soonest", false}, {"0", false}, {"1", true}, {strconv.Itoa(maxRevoked - 1), true}} {
		if got := s.has(tt.key, now); got != tt.want {
			t.Errorf("%s revoked: %v, want %v", tt.key, got, tt.want)
		}
	}
	if s.has("latest", now.Add(31*24*time.Hour)) {
		t.Error("a revocation outlived its time")
	}
}
