package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// upstream stands in for Qelos's token endpoint: it counts calls, can be
// held open, and rotates tokens.
type upstream struct {
	calls atomic.Int32
	delay time.Duration
	gate  chan struct{} // when set, each call waits for it to close instead of delay
	err   error
}

func (u *upstream) Refresh(ctx context.Context, rt string) (refresh.Pair, error) {
	n := u.calls.Add(1)
	var delay <-chan time.Time
	if u.gate == nil {
		delay = time.After(u.delay)
	}
	select {
	case <-delay: // nil with a gate: never
	case <-u.gate: // nil without one: never
	case <-ctx.Done():
		return refresh.Pair{}, &refresh.Error{Kind: refresh.ErrUnavailable, Err: ctx.Err()}
	}
	if u.err != nil {
		return refresh.Pair{}, u.err
	}
	return refresh.Pair{AccessToken: fmt.Sprintf("access-%d", n), RefreshToken: fmt.Sprintf("%s-next-%d", rt, n)}, nil
}

func TestCoordinatorCoalesces(t *testing.T) {
	u := &upstream{delay: 50 * time.Millisecond}
	c := refresh.NewCoordinator(u, refresh.Options{})
	const n = 500
	pairs := make([]refresh.Pair, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pairs[i], errs[i] = c.Refresh(context.Background(), "rt-1")
		}()
	}
	wg.Wait()
	if got := u.calls.Load(); got != 1 {
		t.Fatalf("%d upstream calls for %d callers, want 1", got, n)
	}
	for i := range n {
		if errs[i] != nil || pairs[i] != pairs[0] {
			t.Fatalf("caller %d: %+v %v", i, pairs[i], errs[i])
		}
	}
	// Different tokens are independent.
	if _, err := c.Refresh(context.Background(), "rt-2"); err != nil || u.calls.Load() != 2 {
		t.Fatalf("second token: %v, %d calls", err, u.calls.Load())
	}
}

func TestCoordinatorGraceWindow(t *testing.T) {
	u := &upstream{}
	c := refresh.NewCoordinator(u, refresh.Options{Grace: 100 * time.Millisecond})
	first, err := c.Refresh(context.Background(), "rt")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Refresh(context.Background(), "rt")
	if err != nil || again != first || u.calls.Load() != 1 {
		t.Fatalf("inside the grace window: %+v %v, %d calls", again, err, u.calls.Load())
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := c.Refresh(context.Background(), "rt"); err != nil || u.calls.Load() != 2 {
		t.Fatalf("after the grace window: %v, %d calls (want a new upstream call)", err, u.calls.Load())
	}
}

// A waiter whose context ends leaves while the refresh it joined is still
// with Qelos (the upstream holds every call until the test lets it go, so
// no clock decides), and the refresh goes on for the other callers.
func TestCoordinatorWaiterLeavesOnItsOwnContext(t *testing.T) {
	u := &upstream{gate: make(chan struct{})}
	answer := sync.OnceFunc(func() { close(u.gate) })
	// A waiter that waits for Qelos fails the checks below after 10 s
	// instead of hanging the test.
	defer time.AfterFunc(10*time.Second, answer).Stop()
	c := refresh.NewCoordinator(u, refresh.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	other := make(chan error, 1)
	go func() {
		_, err := c.Refresh(context.Background(), "rt")
		other <- err
	}()
	_, err := c.Refresh(ctx, "rt")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, refresh.ErrUnavailable) || refresh.IsDefinitive(err) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	select {
	case err := <-other:
		t.Fatalf("the other waiter returned (%v) before Qelos answered", err)
	default:
	}
	answer()
	if err := <-other; err != nil {
		t.Fatalf("the other waiter failed: %v", err)
	}
	if u.calls.Load() != 1 {
		t.Fatalf("%d calls", u.calls.Load())
	}
}

func TestCoordinatorRecordsAnAbandonedRefresh(t *testing.T) {
	u := &upstream{delay: 100 * time.Millisecond}
	c := refresh.NewCoordinator(u, refresh.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Refresh(ctx, "rt"); err == nil {
		t.Fatal("a cancelled caller got a pair")
	}
	time.Sleep(200 * time.Millisecond)
	p, err := c.Refresh(context.Background(), "rt")
	if err != nil || p.AccessToken != "access-1" || u.calls.Load() != 1 {
		t.Fatalf("%+v %v, %d calls: the detached refresh was not recorded", p, err, u.calls.Load())
	}
}

func TestCoordinatorBoundsTheDetachedCall(t *testing.T) {
	u := &upstream{delay: time.Hour}
	c := refresh.NewCoordinator(u, refresh.Options{CallTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := c.Refresh(context.Background(), "rt")
	if !errors.Is(err, refresh.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v with a 50ms call timeout", d)
	}
}

func TestCoordinatorFailures(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		definitive bool
	}{
		{"rejected", &refresh.Error{Kind: refresh.ErrRejected, Status: 401}, true},
		{"unavailable", &refresh.Error{Kind: refresh.ErrUnavailable, Status: 500}, false},
		{"unclassified is never definitive", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &upstream{err: tt.err}
			c := refresh.NewCoordinator(u, refresh.Options{})
			_, err := c.Refresh(context.Background(), "rt")
			if refresh.IsDefinitive(err) != tt.definitive {
				t.Fatalf("%v: IsDefinitive = %v", err, !tt.definitive)
			}
			// A transient failure is shared with the callers of the next
			// moment, then forgotten; a rejection is not remembered.
			_, again := c.Refresh(context.Background(), "rt")
			want := int32(1)
			if tt.definitive {
				want = 2
			}
			if u.calls.Load() != want || refresh.IsDefinitive(again) != tt.definitive {
				t.Fatalf("right after: %d calls (want %d), %v", u.calls.Load(), want, again)
			}
			time.Sleep(refresh.DefaultFailureWindow + 50*time.Millisecond)
			c.Refresh(context.Background(), "rt")
			if u.calls.Load() != want+1 {
				t.Fatalf("after the failure window: %d calls, want %d", u.calls.Load(), want+1)
			}
		})
	}
}

func TestMemoryStore(t *testing.T) {
	s := refresh.NewMemoryStore(3)
	ctx := context.Background()
	for i := range 5 {
		s.Put(ctx, fmt.Sprint(i), refresh.Pair{AccessToken: fmt.Sprint(i)}, time.Minute)
	}
	if s.Len() != 3 {
		t.Fatalf("%d entries, want at most 3", s.Len())
	}
	for key, want := range map[string]bool{"0": false, "1": false, "2": true, "4": true} {
		if _, ok, _ := s.Get(ctx, key); ok != want {
			t.Errorf("Get(%s) found = %v, want %v (oldest evicted first)", key, ok, want)
		}
	}
	s.Put(ctx, "short", refresh.Pair{}, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if _, ok, _ := s.Get(ctx, "short"); ok {
		t.Fatal("an expired entry was returned")
	}
}

func TestKeyHidesTheToken(t *testing.T) {
	k := refresh.Key("secret-refresh-token")
	if len(k) != 64 || k == refresh.Key("other") {
		t.Fatalf("key %q", k)
	}
}

func TestCoordinatorRevokeAndForget(t *testing.T) {
	u := &upstream{}
	c := refresh.NewCoordinator(u, refresh.Options{})
	ctx := context.Background()
	p, err := c.Refresh(ctx, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if c.Revoked(ctx, p.AccessToken, true) {
		t.Fatal("a fresh token is revoked")
	}
	if err := c.Revoke(ctx, "already-expired", time.Now().Add(-time.Second)); err != nil || c.Revoked(ctx, "already-expired", true) {
		t.Fatalf("an expired token was recorded as revoked (err %v): the set must hold live tokens only", err)
	}
	if err := c.Revoke(ctx, p.AccessToken, time.Now().Add(time.Hour)); err != nil || !c.Revoked(ctx, p.AccessToken, false) {
		t.Fatalf("Revoke: %v; Revoked = false", err)
	}
	// The recorded outcome answers the old token until it is forgotten.
	if again, recorded, err := c.Exchange(ctx, "rt"); err != nil || again != p || !recorded {
		t.Fatalf("straggler: %+v recorded=%v %v", again, recorded, err)
	}
	if err := c.Forget(ctx, "rt"); err != nil {
		t.Fatal(err)
	}
	if again, recorded, _ := c.Exchange(ctx, "rt"); again == p || recorded || u.calls.Load() != 2 {
		t.Fatalf("after Forget the old token still yields the recorded pair (%d calls)", u.calls.Load())
	}
}
