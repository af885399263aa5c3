package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

func TestLock(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		ctx := context.Background()
		const lease = 300 * time.Millisecond

		// replicas returns two Stores on one Redis and prefix, with separate
		// clients, as two processes would have.
		replicas := func(t *testing.T, opts redisstore.Options) (a, b *redisstore.Store, prefix string) {
			opts.Prefix = testPrefix(t)
			return newStore(t, url, opts), newStore(t, url, opts), opts.Prefix
		}

		t.Run("exclusive until released", func(t *testing.T) {
			a, b, _ := replicas(t, redisstore.Options{Lease: lease})
			key := refresh.Key(newToken())
			release, ok, err := a.TryLock(ctx, key)
			if !ok || err != nil {
				t.Fatalf("a.TryLock: ok=%v err=%v", ok, err)
			}
			for _, s := range []*redisstore.Store{a, b} { // a holds it too: no re-entry
				if release, ok, err := s.TryLock(ctx, key); ok || err != nil {
					release()
					t.Fatalf("second TryLock: ok=%v err=%v, want false, nil", ok, err)
				}
			}
			release()
			release() // idempotent
			releaseB, ok, err := b.TryLock(ctx, key)
			if !ok || err != nil {
				t.Fatalf("b.TryLock after release: ok=%v err=%v", ok, err)
			}
			releaseB()
		})

		t.Run("lease renewed while held", func(t *testing.T) {
			a, b, prefix := replicas(t, redisstore.Options{Lease: lease})
			raw := rawClient(t, url)
			key := refresh.Key(newToken())
			release, ok, err := a.TryLock(ctx, key)
			if !ok || err != nil {
				t.Fatalf("a.TryLock: ok=%v err=%v", ok, err)
			}
			defer release()
			// Watch the renewals themselves (the lock's PTTL going back up), not
			// the clock: four of them carry the lock past its first lease
			// however slowly this machine schedules the renewing goroutine.
			pttl := func() time.Duration { return raw.PTTL(ctx, tp.key(prefix, "lock:", key)).Val() }
			last := pttl()
			for range 4 {
				eventually(t, 10*lease, func() bool {
					ttl := pttl()
					if ttl <= 0 || ttl > lease {
						t.Fatalf("lock PTTL %v while held, want within (0, %v]", ttl, lease)
					}
					renewed := ttl > last
					last = ttl
					return renewed
				})
				if _, ok, err := b.TryLock(ctx, key); ok || err != nil {
					t.Fatalf("b took a held lock: ok=%v err=%v", ok, err)
				}
			}
		})

		t.Run("release by a former owner frees nothing", func(t *testing.T) {
			a, b, _ := replicas(t, redisstore.Options{Lease: lease})
			key := refresh.Key(newToken())
			// a's refresh is past its deadline: it stops renewing and its lease
			// lapses while it still holds a release func.
			actx, cancel := context.WithCancel(ctx)
			releaseA, ok, err := a.TryLock(actx, key)
			if !ok || err != nil {
				t.Fatalf("a.TryLock: ok=%v err=%v", ok, err)
			}
			cancel()
			took := eventually(t, 3*lease, func() bool {
				release, ok, _ := b.TryLock(ctx, key)
				if ok {
					t.Cleanup(release)
				}
				return ok
			})
			t.Logf("b took the lock %v after a stopped renewing (lease %v)", took, lease)
			releaseA() // a's owner value no longer matches
			if _, ok, err := a.TryLock(ctx, key); ok || err != nil {
				t.Fatalf("lock free after the former owner released: ok=%v err=%v", ok, err)
			}
		})

		t.Run("dead owner: Wait reports the lapse", func(t *testing.T) {
			_, b, prefix := replicas(t, redisstore.Options{Lease: lease})
			raw := rawClient(t, url)
			key := refresh.Key(newToken())
			// A replica that took the lock and died: nobody renews or releases.
			if !raw.SetNX(ctx, tp.key(prefix, "lock:", key), "dead-replica", lease).Val() {
				t.Fatal("could not plant the lock")
			}
			t0 := time.Now()
			p, ok, err := b.Wait(ctx, key)
			waited := time.Since(t0)
			if ok || err != nil || p != (refresh.Pair{}) {
				t.Fatalf("Wait: ok=%v err=%v, want false, nil", ok, err)
			}
			if waited < lease-50*time.Millisecond {
				t.Fatalf("Wait returned after %v, before the lease (%v) lapsed", waited, lease)
			}
			release, ok, err := b.TryLock(ctx, key)
			if !ok || err != nil {
				t.Fatalf("TryLock after the lapse: ok=%v err=%v", ok, err)
			}
			release()
			t.Logf("Wait noticed the dead owner's lapsed lease after %v", waited)
		})

		// With polling slowed to 5 s, only the notification can wake Wait in time.
		const slowPoll = 5 * time.Second
		wakeTests := []struct {
			name   string
			finish func(t *testing.T, a *redisstore.Store, key string, release func())
			wantOK bool
		}{
			{"woken by Put", func(t *testing.T, a *redisstore.Store, key string, release func()) {
				mustPut(t, a, key, refresh.Pair{AccessToken: "at", RefreshToken: "rt"}, time.Minute)
				release()
			}, true},
			{"woken by release without a pair", func(_ *testing.T, _ *redisstore.Store, _ string, release func()) {
				release()
			}, false},
		}
		for _, tt := range wakeTests {
			t.Run(tt.name, func(t *testing.T) {
				a, b, _ := replicas(t, redisstore.Options{Lease: lease, PollInterval: slowPoll})
				key := refresh.Key(newToken())
				release, ok, err := a.TryLock(ctx, key)
				if !ok || err != nil {
					t.Fatalf("a.TryLock: ok=%v err=%v", ok, err)
				}
				type result struct {
					p   refresh.Pair
					ok  bool
					err error
					at  time.Time
				}
				done := make(chan result, 1)
				go func() {
					p, ok, err := b.Wait(ctx, key)
					done <- result{p, ok, err, time.Now()}
				}()
				time.Sleep(100 * time.Millisecond) // b is subscribed and waiting
				t0 := time.Now()
				tt.finish(t, a, key, release)
				select {
				case r := <-done:
					if r.ok != tt.wantOK || r.err != nil {
						t.Fatalf("Wait: ok=%v err=%v, want %v, nil", r.ok, r.err, tt.wantOK)
					}
					if tt.wantOK && r.p.AccessToken != "at" {
						t.Fatalf("Wait returned %+v", r.p)
					}
					t.Logf("waiter woke %v after the owner finished", r.at.Sub(t0))
				case <-time.After(slowPoll / 2):
					t.Fatal("Wait not woken by the notification")
				}
			})
		}

		t.Run("Wait ends with its ctx", func(t *testing.T) {
			a, b, _ := replicas(t, redisstore.Options{Lease: lease})
			key := refresh.Key(newToken())
			release, ok, _ := a.TryLock(ctx, key)
			if !ok {
				t.Fatal("a.TryLock failed")
			}
			defer release()
			wctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
			defer cancel()
			_, ok, err := b.Wait(wctx, key)
			if ok || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Wait: ok=%v err=%v, want ctx's error", ok, err)
			}
		})
	})
}

// eventually polls cond until it holds, failing t after within; it returns
// how long that took.
func eventually(t testing.TB, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > within {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(t0)
}

// TestWithoutPubSub: a Redis user barred from pub/sub (an ACL, as some
// managed services impose) still coordinates, waiters falling back to
// polling.
func TestWithoutPubSub(t *testing.T) {
	srv := redistest.Start(t) // its own server: ACL changes stay there
	ctx := context.Background()
	admin := rawClient(t, srv.URL())
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-password", "~*", "+@all", "-@pubsub", "resetchannels").Err(); err != nil {
		t.Skipf("this redis-server has no ACLs: %v", err)
	}
	url := "redis://app:app-password@" + srv.Addr() + "/0"
	opts := redisstore.Options{Secret: secret, Prefix: testPrefix(t), Lease: time.Second}
	a, b := newStore(t, url, opts), newStore(t, url, opts)

	key := refresh.Key(newToken())
	release, ok, err := a.TryLock(ctx, key)
	if !ok || err != nil {
		t.Fatalf("TryLock: ok=%v err=%v", ok, err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(100 * time.Millisecond)
		if err := a.Put(ctx, key, refresh.Pair{AccessToken: "at", RefreshToken: "rt"}, time.Minute); err != nil {
			t.Errorf("Put without PUBLISH rights: %v", err)
		}
		release()
	}()
	p, ok, err := b.Wait(ctx, key)
	if !ok || err != nil || p.AccessToken != "at" {
		t.Fatalf("Wait: %+v ok=%v err=%v", p, ok, err)
	}
	<-released
	if ok, _ := admin.Exists(ctx, opts.Prefix+"lock:"+key).Result(); ok != 0 {
		t.Fatal("release left the lock behind")
	}

	up := &upstream{delay: 20 * time.Millisecond}
	r := storm(ctx, coordinators([]refresh.Store{a, b}, up, refresh.Options{}), newToken(), 50)
	if len(r.errs) > 0 || up.calls.Load() != 1 {
		t.Fatalf("storm without pub/sub: %d errors, %d upstream calls", len(r.errs), up.calls.Load())
	}
	t.Logf("without pub/sub: 1 upstream call, p50 %v p99 %v", r.percentile(.5), r.percentile(.99))
}
