package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestNotificationsReachEveryReplica: three replicas wait for one token's
// outcome with polling pushed out of reach (a minute); the owner, a fourth
// replica, records its pair. Each waiter gets it through its own pub/sub
// subscription, on one server and on a Cluster (where the waiters'
// subscriptions sit on whichever node each connected to, and PUBLISH must
// cross the cluster bus).
func TestNotificationsReachEveryReplica(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		prefix := testPrefix(t)
		opts := redisstore.Options{Prefix: prefix, PollInterval: time.Minute}
		owner := newStore(t, tp.url, opts)
		raw := rawClient(t, tp.url)
		key := refresh.Key(newToken())
		release, ok, err := owner.TryLock(context.Background(), key)
		if !ok || err != nil {
			t.Fatalf("TryLock: %v %v", ok, err)
		}
		defer release()

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		const waiters = 3
		got := make([]refresh.Pair, waiters)
		errs := make([]error, waiters)
		var wg sync.WaitGroup
		for i := range waiters {
			w := newStore(t, tp.url, opts)
			wg.Go(func() {
				var ok bool
				got[i], ok, errs[i] = w.Wait(ctx, key)
				if !ok && errs[i] == nil {
					errs[i] = errNoPair
				}
			})
		}
		// Every waiter's subscription is on Redis (its revocation channel
		// is subscribed right after the outcome pattern, on the same
		// connection) before the owner records its pair.
		eventually(t, 10*time.Second, func() bool { return subscribers(t, raw, prefix+"revoked") == waiters })
		want := refresh.Pair{AccessToken: "access-" + newToken(), RefreshToken: "refresh-" + newToken()}
		mustPut(t, owner, key, want, time.Minute)
		wg.Wait()
		for i := range waiters {
			if errs[i] != nil || got[i] != want {
				t.Errorf("waiter %d: %v, %v; want the owner's pair by notification (polling every minute)", i, got[i] == want, errs[i])
			}
		}
	})
}

var errNoPair = errors.New("no pair: Wait reported that the owner gave up")

// subscribers counts the subscribers of channel on every master.
func subscribers(t *testing.T, raw redis.UniversalClient, channel string) int64 {
	ctx := context.Background()
	var mu sync.Mutex
	var n int64
	count := func(ctx context.Context, c *redis.Client) error {
		m, err := c.PubSubNumSub(ctx, channel).Result()
		mu.Lock()
		n += m[channel]
		mu.Unlock()
		return err
	}
	var err error
	if cc, ok := raw.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, count)
	} else {
		err = count(ctx, raw.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
