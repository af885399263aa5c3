package redisstore_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/faultproxy"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestBusyRedisIsNotDown: a burst that outruns the pool (two connections,
// 40 ms round trips, 250 ms OpTimeout) times out most of its operations
// while Redis answers the others. That is a busy Redis, not a dead one:
// the breaker stays closed and the next operation reaches Redis. A
// frozen Redis, which answers nothing, still opens it.
func TestBusyRedisIsNotDown(t *testing.T) {
	u, err := url.Parse(needRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	q := u.Query()
	q.Set("pool_size", "2")
	q.Set("min_idle_conns", "2")
	u.RawQuery = q.Encode()
	s := newStore(t, u.String(), redisstore.Options{Prefix: testPrefix(t), OpTimeout: 250 * time.Millisecond})
	ctx := context.Background()
	key := refresh.Key("busy")
	if _, _, err := s.Get(ctx, key); err != nil {
		t.Fatalf("Get before the burst: %v", err)
	}
	p.SetLatency(20*time.Millisecond, 20*time.Millisecond)

	const burst = 40
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() { _, _, errs[i] = s.Get(ctx, key) })
	}
	wg.Wait()
	var answered, timedOut int
	for _, err := range errs {
		switch {
		case err == nil:
			answered++
		case errors.Is(err, redisstore.ErrStoreDown):
			t.Fatalf("burst: %v: the breaker opened on a Redis that was answering", err)
		default:
			timedOut++
		}
	}
	t.Logf("burst of %d: %d answered, %d timed out", burst, answered, timedOut)
	if answered == 0 || timedOut < 3 {
		t.Fatalf("burst: %d answered, %d timed out; the test needs both (at least 3 timeouts)", answered, timedOut)
	}
	if _, _, err := s.Get(ctx, key); err != nil {
		t.Fatalf("Get after the burst: %v, want an answer: Redis was busy, not down", err)
	}

	// Frozen: nothing answers, and three timeouts in a row open the breaker.
	p.SetLatency(0, 0)
	p.Freeze(2 * time.Second)
	var last error
	for range 4 {
		_, _, last = s.Get(ctx, key)
	}
	if !errors.Is(last, redisstore.ErrStoreDown) {
		t.Fatalf("Get on a frozen Redis, after three timeouts: %v, want ErrStoreDown", last)
	}
}
