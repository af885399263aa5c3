package redisstore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// Redis faults under replicas of a real app, judged as a browser: every
// answer's Set-Cookie applied in the order the answers arrived, the final
// jar must be signed in on every replica; and no user Qelos did not reject
// sees a 401 or a cleared cookie, nor a token spent twice.

// judge checks the answers of a scenario: no 401, no cleared cookie, at most
// one upstream refresh, and the final jar signed in everywhere.
func (f *fleet) judge(name string, start jar, answers ...[]answer) {
	f.t.Helper()
	c := count(answers...)
	refreshes := f.refreshes()
	f.t.Logf("ROW | %s | %d | %s | %d | %v |", name, refreshes, c, c.cleared, c.worst.Round(time.Millisecond))
	if refreshes > 1 || c.statuses[401] != 0 || c.cleared != 0 {
		f.dumpLogs()
		f.t.Errorf("%s: %d upstream refreshes (want at most 1), %d × 401, %d cookies cleared (want 0, 0)", name, refreshes, c.statuses[401], c.cleared)
	}
	start.apply(answers...)
	f.signedInEverywhere(start)
}

// TestRedisRestartMidRefreshSpendsOnce: Redis is killed and restarted empty
// while one replica refreshes a token (a 2 s Qelos) and another waits for
// it. The waiter saw an owner: a lock that vanished with the server is not
// a "gave up" mark, so it waits for the owner's outcome, which the owner
// records on the new server.
func TestRedisRestartMidRefreshSpendsOnce(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 2 * time.Second, Times: 1})
	var owner, waiter answer
	var wg sync.WaitGroup
	wg.Go(func() { owner = f.get(0, old) })
	eventually(t, 2*time.Second, func() bool { return f.refreshes() == 1 }) // the owner is in Qelos
	wg.Go(func() { waiter = f.get(1, old) })
	time.Sleep(300 * time.Millisecond) // staging: the waiter reaches the lock and waits
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	f.judge("1 Redis restarted empty mid-refresh", newJar(old), []answer{owner, waiter})
	if owner.status != 200 || waiter.status != 200 {
		t.Errorf("owner %d, waiter %d: want 200 for both (the waiter gets the owner's pair)", owner.status, waiter.status)
	}
}

// TestRedisKilledWhileServing: Redis is killed; the browser's access token
// expires and its parallel requests reach three replicas. None can know the
// others are not spending the token: none spends it, all answer 503 with
// the cookies untouched; when Redis is back, the pair refreshes once.
func TestRedisKilledWhileServing(t *testing.T) {
	forEachFaultTopology(t, func(t *testing.T, o fleetOptions) {
		redisKilledWhileServing(t, newFleet(t, o))
	})
}

// forEachFaultTopology runs f as a subtest on a private server and on a
// private 3-master Redis Cluster, each with 3 replicas of the app.
func forEachFaultTopology(t *testing.T, f func(t *testing.T, o fleetOptions)) {
	t.Run("single", func(t *testing.T) { f(t, fleetOptions{replicas: 3}) })
	t.Run("cluster", func(t *testing.T) {
		f(t, fleetOptions{replicas: 3, cluster: redistest.StartCluster(t, 3, false)})
	})
}

func redisKilledWhileServing(t *testing.T, f *fleet) {
	old := f.session(time.Minute)
	f.redis.Stop()
	down := f.storm(30, old)
	for _, a := range down {
		if a.status != 503 || len(a.cookies) != 0 {
			t.Errorf("Redis down: replica %d answered %d (cookies set: %d), want 503 with the cookies untouched", a.replica, a.status, len(a.cookies))
		}
	}
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	f.storesBack()
	back := f.storm(30, old)
	f.judge("2 Redis killed while serving", newJar(old), down, back)
}

// TestRedisHungBeforeOwnerSeen: Redis freezes (SIGSTOP) before any replica
// has seen an owner; 30 requests over 3 replicas carry the expired pair.
// None spends the token; none signs the user out; after the thaw, one
// refresh.
func TestRedisHungBeforeOwnerSeen(t *testing.T) {
	forEachFaultTopology(t, func(t *testing.T, o fleetOptions) {
		redisHungBeforeOwnerSeen(t, newFleet(t, o))
	})
}

func redisHungBeforeOwnerSeen(t *testing.T, f *fleet) {
	old := f.session(time.Minute)
	if err := f.redis.Pause(); err != nil {
		t.Fatal(err)
	}
	hung := f.storm(30, old)
	if err := f.redis.Resume(); err != nil {
		t.Fatal(err)
	}
	if n := f.refreshes(); n != 0 {
		t.Errorf("Redis hung: %d upstream refreshes, want 0", n)
	}
	f.storesBack()
	back := f.storm(30, old)
	f.judge("8 Redis hung before an owner was seen", newJar(old), hung, back)
}

// TestSlowRedisReplicas: Redis 100 ms away is a healthy Redis.
func TestSlowRedisReplicas(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 3})
	old := f.session(time.Minute)
	f.proxy.SetLatency(50*time.Millisecond, 50*time.Millisecond)
	answers := f.storm(30, old)
	f.judge("Redis 100 ms away", newJar(old), answers)
	if n := f.refreshes(); n != 1 {
		t.Errorf("%d upstream refreshes, want 1", n)
	}
}

// TestPartitionedReplicaSpendsNothing: replica 2 is cut off from Redis while
// the browser's expired pair reaches all three replicas. Replicas 0 and 1
// refresh it once; replica 2, which cannot know, spends nothing and answers
// 503 with the cookies untouched, so no late answer signs the user out.
func TestPartitionedReplicaSpendsNothing(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 3})
	old := f.session(time.Minute)
	cut := f.replicas[2].proxy
	cut.Refuse(true)
	cut.ResetAll()
	answers := f.storm(30, old)
	for _, a := range answers {
		if a.replica == 2 && (a.status != 503 || len(a.cookies) != 0) {
			t.Errorf("the cut-off replica answered %d (cookies set: %d), want 503 with the cookies untouched", a.status, len(a.cookies))
		}
	}
	cut.Refuse(false)
	f.storesBack()
	f.judge("partitioned replica", newJar(old), answers)
}

// signedOutWithin checks that the session's old cookies are refused on
// every replica within d (polling the replicas, not the clock).
func (f *fleet) signedOutWithin(d time.Duration, cookies []*http.Cookie) {
	f.t.Helper()
	for i := range f.replicas {
		took := eventually(f.t, d, func() bool { return f.get(i, cookies).status == 401 })
		f.t.Logf("replica %d refuses the signed-out pair %v after the heal", i, took.Round(time.Millisecond))
	}
}

// TestPartitionHidesNoSignOut: replica 1 is cut off from Redis while the
// user signs out on replica 0. Once the partition heals, replica 1 reloads
// the revocations it missed: the old pair is refused within 1 s.
func TestPartitionHidesNoSignOut(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	cookies := f.session(-time.Minute) // an access token valid for a minute
	for i := range f.replicas {
		if a := f.get(i, cookies); a.status != 200 {
			t.Fatalf("replica %d: %d %s", i, a.status, a.body)
		}
	}
	cut := f.replicas[1].proxy
	cut.Refuse(true)
	cut.ResetAll()
	if out := f.do(0, http.MethodPost, "/auth/signout", cookies); out.status != http.StatusNoContent {
		t.Fatalf("sign-out: %d", out.status)
	}
	cut.Refuse(false)
	f.signedOutWithin(time.Second, cookies)
}

// TestSignOutWhileRedisDown: the user signs out while Redis is down. The
// revocation is queued and written when Redis returns: within 1 s of that,
// every replica refuses the old pair.
func TestSignOutWhileRedisDown(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 2})
	cookies := f.session(-time.Minute)
	for i := range f.replicas {
		if a := f.get(i, cookies); a.status != 200 {
			t.Fatalf("replica %d: %d %s", i, a.status, a.body)
		}
	}
	f.redis.Stop()
	if out := f.do(0, http.MethodPost, "/auth/signout", cookies); out.status != http.StatusNoContent {
		t.Fatalf("sign-out: %d", out.status)
	}
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	f.storesBack()
	f.signedOutWithin(time.Second, cookies)
}

// TestStoreDownStateClears: a replica whose store failed (a partition)
// asks the store again as soon as a probe or its subscription reaches Redis
// — not only once refresh traffic clears a flag — so a session signed out
// meanwhile is refused at its first sight after the heal.
func TestStoreDownStateClears(t *testing.T) {
	f := newFleet(t, fleetOptions{replicas: 1})
	c := refresh.NewCoordinator(&upstream{}, refresh.Options{Store: f.replicas[0].store, Logger: quiet()})
	other := newStore(t, "redis://"+f.proxy.Addr()+"/0", redisstore.Options{Secret: secret})
	ctx := context.Background()
	name := "session:" + newToken()

	cut := f.replicas[0].proxy
	cut.Refuse(true)
	cut.ResetAll()
	if c.Revoked(ctx, name, true) {
		t.Fatal("revoked before any sign-out")
	}
	if err := other.Revoke(ctx, refresh.Key(name), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cut.Refuse(false)
	took := eventually(t, time.Second, func() bool { return c.Revoked(ctx, name, true) })
	t.Logf("signed-out session refused %v after the heal, with no refresh traffic", took.Round(time.Millisecond))
}
