package redisstore_test

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// Redis faults as an operator meets them: replicas of a
// real app (middleware) in front of qelostest, sharing a real redis-server
// through internal/faultproxy. Each logs its line of the before/after table
// (grep ROW).

func pairOf(access, refreshTok string) refresh.Pair {
	return refresh.Pair{AccessToken: access, RefreshToken: refreshTok}
}

// 1. Redis down, one replica: the replica cannot know that no other
// replica is spending the token, so it spends nothing and answers 503 with
// the cookies kept (fast: the breaker); once Redis is back the old pair is
// refreshed once, and the same browser's next request with it gets the
// new pair from the grace window, not a second spend and a sign-out.
func TestRedisDownOneReplicaNoGrace(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 1})
	old := f.session(time.Minute)
	f.redis.Stop()
	down := []answer{f.get(0, old), f.get(0, old), f.get(0, old)}
	f.row("1 Redis down, one replica", f.refreshes(), 0, count(down))
	for i, a := range down {
		if a.status != 503 || len(a.cookies) != 0 {
			t.Errorf("Redis down, request %d: %d (cookies set: %d), want 503 and the cookies untouched", i+1, a.status, len(a.cookies))
		}
	}
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	f.storesBack()
	back := []answer{f.get(0, old), f.get(0, old)}
	f.row("1 Redis back, one replica", f.refreshes(), 1, count(back))
	for i, a := range back {
		if a.status != 200 {
			t.Errorf("Redis back, request %d: %d %s", i+1, a.status, a.body)
		}
	}
}

// 2. A Redis hiccup during a slow refresh: a waiter that has seen the
// owner holding the lock never spends the token itself; the owner's Put
// rides over the freeze.
func TestRedisHiccupDuringSlowRefresh(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 3 * time.Second, Times: 1})
	var owner, waiter answer
	var wg sync.WaitGroup
	wg.Go(func() { owner = f.get(0, old) })
	time.Sleep(100 * time.Millisecond)
	wg.Go(func() { waiter = f.get(1, old) })
	time.Sleep(2300 * time.Millisecond) // 2.4 s into the refresh
	f.proxy.Freeze(400 * time.Millisecond)
	wg.Wait()
	after := f.get(1, old) // a straggler with the old pair, on the waiter's replica
	all := []answer{owner, waiter, after}
	f.row("2 Redis hiccup, slow refresh", f.refreshes(), 1, count(all))
	for i, a := range all {
		if a.status != 200 {
			t.Errorf("answer %d (replica %d): %d %s", i, a.replica, a.status, a.body)
		}
	}
}

// 3. Redis dies mid-storm: 300 callers over 3 replicas, Redis killed 150 ms
// into a 600 ms refresh. Waiters that knew an owner was refreshing answer
// "unavailable" (503, cookies kept) instead of spending the token.
func TestRedisDiesMidStorm(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 3})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 600 * time.Millisecond, Times: 1})
	go func() { // 150 ms into the refresh, as Qelos sees it
		for f.refreshes() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(150 * time.Millisecond)
		f.redis.Stop()
	}()
	answers := f.storm(300, old)
	c := count(answers)
	f.row("3 Redis dies mid-storm", f.refreshes(), 1, c)
	if c.statuses[200] == 0 {
		t.Errorf("no request was served: %v", c)
	}
}

// 4. A slow Redis (100 ms round trip) is not a dead one: a storm over 3
// replicas makes one refresh, and the Redis connections a replica opens
// stay bounded however many users refresh at once.
func TestSlowRedis(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 3})
	// Warm up the replicas' pools as traffic would, then slow the network.
	f.get(0, f.session(time.Minute))
	f.proxy.SetLatency(50*time.Millisecond, 50*time.Millisecond)
	f.qelos.ResetCalls()
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 150 * time.Millisecond, Times: 1})
	f.proxy.ResetPeak()
	dials := f.proxy.Accepted()
	answers := f.storm(150, f.session(time.Minute))
	c := count(answers)
	f.row("4a slow Redis, 150-request storm", f.refreshes(), 1, c)
	if c.statuses[200] != 150 {
		t.Errorf("storm at 100 ms RTT: %v, want 150 × 200", c)
	}
	t.Logf("storm: %d new Redis connections, peak %d open", f.proxy.Accepted()-dials, f.proxy.Peak())

	// 400 users refreshing at once on 2 of the replicas.
	users := make([][]*http.Cookie, 400)
	for i := range users {
		users[i] = f.session(time.Minute)
	}
	f.qelos.ResetCalls()
	f.proxy.ResetPeak()
	dials = f.proxy.Accepted()
	answers = make([]answer, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { answers[i] = f.get(i%2, u) })
	}
	wg.Wait()
	c = count(answers)
	peak := f.proxy.Peak()
	t.Logf("ROW | 4b slow Redis, 400 users on 2 replicas | %d | %s | %d | %v | peak %d Redis connections, %d dials |",
		f.refreshes(), c, c.cleared, c.worst.Round(time.Millisecond), peak, f.proxy.Accepted()-dials)
	// Each user has a token of its own, so nobody may be signed out; on a
	// loaded 2-core machine under -race a few may wait past their 5 s and get
	// 503 (cookies kept), which is logged, not failed: this part measures
	// the connections.
	if c.statuses[401] != 0 || c.cleared != 0 || f.refreshes() > 400 || c.statuses[200]+c.statuses[503] != 400 {
		t.Errorf("400 users: %d refreshes, %v, %d cleared", f.refreshes(), c, c.cleared)
	}
	// Three replicas hold the connections; each is bounded by its pools
	// plus its one subscription.
	if bound := 3 * maxConnsPerReplica; peak > bound {
		t.Errorf("peak %d Redis connections for 3 replicas, want at most %d", peak, bound)
	}
}

// maxConnsPerReplica is what one Store may open: its pool, the pipeline
// pool, and the one subscription.
const maxConnsPerReplica = 32 + 8 + 1 // redisstore.DefaultPoolSize + DefaultPipelinePoolSize + 1

// 5. Cookie-key rotation: mid-rotation, replica A seals with the old key and
// B with the new one; every stored value must open on both.
func TestCookieKeyRotationSharesStore(t *testing.T) {
	oldKey, newKey := middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	f := newFleet(t, fleetOptions{replicas: 2, keys: func(i int) []middleware.CookieKey {
		if i == 0 {
			return []middleware.CookieKey{oldKey, newKey}
		}
		return []middleware.CookieKey{newKey, oldKey}
	}})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 150 * time.Millisecond, Times: 1})
	answers := f.storm(100, old)
	c := count(answers)
	f.row("5 cookie-key rotation", f.refreshes(), 1, c)
	if c.statuses[200] != 100 {
		t.Errorf("%v, want 100 × 200", c)
	}
}

// 6. A malformed 200 from the refresh endpoint is a broken deployment, not
// a rejection: cookies kept, nothing stored, the failure shared with the
// callers of that moment, and the next try after it refreshes.
func TestMalformedRefreshAnswer(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{
		Status: 200, Body: `{"payload":{"token":"x.y.z","refreshToken":"a.b.c"}}`, Delay: 100 * time.Millisecond, Times: 1,
	})
	answers := f.storm(20, old)
	c := count(answers)
	if c.statuses[503] != 20 {
		t.Errorf("storm on a malformed answer: %v, want 20 × 503", c)
	}
	calls := f.refreshes()
	var later answer
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) { // the failure is shared only briefly
		if later = f.get(1, old); later.status != 503 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	f.row("6 malformed 200", f.refreshes(), 2, count(answers, []answer{later}))
	if calls != 1 || later.status != 200 {
		t.Errorf("storm made %d refreshes (want 1); the retry afterwards answered %d %s", calls, later.status, later.body)
	}
}

// 7. Sign-out is final: on every replica, the signed-out pair and the pair
// before it answer 401 at once.
func TestSignOutIsFinal(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	before := f.session(time.Minute)
	r := f.get(0, before) // refreshes: the session now holds a new pair
	if r.status != 200 || len(r.cookies) != 2 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	current := r.cookies
	if a := f.get(1, current); a.status != 200 { // replica 1 knows (and caches) the session
		t.Fatalf("replica 1 with the session: %d %s", a.status, a.body)
	}
	if out := f.do(0, http.MethodPost, "/auth/signout", current); out.status != http.StatusNoContent || !out.cleared {
		t.Fatalf("sign-out: %d, cleared %v", out.status, out.cleared)
	}
	var answers []answer
	for i := range f.replicas {
		for _, p := range []struct {
			name    string
			cookies []*http.Cookie
		}{{"signed-out pair", current}, {"pair before it", before}, {"signed-out access cookie alone", only(current, defaultAccessCookie)}} {
			a := f.get(i, p.cookies)
			answers = append(answers, a)
			if a.status != 401 {
				t.Errorf("replica %d, %s after sign-out: %d %s", i, p.name, a.status, a.body)
			}
			if len(a.cookies) > 0 {
				t.Errorf("replica %d, %s after sign-out: the answer set session cookies", i, p.name)
			}
		}
	}
	c := count(answers)
	t.Logf("ROW | 7 sign-out is final | %d | %s | %d | %v |", f.refreshes(), c, c.cleared, c.worst.Round(time.Millisecond))
}

// only returns the cookie called name.
func only(cookies []*http.Cookie, name string) []*http.Cookie {
	for _, c := range cookies {
		if c.Name == name {
			return []*http.Cookie{c}
		}
	}
	return nil
}

// 8. Clock skew: the app's clock runs 2 minutes ahead of Qelos (here: Qelos's
// runs 2 minutes behind), the refresh token has 1 minute left at Qelos, and
// Leeway is 5 minutes: the refresh must be tried, and succeeds.
func TestRefreshTokenExpiryUsesLeeway(t *testing.T) {
	f := newFleet(t, fleetOptions{
		replicas: 1,
		qelos:    qelostest.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Minute) }, RefreshTTL: time.Minute},
		mutate:   func(_ int, c *middleware.Config) { c.Refresh.Leeway = 5 * time.Minute },
	})
	// The refresh token expires 1 minute from now at Qelos, a minute ago here;
	// the access token is past even the Leeway.
	old := f.session(10 * time.Minute)
	a := f.get(0, old)
	f.row("8 clock skew, Leeway 5 m", f.refreshes(), 1, count([]answer{a}))
	if a.status != 200 {
		t.Errorf("%d %s", a.status, a.body)
	}
}

// 9. Noise: a caller's own deadline is not a store outage, and go-redis
// never writes to stderr (its records go to Config.Logger).
func TestStoreNoise(t *testing.T) {
	if os.Getenv("QELOS_NOISE_CHILD") == "1" {
		noiseChild(t)
		return
	}
	// The callers give up after 150 ms, on a Redis 120 ms away, during a
	// 1.5 s refresh: their deadlines pass in the middle of Redis calls.
	f := newFleet(t, fleetOptions{replicas: 2, mutate: func(_ int, c *middleware.Config) {
		c.Limits.UpstreamTimeout = 150 * time.Millisecond
	}})
	old := f.session(time.Minute)
	f.proxy.SetLatency(60*time.Millisecond, 60*time.Millisecond)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 1500 * time.Millisecond, Times: 1})
	answers := f.storm(10, old)
	f.proxy.SetLatency(0, 0)
	// Once the detached refresh has completed, the old pair gets the new one.
	last := f.get(1, old)
	for deadline := time.Now().Add(10 * time.Second); last.status == 503 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		last = f.get(1, old)
	}
	answers = append(answers, last)
	if last.status != 200 {
		t.Errorf("after the refresh: %d %s", last.status, last.body)
	}
	var noisy []string
	for _, r := range f.replicas {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(line, "store unavailable") || strings.Contains(line, "available again") {
				noisy = append(noisy, line)
			}
		}
	}

	// go-redis's own lines, in a process of its own (its logger is global).
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreNoise$", "-test.count=1")
	cmd.Env = append(os.Environ(), "QELOS_NOISE_CHILD=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s\n%s", err, out, stderr.String())
	}
	var redisLines []string
	for _, line := range strings.Split(stderr.String()+string(out), "\n") {
		if strings.HasPrefix(line, "redis: ") || strings.Contains(line, "pool.go") {
			redisLines = append(redisLines, line)
		}
	}
	c := count(answers)
	t.Logf("ROW | 9 noise | %d | %s | %d | %v | %d store-outage records, %d raw go-redis lines |",
		f.refreshes(), c, c.cleared, c.worst.Round(time.Millisecond), len(noisy), len(redisLines))
	if len(noisy) > 0 {
		t.Errorf("callers' own deadlines were logged as store outages:\n%s", strings.Join(noisy, "\n"))
	}
	if len(redisLines) > 0 {
		t.Errorf("go-redis wrote %d lines to stderr/stdout, first: %s", len(redisLines), redisLines[0])
	}
	if c.statuses[401] != 0 || c.cleared != 0 || f.refreshes() != 1 {
		t.Errorf("%d refreshes, %v, %d cleared", f.refreshes(), c, c.cleared)
	}
}

// noiseChild runs a replica whose Redis is down, for TestStoreNoise to
// read its stderr.
func noiseChild(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 1})
	f.redis.Stop()
	for range 3 {
		f.get(0, f.session(time.Minute))
	}
}
