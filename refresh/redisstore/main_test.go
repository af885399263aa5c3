package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/internal/testenv"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
	"github.com/redis/go-redis/v9"
)

// testURL is the Redis shared by the package's tests: QELOS_TEST_REDIS_URL,
// or a private redis-server started by TestMain. Empty when there is none.
var testURL string

func TestMain(m *testing.M) {
	url, stop, err := redistest.URL()
	if err != nil && !errors.Is(err, redistest.ErrNotFound) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testURL = url
	// go-redis logs through the Stores' Options.Logger (see TestStoreNoise).
	code := m.Run()
	stop()
	os.Exit(code)
}

// secret is what the tests' replicas share, as an app shares its cookie key.
var secret = []byte("test cookie key, 32 bytes long!!")

func needRedis(tb testing.TB) string {
	tb.Helper()
	if testURL == "" {
		testenv.Missing(tb, redistest.SkipMessage)
	}
	return testURL
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// testPrefix isolates a test's keys, so tests may share a Redis (even one
// given by QELOS_TEST_REDIS_URL) and run in parallel.
func testPrefix(tb testing.TB) string {
	prefix := "qelos:test:" + nonWord.ReplaceAllString(tb.Name(), "_") + ":" + rand.Text()[:6] + ":"
	if testURL != "" { // leave a shared Redis as we found it
		raw := rawClient(tb, testURL)
		tb.Cleanup(func() {
			ctx := context.Background()
			iter := raw.Scan(ctx, 0, prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				raw.Del(ctx, iter.Val())
			}
		})
	}
	return prefix
}

// newStore returns a Store on url with its own client. Zero options get test
// defaults: the shared secret and prefix.
func newStore(tb testing.TB, url string, opts redisstore.Options) *redisstore.Store {
	tb.Helper()
	if opts.Secret == nil {
		opts.Secret = secret
	}
	s, err := redisstore.NewFromURL(url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rawClient is the test's own view of Redis, standing in for redis-cli.
func rawClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

func newToken() string { return "rt-" + rand.Text() }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// upstream stands in for Qelos's token endpoint: it counts calls and answers
// after delay with a pair derived from the token and the call number.
type upstream struct {
	delay time.Duration
	calls atomic.Int64
}

func (u *upstream) Refresh(ctx context.Context, rt string) (refresh.Pair, error) {
	n := u.calls.Add(1)
	select {
	case <-time.After(u.delay):
	case <-ctx.Done():
		return refresh.Pair{}, ctx.Err()
	}
	return refresh.Pair{
		AccessToken:  fmt.Sprintf("access-for-%s-call-%d", rt, n),
		RefreshToken: fmt.Sprintf("next-of-%s-call-%d", rt, n),
	}, nil
}

// coordinators returns one Coordinator per store, all refreshing through up.
func coordinators(stores []refresh.Store, up refresh.Refresher, opts refresh.Options) []*refresh.Coordinator {
	cs := make([]*refresh.Coordinator, len(stores))
	for i, s := range stores {
		o := opts
		o.Store = s
		if o.Logger == nil {
			o.Logger = quiet()
		}
		cs[i] = refresh.NewCoordinator(up, o)
	}
	return cs
}

type stormResult struct {
	pairs   map[refresh.Pair]int
	errs    []error
	latency []time.Duration // sorted
	elapsed time.Duration
}

// storm fires n concurrent Refresh calls for token, spread round-robin over
// the coordinators, released together.
func storm(ctx context.Context, cs []*refresh.Coordinator, token string, n int) stormResult {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		res   = stormResult{pairs: map[refresh.Pair]int{}}
		start = make(chan struct{})
	)
	for i := range n {
		c := cs[i%len(cs)]
		wg.Go(func() {
			<-start
			t0 := time.Now()
			p, err := c.Refresh(ctx, token)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.latency = append(res.latency, d)
			if err != nil {
				res.errs = append(res.errs, err)
				return
			}
			res.pairs[p]++
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.elapsed = time.Since(t0)
	sort.Slice(res.latency, func(i, j int) bool { return res.latency[i] < res.latency[j] })
	return res
}

func (r stormResult) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latency)-1))
	return r.latency[i]
}
