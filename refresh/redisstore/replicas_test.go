package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
	"github.com/redis/go-redis/v9"
)

// These tests run the middleware as an app deployed as several replicas
// behind a load balancer, with a Store of this package as each replica's
// Config.Refresh.Store: each replica has its own Middleware, HTTP client
// and caches; they share only the cookie keys, Redis and Qelos.

// replicaAccessTTL is qelostest's access-token lifetime in these tests.
// Qelos, the replicas and their Coordinators share one qelostest.Clock,
// which the tests advance past it to expire a pair: no sleep, and a storm
// that runs slowly (under -race, on a busy machine) never outlives the
// refreshed pair, which would make stragglers exchange it in turn.
const replicaAccessTTL = 2 * time.Second

// jwtLike matches a JWT (base64url of `{"…` then a dot) anywhere in a
// string: every Qelos token is one, so no Redis key or value may hold it.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.`)

type replicaSet struct {
	clock    *qelostest.Clock
	stores   []*redisstore.Store
	qelos    *qelostest.Server
	redis    *redistest.Server // the private server; nil on a given url
	url      string            // QELOS_REDIS_URL of every replica
	replicas []*replica
}

// replica is one instance of the app: the middleware in front of a mux
// that answers whoami and, on GET /token, the access token in force.
type replica struct {
	app  *httptest.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newReplicaSet starts qelostest and n replicas, each configured as the
// README says: RefreshStore is a redisstore.Store on the shared Redis
// (QELOS_REDIS_URL set to url, or to a private redis-server when url is
// empty) whose Secret is the first cookie key's Hash.
func newReplicaSet(t *testing.T, n int, url string) *replicaSet {
	t.Helper()
	rs := &replicaSet{clock: qelostest.NewClock(time.Now())}
	if url == "" {
		rs.redis = redistest.Start(t)
		url = rs.redis.URL()
	}
	rs.url = url
	rs.qelos = qelostest.New(qelostest.Options{AccessTTL: replicaAccessTTL, Now: rs.clock.Now})
	t.Cleanup(rs.qelos.Close)
	key := middleware.GenerateCookieKey()
	prefix := testPrefix(t) // a shared Cluster keeps other tests' sign-in counts
	t.Setenv(redisstore.EnvURL, url)
	for range n {
		store, err := redisstore.NewFromEnv(redisstore.Options{Secret: key.Hash, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		rs.stores = append(rs.stores, store)
		r := &replica{logs: &syncBuffer{}}
		mw, err := middleware.New(middleware.Config{
			AppURL:     rs.qelos.URL,
			CookieKeys: []middleware.CookieKey{key},
			Refresh:    middleware.RefreshConfig{Store: store},
			HTTPClient: &http.Client{Transport: &http.Transport{}},
			Logger:     slog.New(slog.NewTextHandler(r.logs, nil)),
			Now:        rs.clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("POST /auth/signin", mw.SignInHandler())
		mux.Handle("GET /token", middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a, _ := middleware.FromContext(r.Context())
			io.WriteString(w, a.AccessToken())
		})))
		r.app = httptest.NewServer(mw.Handler(mux))
		t.Cleanup(r.app.Close)
		rs.replicas = append(rs.replicas, r)
	}
	return rs
}

// reply is an answer from a replica, read whole.
type reply struct {
	status  int
	body    string
	cookies map[string]*http.Cookie
}

func (r *replica) do(t *testing.T, req *http.Request) reply {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, body: string(b), cookies: map[string]*http.Cookie{}}
	for _, c := range resp.Cookies() {
		out.cookies[c.Name] = c
	}
	return out
}

// signIn signs the admin in through replica i and returns the session pair
// once its access token has expired (see replicaAccessTTL).
func (rs *replicaSet) signIn(t *testing.T, i int) []*http.Cookie {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword})
	req, _ := http.NewRequest(http.MethodPost, rs.replicas[i].app.URL+"/auth/signin", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	r := rs.replicas[i].do(t, req)
	a, ok1 := r.cookies[defaultAccessCookie]
	rf, ok2 := r.cookies[defaultRefreshCookie]
	if r.status != http.StatusOK || !ok1 || !ok2 {
		t.Fatalf("sign-in: %d %s, cookies %v", r.status, r.body, r.cookies)
	}
	rs.clock.Advance(replicaAccessTTL) // the pair is now expired, everywhere
	return []*http.Cookie{{Name: a.Name, Value: a.Value}, {Name: rf.Name, Value: rf.Value}}
}

// storm sends n concurrent GET /token with cookies, round-robin over the
// replicas, and returns the answers.
func (rs *replicaSet) storm(t *testing.T, n int, cookies []*http.Cookie) []reply {
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		r := rs.replicas[i%len(rs.replicas)]
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, r.app.URL+"/token", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			replies[i] = r.do(t, req)
		})
	}
	wg.Wait()
	return replies
}

func (rs *replicaSet) dumpLogs(t *testing.T) {
	for i, r := range rs.replicas {
		t.Logf("replica %d log:\n%s", i, r.logs.String())
	}
}

// TestStormOneRefresh: 300 concurrent requests with one expired pair,
// spread over three replicas, spend the refresh token exactly once, with
// 300 × 200 and no 401 — five runs out of five on one server, three out of
// three on a 3-master Redis Cluster — while Redis never holds a token or
// readable JSON.
func TestStormOneRefresh(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := ""
		if tp.cluster {
			url = tp.url
		}
		runs := 5
		if tp.cluster {
			runs = 3 // the suite's time budget; one server keeps its five
		}
		stormOneRefresh(t, newReplicaSet(t, 3, url), runs)
	})
}

func stormOneRefresh(t *testing.T, rs *replicaSet, runs int) {
	scan := rawClient(t, rs.url)

	for run := 1; run <= runs; run++ {
		cookies := rs.signIn(t, run%3)
		rs.qelos.ResetCalls()
		// Hold the refresh open so the storm's requests overlap on every replica.
		rs.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 150 * time.Millisecond, Times: 1})

		ctx, stopScan := context.WithCancel(context.Background())
		seen := make(chan map[string]string, 1)
		go func() { seen <- scanWhile(ctx, scan) }()
		replies := rs.storm(t, 300, cookies)
		stopScan()
		stored := <-seen

		if got := rs.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
			rs.dumpLogs(t)
			t.Fatalf("run %d: %d upstream refreshes for 300 requests on 3 replicas, want exactly 1", run, got)
		}
		newAccess := replies[0].body
		for i, r := range replies {
			if r.status != 200 {
				t.Fatalf("run %d, request %d: %d %s", run, i, r.status, r.body)
			}
			if r.body != newAccess {
				t.Fatalf("run %d: request %d (replica %d) got a different access token", run, i, i%3)
			}
			for _, name := range []string{defaultAccessCookie, defaultRefreshCookie} {
				if c, ok := r.cookies[name]; !ok || c.MaxAge <= 0 {
					t.Fatalf("run %d, request %d: no new %s cookie in %v", run, i, name, r.cookies)
				}
			}
		}
		if !jwtLike.MatchString(newAccess) {
			t.Fatalf("run %d: the access token %q is not a JWT; the Redis check below would prove nothing", run, newAccess)
		}
		if len(stored) == 0 {
			t.Fatalf("run %d: the scan saw nothing in Redis during the storm", run)
		}
		for k, v := range stored {
			if jwtLike.MatchString(k) || jwtLike.MatchString(v) {
				t.Fatalf("run %d: Redis key %q or its value holds a token", run, k)
			}
			if json.Valid([]byte(v)) && strings.ContainsAny(v, "{[") {
				t.Fatalf("run %d: the value of %q is readable JSON", run, k)
			}
		}
		t.Logf("run %d: 1 upstream refresh, 300 × 200, one new pair; Redis held %d keys during the storm", run, len(stored))
	}
}

// scanWhile records every key (and string value) in Redis until ctx ends.
func scanWhile(ctx context.Context, c redis.UniversalClient) map[string]string {
	seen := map[string]string{}
	for ctx.Err() == nil {
		keys, _ := scanKeys(c, "*")
		for _, k := range keys {
			if v, err := c.Get(context.Background(), k).Result(); err == nil {
				seen[k] = v
			} else if _, ok := seen[k]; !ok {
				seen[k] = ""
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return seen
}

// TestReplicasThroughARedisOutage: Redis stops mid-test and comes back.
// While it is down no replica can know that the others are not spending
// the same token: expiring sessions are answered 503 with their cookies
// kept, at once (the breaker), and nobody is signed out; once it is back
// they coordinate again.
func TestReplicasThroughARedisOutage(t *testing.T) {
	rs := newReplicaSet(t, 3, "")
	count := func(replies []reply) (ok, out, fiveXX int) {
		for _, r := range replies {
			switch {
			case r.status == 200:
				ok++
			case r.status == 401:
				out++
			case r.status >= 500:
				fiveXX++
			}
		}
		return
	}
	phase := func(name string, coordinated bool) {
		cookies := rs.signIn(t, 0)
		rs.qelos.ResetCalls()
		rs.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 100 * time.Millisecond, Times: 1})
		start := time.Now()
		replies := rs.storm(t, 30, cookies)
		ok, out, fiveXX := count(replies)
		t.Logf("%s: %d upstream refreshes; %d × 200, %d signed out, %d × 5xx; storm took %v",
			name, rs.qelos.Calls(qelostest.EndpointRefresh), ok, out, fiveXX, time.Since(start).Round(time.Millisecond))
		if out != 0 {
			rs.dumpLogs(t)
			t.Fatalf("%s: %d requests signed out", name, out)
		}
		if d := time.Since(start); d > defaultUpstreamTimeout {
			t.Fatalf("%s: the storm took %v", name, d)
		}
		switch {
		case coordinated && (rs.qelos.Calls(qelostest.EndpointRefresh) != 1 || ok != len(replies)):
			rs.dumpLogs(t)
			t.Fatalf("%s: coordination did not hold", name)
		case !coordinated && (rs.qelos.Calls(qelostest.EndpointRefresh) != 0 || fiveXX != len(replies)):
			t.Fatalf("%s: a token was spent without the store, or a request was not answered 503", name)
		}
	}
	phase("Redis up", true)
	rs.redis.Stop()
	phase("Redis down", false)
	phase("Redis still down", false)
	if err := rs.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, s := range rs.stores { // until each Store's probe or subscription reaches it
		eventually(t, 10*time.Second, func() bool { return coordinates(s) })
	}
	phase("Redis back", true)
}
