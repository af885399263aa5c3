package redisstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestReplicasSpendOnce: three replicas, each a Coordinator with its own
// Store and Redis client, one shared upstream. A storm of 300 requests with
// one expired pair, spread over the replicas, must cost exactly one upstream
// call and give everyone the same pair.
func TestReplicasSpendOnce(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		var stores []refresh.Store
		for range 3 {
			stores = append(stores, newStore(t, url, redisstore.Options{Prefix: prefix}))
		}
		up := &upstream{delay: 50 * time.Millisecond}
		cs := coordinators(stores, up, refresh.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		for round := range 5 {
			before := up.calls.Load()
			r := storm(ctx, cs, newToken(), 300)
			calls := up.calls.Load() - before
			t.Logf("round %d: %d upstream call(s), %d distinct pair(s), %d errors, p50 %v p99 %v, storm %v",
				round, calls, len(r.pairs), len(r.errs), r.percentile(.5), r.percentile(.99), r.elapsed)
			if len(r.errs) > 0 {
				t.Fatalf("round %d: %d calls failed, first: %v", round, len(r.errs), r.errs[0])
			}
			if calls != 1 || len(r.pairs) != 1 {
				t.Fatalf("round %d: %d upstream calls and %d distinct pairs, want 1 and 1", round, calls, len(r.pairs))
			}
		}
	})
}

// TestOwnerDies: the replica that took the lock stops renewing it mid-refresh
// (its upstream call hangs past its CallTimeout, or the process is gone);
// another replica takes over once the lease lapses, and no call hangs past
// its timeouts.
func TestOwnerDies(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		const (
			lease       = 300 * time.Millisecond
			ownerBudget = 400 * time.Millisecond // owner's CallTimeout
		)
		tests := []struct {
			name string
			// refresher is the owner's upstream; kill, if set, kills the owner
			// process once it holds the lock.
			refresher func(stuck <-chan struct{}) refresh.RefresherFunc
			kill      func(owner *redisstore.Store)
			// takeover bounds when the second replica must have its pair,
			// from its first call.
			takeover time.Duration
		}{
			{
				name: "upstream hangs, ignoring its ctx",
				refresher: func(stuck <-chan struct{}) refresh.RefresherFunc {
					return func(context.Context, string) (refresh.Pair, error) {
						<-stuck // until the test ends
						return refresh.Pair{}, errors.New("too late")
					}
				},
				takeover: ownerBudget + refresh.DefaultFailureWindow + 400*time.Millisecond,
			},
			{
				name: "owner process crashes",
				refresher: func(<-chan struct{}) refresh.RefresherFunc {
					return func(ctx context.Context, _ string) (refresh.Pair, error) {
						<-ctx.Done()
						return refresh.Pair{}, ctx.Err()
					}
				},
				kill:     func(owner *redisstore.Store) { owner.Close() }, // no renewal, no release ever again
				takeover: lease + 400*time.Millisecond,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				prefix := testPrefix(t)
				raw := rawClient(t, url)
				opts := redisstore.Options{Prefix: prefix, Lease: lease}
				ownerStore, otherStore := newStore(t, url, opts), newStore(t, url, opts)
				stuck := make(chan struct{})
				defer close(stuck)
				var ownerCalls atomic.Int64
				ownerRefresh := tt.refresher(stuck)
				owner := refresh.NewCoordinator(refresh.RefresherFunc(func(ctx context.Context, rt string) (refresh.Pair, error) {
					ownerCalls.Add(1)
					return ownerRefresh(ctx, rt)
				}), refresh.Options{Store: ownerStore, CallTimeout: ownerBudget, Logger: quiet()})
				up := &upstream{delay: 20 * time.Millisecond}
				other := refresh.NewCoordinator(up, refresh.Options{Store: otherStore, CallTimeout: 3 * time.Second, Logger: quiet()})

				token := newToken()
				key := refresh.Key(token)
				ownerErr := make(chan error, 1)
				ownerCtx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
				defer cancel()
				t0 := time.Now()
				go func() {
					_, err := owner.Refresh(ownerCtx, token)
					ownerErr <- err
				}()
				eventually(t, time.Second, func() bool { return raw.Exists(context.Background(), tp.key(prefix, "lock:", key)).Val() == 1 })
				eventually(t, time.Second, func() bool { return ownerCalls.Load() == 1 }) // the owner is refreshing
				if tt.kill != nil {
					tt.kill(ownerStore)
				}

				t1 := time.Now()
				p, err := other.Refresh(context.Background(), token)
				for errors.Is(err, refresh.ErrFailedRecently) && time.Since(t1) < tt.takeover {
					// The owner timed out and shares its failure for a moment.
					time.Sleep(50 * time.Millisecond)
					p, err = other.Refresh(context.Background(), token)
				}
				took := time.Since(t1)
				if err != nil {
					t.Fatalf("second replica: %v", err)
				}
				if took > tt.takeover {
					t.Fatalf("second replica took %v, want under %v", took, tt.takeover)
				}
				if n := up.calls.Load(); n != 1 {
					t.Fatalf("second replica made %d upstream calls, want 1", n)
				}
				select {
				case err := <-ownerErr:
					if !errors.Is(err, refresh.ErrUnavailable) || refresh.IsDefinitive(err) {
						t.Fatalf("owner's caller: %v, want a transient ErrUnavailable", err)
					}
				case <-time.After(time.Second):
					t.Fatal("the owner's caller hung past its ctx")
				}
				t.Logf("owner's caller gave up after %v; second replica got its pair %v after asking (lease %v)", time.Since(t0), took, lease)

				if tt.kill == nil {
					// The owner replica, its flight still stuck, serves the
					// recorded pair to a straggler without touching upstream.
					got, err := owner.Refresh(context.Background(), token)
					if err != nil || got != p {
						t.Fatalf("straggler on the owner replica: %v", err)
					}
				}
				if n := ownerCalls.Load(); n != 1 {
					t.Fatalf("owner made %d upstream calls, want 1", n)
				}
			})
		}
	})
}
