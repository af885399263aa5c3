package middleware

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExpiringBounds: the cache stays within its entry and byte bounds
// whatever is put, refuses an entry over an eighth of its bytes, counts
// what remove and removeIf drop, and sweeps expired entries every
// sweepInterval on a get or a put, full or not.
func TestExpiringBounds(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	size := func(k string, v string) int64 { return int64(len(k) + len(v)) }
	tests := []struct {
		name            string
		max             int
		maxBytes        int64
		puts            int
		key, value      int // sizes
		wantAtMost      int
		wantBytesAtMost int64
	}{
		{"bytes bind first", 10_000, 64 << 10, 1000, 100, 900, 64, 64 << 10},
		{"entries bind first", 50, 64 << 20, 1000, 10, 10, 50, 64 << 20},
		{"entries over an eighth are not kept", 10_000, 64 << 10, 100, 10, 9 << 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newExpiring(tt.max, tt.maxBytes, size, clock)
			for i := range tt.puts {
				k := strings.Repeat("k", tt.key-8) + strings.Repeat("0", 8-len(strconv.Itoa(i))) + strconv.Itoa(i)
				c.put(k, strings.Repeat("v", tt.value), now.Add(time.Hour))
				if c.len() > tt.max || c.memory() > tt.maxBytes {
					t.Fatalf("after %d puts: %d entries, %d bytes: over %d, %d", i+1, c.len(), c.memory(), tt.max, tt.maxBytes)
				}
			}
			if c.len() > tt.wantAtMost || c.memory() > tt.wantBytesAtMost {
				t.Fatalf("%d entries, %d bytes; want at most %d, %d", c.len(), c.memory(), tt.wantAtMost, tt.wantBytesAtMost)
			}
			if tt.wantAtMost > 0 && c.len() == 0 {
				t.Fatal("nothing kept")
			}
		})
	}
	t.Run("remove and removeIf give the bytes back", func(t *testing.T) {
		c := newExpiring(100, 1<<20, size, clock)
		c.put("a", "1", now.Add(time.Hour))
		c.put("b", "22", now.Add(time.Hour))
		c.put("a", "333", now.Add(time.Hour)) // replaced, not added
		c.remove("a")
		c.removeIf(func(v string) bool { return v == "22" })
		if c.len() != 0 || c.memory() != 0 {
			t.Fatalf("%d entries, %d bytes left", c.len(), c.memory())
		}
	})
	t.Run("expired entries are swept on schedule", func(t *testing.T) {
		c := newExpiring(100, 1<<20, size, clock)
		c.get("x", now) // schedules the first sweep
		for i := range 50 {
			c.put("short"+strconv.Itoa(i), "v", now.Add(time.Second))
		}
		c.put("long", "v", now.Add(time.Hour))
		now = now.Add(sweepInterval - time.Millisecond)
		c.get("long", now)
		if c.len() != 51 {
			t.Fatalf("%d entries before the sweep is due, want 51", c.len())
		}
		now = now.Add(time.Millisecond)
		if _, ok := c.get("long", now); !ok || c.len() != 1 {
			t.Fatalf("%d entries after the sweep, want 1 (the unexpired one)", c.len())
		}
	})
}

// TestExpiringRecent: with the lock-free front on, a get answers exactly
// what the map holds, through every way an entry leaves it (replaced,
// removed, removeIf, swept, evicted, expired), whether every key shares
// one slot or they spread over all of them; and a returning key is
// served from the front.
func TestExpiringRecent(t *testing.T) {
	tests := []struct {
		name string
		slot func(string) uint
	}{
		{"one slot for every key", func(string) uint { return 0 }},
		{"keys spread", stringSlot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_000_000, 0)
			clock := func() time.Time { return now }
			size := func(k string, v string) int64 { return int64(len(k) + len(v)) }
			c := newExpiring(8, 1<<20, size, clock).withRecent(tt.slot)
			type want struct {
				v     string
				until time.Time
			}
			model := map[string]want{}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 20_000 {
				k := "key" + strconv.Itoa(rng.IntN(12))
				switch op := rng.IntN(10); {
				case op < 4:
					v := strconv.Itoa(i)
					until := now.Add(time.Duration(1+rng.IntN(30)) * time.Second)
					c.put(k, v, until)
					model[k] = want{v, until}
				case op == 4:
					c.remove(k)
					delete(model, k)
				case op == 5 && i%50 == 0:
					c.removeIf(func(v string) bool { return len(v)%2 == 0 })
					for mk, w := range model {
						if len(w.v)%2 == 0 {
							delete(model, mk)
						}
					}
				case op == 6:
					now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
				default:
					got, ok := c.get(k, now)
					w, held := model[k]
					if ok && (!held || got != w.v || !now.Before(w.until)) {
						t.Fatalf("step %d: get(%s) = %q, which the cache no longer holds (model %+v, held %v)", i, k, got, w, held)
					}
					if ok {
						continue
					}
					// A miss: the entry expired, or was evicted to stay
					// within 8 entries; either way it is gone for good.
					if held && now.Before(w.until) {
						delete(model, k)
					}
				}
			}
			now = now.Add(time.Hour)
			c.put("back", "v", now.Add(time.Minute))
			if r := c.recent[c.slot("back")%recentSlots].Load(); r == nil || r.key != "back" {
				t.Fatal("a key put into an expired or empty slot was not kept in the front")
			}
			c.mu.Lock()
			delete(c.m, "back") // behind the front's back: only a get from the front can answer now
			c.mu.Unlock()
			if v, ok := c.get("back", now); !ok || v != "v" {
				t.Fatalf("get(back) = %q, %v: not served from the front", v, ok)
			}
		})
	}
}
