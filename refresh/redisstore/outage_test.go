package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestRedisOutage takes a private Redis down (killed, then frozen) under
// three replicas: every Store method fails, the first within its OpTimeout
// and every later one at once (the breaker: no I/O, whatever the load on
// the machine); the Coordinators spend no token they cannot coordinate and
// answer ErrUnavailable, never ErrRejected; once Redis is back they
// coordinate through it again.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t) // its own server: the shared one must stay up
	const opTimeout = 100 * time.Millisecond
	opts := redisstore.Options{Secret: secret, Prefix: testPrefix(t), OpTimeout: opTimeout, Lease: time.Second}

	// Replica 0 uses a client made by the app with stock go-redis timeouts
	// (3 s reads, context deadlines ignored): OpTimeout must hold anyway.
	appClient := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { appClient.Close() })
	s0, err := redisstore.New(appClient, opts)
	if err != nil {
		t.Fatal(err)
	}
	stores := []*redisstore.Store{s0, newStore(t, srv.URL(), opts), newStore(t, srv.URL(), opts)}
	var warnings atomic.Int64
	logger := slog.New(countingHandler{&warnings})
	up := &upstream{delay: 30 * time.Millisecond}
	cs := coordinators([]refresh.Store{stores[0], stores[1], stores[2]}, up, refresh.Options{Logger: logger, CallTimeout: 5 * time.Second})
	ctx := context.Background()

	// phase runs a 30-request storm for a fresh token and returns how many
	// upstream calls it cost.
	phase := func(name string, wantCalls func(int64) bool) {
		t.Helper()
		before := up.calls.Load()
		r := storm(ctx, cs, newToken(), 30)
		calls := up.calls.Load() - before
		t.Logf("%-18s %d upstream call(s) for 1 token, %d distinct pair(s), %d errors, p50 %v p99 %v",
			name+":", calls, len(r.pairs), len(r.errs), r.percentile(.5).Round(time.Millisecond), r.percentile(.99).Round(time.Millisecond))
		if !wantCalls(calls) {
			t.Fatalf("%s: %d upstream calls", name, calls)
		}
		if calls == 0 { // Redis down: every caller told to come back, none signed out
			for _, err := range r.errs {
				if !errors.Is(err, refresh.ErrUnavailable) || refresh.IsDefinitive(err) {
					t.Fatalf("%s: %v, want ErrUnavailable", name, err)
				}
			}
			if len(r.errs) != 30 {
				t.Fatalf("%s: %d of 30 calls got a pair nobody refreshed", name, 30-len(r.errs))
			}
			return
		}
		if len(r.errs) > 0 {
			t.Fatalf("%s: %d of 30 calls failed, first: %v", name, len(r.errs), r.errs[0])
		}
	}
	exactlyOne := func(n int64) bool { return n == 1 }
	none := func(n int64) bool { return n == 0 }

	// down checks that every Store method fails: the ones that meet the
	// outage within its OpTimeout (bound) — one refused connection, or up to
	// three timeouts in a row (a frozen Redis may just be slow) — and every
	// later one with ErrStoreDown, without asking Redis.
	down := func(name string, bound time.Duration) {
		t.Helper()
		key := refresh.Key(newToken())
		for i, s := range stores {
			ops := []struct {
				op  string
				run func() error
			}{
				{"Get", func() error { _, _, err := s.Get(ctx, key); return err }},
				{"Put", func() error { return s.Put(ctx, key, refresh.Pair{AccessToken: "a", RefreshToken: "r"}, time.Minute) }},
				{"TryLock", func() error {
					release, ok, err := s.TryLock(ctx, key)
					switch {
					case ok:
						release()
						return errors.New("TryLock succeeded")
					case err == nil: // moments after a restart: the lock reported taken, no I/O
						return fmt.Errorf("%w: the lock reported taken after a restart", refresh.ErrInDoubt)
					}
					return err
				}},
				{"Wait", func() error { _, _, err := s.Wait(ctx, key); return err }},
				{"Revoked", func() error { _, err := s.Revoked(ctx, key); return err }},
			}
			timeouts, tripped := 0, false
			for _, o := range ops {
				t0 := time.Now()
				err := o.run()
				d := time.Since(t0)
				if err == nil {
					t.Fatalf("%s: replica %d: %s succeeded with Redis down", name, i, o.op)
				}
				switch {
				case errors.Is(err, redisstore.ErrStoreDown):
					tripped = true
				case errors.Is(err, refresh.ErrInDoubt): // TryLock without I/O: the subscription dropped, or a restart moments ago
				case tripped:
					t.Fatalf("%s: replica %d: %s: %v, want ErrStoreDown (the breaker is open)", name, i, o.op, err)
				case errors.Is(err, context.DeadlineExceeded):
					if timeouts++; timeouts > 3 {
						t.Fatalf("%s: replica %d: %s: a fourth timeout in a row, want the breaker open", name, i, o.op)
					}
				case isConnErr(err):
					tripped = true // the breaker opened on it
				default:
					t.Fatalf("%s: replica %d: %s: %v, want a timeout (bound %v), a refused connection or ErrStoreDown", name, i, o.op, err, bound)
				}
				if i == 0 {
					t.Logf("%-18s %-7s failed in %6v: %v", name+":", o.op, d.Round(time.Millisecond), err)
				}
			}
		}
	}
	back := func() {
		t.Helper()
		for _, s := range stores {
			eventually(t, 5*time.Second, func() bool {
				_, _, err := s.Get(ctx, refresh.Key("probe"))
				return err == nil
			})
		}
	}

	phase("healthy", exactlyOne)

	srv.Stop()
	down("stopped", opTimeout+50*time.Millisecond)
	phase("stopped", none)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	back()
	phase("restarted", exactlyOne)

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	// Wait may spend one OpTimeout subscribing and one looking.
	down("frozen", 2*opTimeout+100*time.Millisecond)
	phase("frozen", none)
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	back()
	phase("thawed", exactlyOne)

	t.Logf("store warnings logged by the Coordinators: %d (one per replica per outage, plus recoveries)", warnings.Load())
}

// countingHandler counts the Coordinators' log records.
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// isConnErr reports whether err is a failure to reach the server (refused,
// reset, closed), as opposed to an answer.
func isConnErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
