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
	"strings"
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

// clusterURL is a private 3-master Redis Cluster started by TestMain, in
// the form NewFromURL reads. Empty when redis-server is missing.
var clusterURL string

func TestMain(m *testing.M) {
	url, stop, err := redistest.URL()
	if err != nil && !errors.Is(err, redistest.ErrNotFound) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testURL = url
	cluster, err := redistest.LaunchCluster(3, false)
	if err != nil && !errors.Is(err, redistest.ErrNotFound) {
		stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if cluster != nil {
		clusterURL = cluster.URL()
	}
	// go-redis logs through the Stores' Options.Logger (see TestStoreNoise).
	code := m.Run()
	stop()
	if cluster != nil {
		cluster.Close()
	}
	os.Exit(code)
}

// A topology is a Redis deployment the package's tests run on: one
// server, or a Redis Cluster whose three masters split the slots.
type topology struct {
	name    string
	url     string // for NewFromURL
	cluster bool
}

// key is the name the Store gives to one of a token's keys (kind "lock:",
// "pair:", …) under prefix: on a Cluster the token's hash is a hash tag.
func (tp topology) key(prefix, kind, key string) string {
	if tp.cluster {
		return prefix + kind + "{" + key + "}"
	}
	return prefix + kind + key
}

// forEachTopology runs f as a subtest on one server and on a 3-master
// Redis Cluster (each skipped, with how to run it, when redis-server is
// missing).
func forEachTopology(t *testing.T, f func(t *testing.T, tp topology)) {
	t.Helper()
	for _, tp := range []topology{{"single", testURL, false}, {"cluster", clusterURL, true}} {
		t.Run(tp.name, func(t *testing.T) {
			if tp.url == "" {
				testenv.Missing(t, redistest.SkipMessage)
			}
			f(t, tp)
		})
	}
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

// rawClient is the test's own view of Redis, standing in for redis-cli:
// a cluster or failover client for a Cluster or Sentinel URL (see
// NewFromURL), else a plain one.
func rawClient(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	var c redis.UniversalClient
	if strings.Contains(url, "master_name=") {
		o, err := redis.ParseFailoverURL(url)
		if err != nil {
			tb.Fatal(err)
		}
		c = redis.NewFailoverClient(o)
	} else if strings.Contains(url, "addr=") {
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			tb.Fatal(err)
		}
		c = redis.NewClusterClient(o)
	} else {
		o, err := redis.ParseURL(url)
		if err != nil {
			tb.Fatal(err)
		}
		c = redis.NewClient(o)
	}
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

// scanAll returns every key matching pattern, on every master of a Cluster.
func scanAll(tb testing.TB, raw redis.UniversalClient, pattern string) []string {
	tb.Helper()
	keys, err := scanKeys(raw, pattern)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// scanKeys is scanAll for a goroutine of a test, which may not fail it.
func scanKeys(raw redis.UniversalClient, pattern string) ([]string, error) {
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	switch c := raw.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("scanKeys: unexpected client %T", raw)
	}
	sort.Strings(keys)
	return keys, err
}
