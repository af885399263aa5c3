package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestRevocationsLastUntilGiven: a revocation lasts until the time it is
// given (a session's refresh token: 30 days), not an access token's life;
// a replica that starts, or reconnects, afterwards is handed every
// revocation still in force, and none that has ended.
func TestRevocationsLastUntilGiven(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		ctx := context.Background()
		a := newStore(t, url, redisstore.Options{Prefix: prefix})
		long, ended := refresh.Key("session:"+newToken()), refresh.Key("session:"+newToken())
		until := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Millisecond)
		if err := a.Revoke(ctx, long, until); err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, ended, time.Now().Add(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Second, func() bool { ok, _ := a.Revoked(ctx, ended); return !ok })

		b := newStore(t, url, redisstore.Options{Prefix: prefix}) // a replica started since
		var mu sync.Mutex
		got := map[string]time.Time{}
		b.OnRevoke(func(key string, until time.Time) {
			mu.Lock()
			got[key] = until
			mu.Unlock()
		})
		eventually(t, 2*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return !got[long].IsZero()
		})
		mu.Lock()
		defer mu.Unlock()
		if !got[long].Equal(until) {
			t.Errorf("the replica started since was handed the revocation until %v, want %v", got[long], until)
		}
		if _, ok := got[ended]; ok {
			t.Error("the replica started since was handed a revocation that has ended")
		}
		if ok, err := b.Revoked(ctx, long); !ok || err != nil {
			t.Errorf("Revoked: %v %v, want true", ok, err)
		}
	})
}

// TestRevocationsBridgeARollingUpgrade: during a rolling upgrade, replicas
// of the earlier version record a revocation as one "revoked:<key>" key and
// look for that key only. A Store honours such a key, and writes it beside
// its own set, so a sign-out on either version holds on both.
func TestRevocationsBridgeARollingUpgrade(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		ctx := context.Background()
		s := newStore(t, url, redisstore.Options{Prefix: prefix})
		raw := rawClient(t, url)

		older := refresh.Key("session:" + newToken()) // signed out on a replica of the earlier version
		if err := raw.Set(ctx, prefix+"revoked:"+older, "1", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Revoked(ctx, older); !ok || err != nil {
			t.Errorf("a revocation by an earlier version: Revoked = %v, %v; want true", ok, err)
		}

		newer := refresh.Key("session:" + newToken()) // signed out on this version
		if err := s.Revoke(ctx, newer, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ttl, err := raw.PTTL(ctx, prefix+"revoked:"+newer).Result()
		if err != nil || ttl <= 50*time.Minute || ttl > time.Hour {
			t.Errorf("the earlier versions' key for a new revocation: ttl %v, %v; want about an hour", ttl, err)
		}
		if ok, err := s.Revoked(ctx, refresh.Key("session:"+newToken())); ok || err != nil {
			t.Errorf("a session never revoked: Revoked = %v, %v; want false", ok, err)
		}
	})
}
