package redisstore_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// stormUpstreamDelay is what Qelos's refresh endpoint takes in
// BenchmarkStormLatency: a Qelos across a network, not on loopback.
const stormUpstreamDelay = 20 * time.Millisecond

// upstreamTimer is a replica's HTTP transport that times its calls to
// Qelos's refresh endpoint (until the answer's headers): the upstream
// refresh's own latency, as the replica sees it.
type upstreamTimer struct {
	next http.RoundTripper
	mu   sync.Mutex
	took []time.Duration
}

func (u *upstreamTimer) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := u.next.RoundTrip(r)
	if r.Method+" "+r.URL.Path == qelostest.EndpointRefresh {
		u.mu.Lock()
		u.took = append(u.took, time.Since(t0))
		u.mu.Unlock()
	}
	return resp, err
}

func (u *upstreamTimer) all() []time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.took)
}

// BenchmarkStormLatency: one expired pair, 300 concurrent requests over
// three replicas of the app (the middleware, over HTTP, with a Qelos whose
// refresh takes stormUpstreamDelay). One replica refreshes; the others wait
// for its outcome, woken by the store's notification. It reports the
// requests' p50 and p99 against the upstream refresh's own latency in the
// same run (upstream-ms, measured at the owner's HTTP client), the ratio
// p99/upstream, and per storm the upstream refreshes (want 1) and 401s
// (want 0). The same storm with a pair that needs no refresh ("valid") is
// the baseline: what 300 concurrent requests cost this machine anyway. On
// one server and on a 3-master Redis Cluster:
//
//	go test -run '^$' -bench StormLatency -benchtime 10x ./  (in refresh/redisstore)
func BenchmarkStormLatency(b *testing.B) {
	// Both reach Redis directly (the fleet's fault proxies would add two
	// hops to every operation on one server only).
	for _, tp := range []topology{{"single", testURL, false}, {"cluster", clusterURL, true}} {
		for _, expired := range []bool{true, false} {
			name := tp.name + "/expired"
			if !expired {
				name = tp.name + "/valid"
			}
			b.Run(name, func(b *testing.B) { benchmarkStorm(b, tp, expired) })
		}
	}
}

func benchmarkStorm(b *testing.B, tp topology, expired bool) {
	if tp.url == "" {
		needRedis(b)
	}
	timers := make([]*upstreamTimer, 3)
	f := newFleet(b, fleetOptions{replicas: 3, url: tp.url, mutate: func(i int, c *middleware.Config) {
		timers[i] = &upstreamTimer{next: c.HTTPClient.Transport}
		c.HTTPClient = &http.Client{Transport: timers[i]}
	}})
	age := time.Minute // expired a minute ago
	if !expired {
		age = -time.Hour // valid for an hour
	}
	var lat []time.Duration
	var refreshes, unauthorized, failed int
	for b.Loop() {
		old := f.session(age)
		f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: stormUpstreamDelay, Times: 1})
		before := f.refreshes()
		answers := f.storm(300, old)
		f.qelos.ClearFaults()
		refreshes += f.refreshes() - before
		for _, a := range answers {
			lat = append(lat, a.latency)
			switch {
			case a.status == http.StatusUnauthorized:
				unauthorized++
			case a.status != http.StatusOK:
				failed++
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	p50, p99 := percentile(lat, .5), percentile(lat, .99)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(float64(refreshes)/float64(b.N), "refreshes/op")
	b.ReportMetric(float64(unauthorized)/float64(b.N), "401s/op")
	want := 0
	if expired {
		want = b.N
		var up []time.Duration
		for _, t := range timers {
			up = append(up, t.all()...)
		}
		if len(up) == 0 {
			b.Fatal("no upstream refresh was timed")
		}
		upstream := percentile(up, .5)
		b.ReportMetric(ms(upstream), "upstream-ms")
		b.ReportMetric(float64(p99)/float64(upstream), "p99/upstream")
	}
	if refreshes != want || unauthorized+failed != 0 {
		b.Errorf("%d storms: %d upstream refreshes (want %d), %d × 401, %d other failures", b.N, refreshes, want, unauthorized, failed)
	}
}
