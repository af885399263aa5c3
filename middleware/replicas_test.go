package middleware_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/redis/go-redis/v9"
)

// go-redis logs every failed dial of its pool through a global logger;
// the outage test fails dials on purpose.
func init() { redis.SetLogger(quietRedis{}) }

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// replicaSet is one app deployed as several replicas behind a load
// balancer: each replica has its own Middleware, HTTP client and caches;
// they share only the cookie keys, Redis and Qelos.
type replicaSet struct {
	qelos    *qelostest.Server
	redis    *redistest.Server
	replicas []*harness
}

func newReplicaSet(t *testing.T, n int) *replicaSet {
	t.Helper()
	rs := &replicaSet{qelos: qelostest.New(qelostest.Options{}), redis: redistest.Start(t)}
	t.Cleanup(rs.qelos.Close)
	key := middleware.GenerateCookieKey()
	for range n {
		h := &harness{t: t, qelos: rs.qelos, logs: &syncBuffer{}}
		h.cfg = middleware.Config{
			AppURL:     rs.qelos.URL,
			CookieKeys: []middleware.CookieKey{key},
			RedisURL:   rs.redis.URL(),
			HTTPClient: &http.Client{Transport: &http.Transport{}},
			Logger:     slog.New(slog.NewTextHandler(h.logs, nil)),
		}
		mw, err := middleware.New(h.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mw.Close() })
		h.mw = mw
		h.app = httptest.NewServer(mw.Handler(appMux(mw)))
		t.Cleanup(h.app.Close)
		rs.replicas = append(rs.replicas, h)
	}
	return rs
}

// storm sends n concurrent requests with cookies, round-robin over the
// replicas, and returns the answers.
func (rs *replicaSet) storm(n int, cookies []*http.Cookie) []reply {
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = rs.replicas[i%len(rs.replicas)].get("/private", cookies...)
		}()
	}
	wg.Wait()
	return replies
}

// TestThreeReplicaStorm: 300 concurrent requests with one expired pair,
// spread over three replicas, spend the refresh token exactly once — five
// runs out of five — while Redis never holds a token or readable JSON.
func TestThreeReplicaStorm(t *testing.T) {
	rs := newReplicaSet(t, 3)
	scan := redis.NewClient(&redis.Options{Addr: rs.redis.Addr()})
	defer scan.Close()

	for run := 1; run <= 5; run++ {
		rs.qelos.ResetCalls()
		// Hold the refresh open so the storm's requests overlap on every replica.
		rs.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 150 * time.Millisecond, Times: 1})
		cookies := rs.replicas[run%3].pair(qelostest.AdminEmail, acmeID, true)
		oldAccess, oldRefresh := rs.replicas[0].tokens(map[string]*http.Cookie{cookies[0].Name: cookies[0], cookies[1].Name: cookies[1]})

		ctx, stopScan := context.WithCancel(context.Background())
		seen := make(chan map[string]string, 1)
		go func() { seen <- scanWhile(ctx, scan) }()
		replies := rs.storm(300, cookies)
		stopScan()
		stored := <-seen

		if got := rs.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
			for i, r := range rs.replicas {
				t.Logf("replica %d log:\n%s", i, r.logs.String())
			}
			t.Fatalf("run %d: %d upstream refreshes for 300 requests on 3 replicas, want exactly 1", run, got)
		}
		var newAccess, newRefresh string
		for i, r := range replies {
			if r.status != 200 {
				t.Fatalf("run %d, request %d: %d %s", run, i, r.status, r.body)
			}
			a, rf := rs.replicas[0].tokens(r.cookies)
			if i == 0 {
				newAccess, newRefresh = a, rf
			} else if a != newAccess || rf != newRefresh {
				t.Fatalf("run %d: request %d (replica %d) got a different pair", run, i, i%3)
			}
		}
		if len(stored) == 0 {
			t.Fatalf("run %d: the scan saw nothing in Redis during the storm", run)
		}
		for k, v := range stored {
			for _, secret := range []string{oldAccess, oldRefresh, newAccess, newRefresh} {
				frag := secret[len(secret)-24:] // the signature part
				if strings.Contains(k, frag) || strings.Contains(v, frag) {
					t.Fatalf("run %d: Redis key %q or its value holds a token", run, k)
				}
			}
			if json.Valid([]byte(v)) && strings.ContainsAny(v, "{[") {
				t.Fatalf("run %d: the value of %q is readable JSON", run, k)
			}
		}
		t.Logf("run %d: 1 upstream refresh, 300 × 200, one new pair; Redis held %d keys during the storm", run, len(stored))
	}
}

// scanWhile records every key (and string value) in Redis until ctx ends.
func scanWhile(ctx context.Context, c *redis.Client) map[string]string {
	seen := map[string]string{}
	for ctx.Err() == nil {
		keys, _ := c.Keys(context.Background(), "*").Result()
		for _, k := range keys {
			if v, err := c.Get(context.Background(), k).Result(); err == nil {
				seen[k] = v
			} else if _, ok := seen[k]; !ok {
				seen[k] = ""
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return seen
}

// TestReplicasThroughARedisOutage: Redis stops mid-test and comes back. No
// request fails with a 5xx or hangs; while Redis is down each replica
// coordinates alone, which may sign a user out (reported, not hidden).
func TestReplicasThroughARedisOutage(t *testing.T) {
	rs := newReplicaSet(t, 3)
	count := func(replies []reply) (ok, out, fiveXX int) {
		for _, r := range replies {
			switch {
			case r.status == 200:
				ok++
			case r.status == 401:
				out++
			case r.status >= 500:
				fiveXX++
			}
		}
		return
	}
	phase := func(name string, coordinated bool) {
		rs.qelos.ResetCalls()
		rs.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 100 * time.Millisecond, Times: 1})
		start := time.Now()
		replies := rs.storm(30, rs.replicas[0].pair(qelostest.AdminEmail, acmeID, true))
		ok, out, fiveXX := count(replies)
		t.Logf("%s: %d upstream refreshes; %d × 200, %d signed out, %d × 5xx; storm took %v",
			name, rs.qelos.Calls(qelostest.EndpointRefresh), ok, out, fiveXX, time.Since(start).Round(time.Millisecond))
		if fiveXX != 0 {
			for i, r := range rs.replicas {
				t.Logf("replica %d log:\n%s", i, r.logs.String())
			}
			t.Fatalf("%s: %d requests failed with a 5xx", name, fiveXX)
		}
		if d := time.Since(start); d > middleware.DefaultUpstreamTimeout {
			t.Fatalf("%s: the storm took %v", name, d)
		}
		if coordinated && (rs.qelos.Calls(qelostest.EndpointRefresh) != 1 || ok != len(replies)) {
			t.Fatalf("%s: coordination did not hold", name)
		}
	}
	phase("Redis up", true)
	rs.redis.Stop()
	phase("Redis down", false)
	phase("Redis still down", false) // a known outage no longer waits on Redis
	if err := rs.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	phase("Redis returning", false) // the first refresh may still meet a stale connection
	phase("Redis back", true)
}
