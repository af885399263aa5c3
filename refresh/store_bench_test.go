package refresh_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// BenchmarkMemoryStorePut compares a Put into a fresh store (the baseline)
// with one after 50k Put+Forget cycles (sign-outs): the two must cost the
// same, where the eviction order once grew with every Forget.
func BenchmarkMemoryStorePut(b *testing.B) {
	ctx := context.Background()
	p := refresh.Pair{AccessToken: "a", RefreshToken: "r"}
	for _, bb := range []struct {
		name   string
		cycles int
	}{{"fresh", 0}, {"after_50k_put_forget", 50_000}} {
		b.Run(bb.name, func(b *testing.B) {
			s := refresh.NewMemoryStore(0)
			for i := range bb.cycles {
				k := "c" + strconv.Itoa(i)
				s.Put(ctx, k, p, time.Minute)
				s.Forget(ctx, k)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := strconv.Itoa(i)
				s.Put(ctx, k, p, time.Minute)
				s.Forget(ctx, k)
				i++
			}
		})
	}
}

// BenchmarkRevoke compares a revocation into an empty set (the baseline)
// with one into a full set (100k entries, the bound), where each insert
// once cost a pass over the whole set.
func BenchmarkRevoke(b *testing.B) {
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		fill int
	}{{"empty", 0}, {"full_100k", 100_000}} {
		b.Run(bb.name, func(b *testing.B) {
			c := refresh.NewCoordinator(nil, refresh.Options{})
			until := time.Now().Add(time.Hour)
			for i := range bb.fill {
				c.Revoke(ctx, "fill"+strconv.Itoa(i), until.Add(time.Duration(i)))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Revoke(ctx, "s"+strconv.Itoa(i), until.Add(time.Duration(i)))
				i++
			}
		})
	}
}
