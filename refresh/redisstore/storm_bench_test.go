package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

const (
	stormSize     = 100
	upstreamDelay = 10 * time.Millisecond
)

// stormSetup returns the coordinators of one deployment: a single process
// with the in-memory store, or three replicas sharing Redis.
func stormSetup(tb testing.TB, kind string) ([]*refresh.Coordinator, *upstream) {
	up := &upstream{delay: upstreamDelay}
	if kind == "memory" {
		return coordinators([]refresh.Store{refresh.NewMemoryStore(0)}, up, refresh.Options{}), up
	}
	url := needRedis(tb)
	prefix := testPrefix(tb)
	var stores []refresh.Store
	for range 3 {
		stores = append(stores, newStore(tb, url, redisstore.Options{Prefix: prefix}))
	}
	return coordinators(stores, up, refresh.Options{}), up
}

// stormRun runs one storm of stormSize calls for a fresh token and appends
// its latencies to lat.
func stormRun(tb testing.TB, cs []*refresh.Coordinator, lat []time.Duration) []time.Duration {
	r := storm(context.Background(), cs, newToken(), stormSize)
	if len(r.errs) > 0 || len(r.pairs) != 1 {
		tb.Fatalf("storm: %d errors, %d distinct pairs", len(r.errs), len(r.pairs))
	}
	return append(lat, r.latency...)
}

func percentile(lat []time.Duration, p float64) time.Duration {
	slices.Sort(lat)
	return lat[int(p*float64(len(lat)-1))]
}

// BenchmarkStorm compares the latency seen by each of 100 concurrent
// requests refreshing one token (upstream answering in 10 ms): one process
// with the in-memory store versus three replicas coordinating through
// Redis. Run: go test -run ^$ -bench Storm ./refresh/redisstore
func BenchmarkStorm(b *testing.B) {
	for _, kind := range []string{"memory", "redis"} {
		b.Run(kind, func(b *testing.B) {
			cs, up := stormSetup(b, kind)
			var lat []time.Duration
			for b.Loop() {
				lat = stormRun(b, cs, lat)
			}
			b.ReportMetric(float64(percentile(lat, .5).Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(percentile(lat, .99).Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(up.calls.Load())/float64(b.N), "upstream-calls/op")
		})
	}
}

// TestStormLatency is BenchmarkStorm's comparison in short, logged on every
// test run.
func TestStormLatency(t *testing.T) {
	needRedis(t)
	for _, kind := range []string{"memory", "redis"} {
		cs, up := stormSetup(t, kind)
		var lat []time.Duration
		const storms = 10
		for range storms {
			lat = stormRun(t, cs, lat)
		}
		if n := up.calls.Load(); n != storms {
			t.Errorf("%s: %d upstream calls for %d storms", kind, n, storms)
		}
		t.Logf("%-6s %d storms of %d calls, upstream %v: p50 %v, p99 %v",
			kind, storms, stormSize, upstreamDelay, percentile(lat, .5).Round(10*time.Microsecond), percentile(lat, .99).Round(10*time.Microsecond))
	}
}
