package middleware

import (
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
