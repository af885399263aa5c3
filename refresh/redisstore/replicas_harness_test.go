package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/faultproxy"
	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// The middleware's documented defaults, as the browser and Qelos see them.
const (
	defaultAccessCookie    = "__Host-q_access_token"  // Config.Cookie.AccessName, with the __Host- prefix
	defaultRefreshCookie   = "__Host-q_refresh_token" // Config.Cookie.RefreshName, with the __Host- prefix
	defaultSignInPerUser   = 10                       // SignInLimit.PerUser
	defaultUpstreamTimeout = 5 * time.Second          // Config.Limits.UpstreamTimeout
)

// fleet is one app deployed as several replicas behind a load balancer, as
// an operator runs it: each replica has its own Middleware, caches and
// Redis connections; they share the cookie keys, Qelos (qelostest) and a
// private redis-server, which they reach through a fault-injecting proxy
// (or the Redis of fleetOptions.url, such as a Cluster, directly).
type fleet struct {
	t        testing.TB
	qelos    *qelostest.Server
	redis    redisServer
	proxy    *faultproxy.Proxy
	replicas []*fleetReplica
}

// redisServer is what a fleet's test does to its Redis: one server
// (*redistest.Server) or every node of a Cluster (*redistest.Cluster).
type redisServer interface {
	Stop()
	Restart() error
	Pause() error
	Resume() error
}

type fleetReplica struct {
	mw    *middleware.Middleware
	store *redisstore.Store
	proxy *faultproxy.Proxy // the replica's own way to Redis
	app   *httptest.Server
	logs  *syncBuffer
}

// fleetOptions shape a fleet. Zero values: one key set shared by every
// replica, default middleware settings.
type fleetOptions struct {
	replicas int
	qelos    qelostest.Options
	keys     func(i int) []middleware.CookieKey // cookie keys of replica i
	mutate   func(i int, c *middleware.Config)
	lease    time.Duration // the Stores' Lease; 0: the default
	// url, when set, is a Redis (a Cluster's URL, say) the replicas reach
	// directly: the fleet then has no proxies to fault, and redis is the
	// cluster given (or nil).
	url     string
	cluster *redistest.Cluster
}

func newFleet(t testing.TB, o fleetOptions) *fleet {
	t.Helper()
	f := &fleet{t: t, qelos: qelostest.New(o.qelos)}
	t.Cleanup(f.qelos.Close)
	if o.cluster != nil {
		f.redis, o.url = o.cluster, o.cluster.URL()
	}
	if o.url == "" {
		srv := redistest.Start(t) // private: tests stop and freeze it
		p, err := faultproxy.Start(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		f.redis, f.proxy = srv, p
	}
	shared := middleware.GenerateCookieKey()
	for i := range max(o.replicas, 1) {
		r := &fleetReplica{logs: &syncBuffer{}}
		url := o.url
		if url == "" {
			// Each replica reaches Redis through a proxy of its own, chained
			// to the shared one: a fault on f.proxy is an outage for all,
			// one on r.proxy partitions that replica alone.
			own, err := faultproxy.Start(f.proxy.Addr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { own.Close() })
			r.proxy, url = own, "redis://"+own.Addr()+"/0"
		}
		keys := []middleware.CookieKey{shared}
		if o.keys != nil {
			keys = o.keys(i)
		}
		logger := slog.New(slog.NewTextHandler(r.logs, nil))
		// As the README sets a replica up: the first cookie key is the
		// store's secret; middleware.New hands it the others.
		store, err := redisstore.NewFromURL(url, redisstore.Options{Secret: keys[0].Hash, Logger: logger, Lease: o.lease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		r.store = store
		cfg := middleware.Config{
			AppURL:     f.qelos.URL,
			CookieKeys: keys,
			Refresh:    middleware.RefreshConfig{Store: store},
			HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}},
			Logger:     logger,
		}
		if o.mutate != nil {
			o.mutate(i, &cfg)
		}
		mw, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.mw = mw
		r.app = httptest.NewServer(mw.Handler(fleetMux(mw)))
		t.Cleanup(r.app.Close)
		f.replicas = append(f.replicas, r)
	}
	return f
}

// fleetMux is the app every replica serves.
func fleetMux(mw *middleware.Middleware) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, `{"user":%q}`, u.ID)
	})))
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	// The test's back door: seal a pair it got from qelostest, as a custom
	// sign-in would.
	mux.HandleFunc("POST /test/session", func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Access, Refresh string }
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if _, err := mw.StartSession(w, pairOf(p.Access, p.Refresh), nil); err != nil {
			http.Error(w, err.Error(), 400)
		}
	})
	return mux
}

// answer is one reply from a replica.
type answer struct {
	replica int
	status  int
	cleared bool           // the session cookies were expired
	cookies []*http.Cookie // session cookies set (not cleared)
	latency time.Duration
	at      time.Time // when the answer arrived
	body    string
}

// do sends method path to replica i with cookies.
func (f *fleet) do(i int, method, path string, cookies []*http.Cookie) answer {
	req, err := http.NewRequest(method, f.replicas[i].app.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	t0 := time.Now()
	resp, err := browsers.Do(req)
	if err != nil {
		f.t.Errorf("%s %s on replica %d: %v", method, path, i, err)
		return answer{replica: i}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{replica: i, status: resp.StatusCode, latency: time.Since(t0), at: time.Now(), body: string(b)}
	for _, c := range resp.Cookies() {
		if c.Name != defaultAccessCookie && c.Name != defaultRefreshCookie {
			continue
		}
		if c.MaxAge < 0 {
			a.cleared = true
		} else {
			a.cookies = append(a.cookies, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return a
}

func (f *fleet) get(i int, cookies []*http.Cookie) answer {
	return f.do(i, http.MethodGet, "/private", cookies)
}

// session issues a pair at qelostest whose access token expired a minute
// (accessAge) ago, and has replica 0 seal it into session cookies.
func (f *fleet) session(accessAge time.Duration) []*http.Cookie {
	f.t.Helper()
	_, rt, err := f.qelos.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		f.t.Fatal(err)
	}
	at, err := f.qelos.IssueAccessToken(qelostest.AdminEmail, "", -accessAge)
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"Access": at, "Refresh": rt})
	resp, err := http.Post(f.replicas[0].app.URL+"/test/session", "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("sealing a session: %d %s", resp.StatusCode, b)
	}
	var cs []*http.Cookie
	for _, c := range resp.Cookies() {
		cs = append(cs, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return cs
}

// browsers is the clients' side: enough kept-alive connections for a storm
// to reach every replica at once, not after hundreds of handshakes.
var browsers = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 500, MaxIdleConns: 2000}}

// storm sends n concurrent GET /private with cookies, round-robin over the
// replicas, released together, on connections opened beforehand.
func (f *fleet) storm(n int, cookies []*http.Cookie) []answer {
	var warm sync.WaitGroup
	for i := range n {
		warm.Go(func() { f.get(i%len(f.replicas), nil) })
	}
	warm.Wait()
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f.get(i%len(f.replicas), cookies)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func (f *fleet) refreshes() int { return f.qelos.Calls(qelostest.EndpointRefresh) }

// dumpLogs logs every replica's log, for a failing test.
func (f *fleet) dumpLogs() {
	for i, r := range f.replicas {
		f.t.Logf("replica %d log:\n%s", i, r.logs.String())
	}
}

// tally sums answers into a row of docs/REPLICAS.md's before/after table.
type tally struct {
	statuses map[int]int
	cleared  int
	worst    time.Duration
}

func count(answers ...[]answer) tally {
	t := tally{statuses: map[int]int{}}
	for _, as := range answers {
		for _, a := range as {
			t.statuses[a.status]++
			if a.cleared {
				t.cleared++
			}
			t.worst = max(t.worst, a.latency)
		}
	}
	return t
}

func (t tally) String() string {
	codes := make([]int, 0, len(t.statuses))
	for c := range t.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", t.statuses[c], c))
	}
	return strings.Join(parts, " ")
}

// row logs the case's line of the table (grep ROW in -v output) and checks
// the targets: no sign-out of a user Qelos did not reject, and
// exactly wantRefreshes upstream refreshes.
func (f *fleet) row(name string, refreshes, wantRefreshes int, t tally) {
	f.t.Helper()
	f.t.Logf("ROW | %s | %d | %s | %d | %v |", name, refreshes, t, t.cleared, t.worst.Round(time.Millisecond))
	if refreshes != wantRefreshes || t.statuses[401] != 0 || t.cleared != 0 {
		f.dumpLogs()
		f.t.Errorf("%s: %d upstream refreshes (want %d), %d × 401, %d cookies cleared (want 0, 0)",
			name, refreshes, wantRefreshes, t.statuses[401], t.cleared)
	}
}

// storesBack waits until every replica's Store coordinates again (its
// breaker closed, its subscription back, the moments after a restart in
// which no refresh begins over), polling the Stores, not the clock.
func (f *fleet) storesBack() {
	f.t.Helper()
	for _, r := range f.replicas {
		eventually(f.t, 10*time.Second, func() bool { return coordinates(r.store) })
	}
}

// jar is a browser's cookie jar for the session cookies.
type jar map[string]*http.Cookie

func newJar(cookies []*http.Cookie) jar {
	j := jar{}
	for _, c := range cookies {
		j[c.Name] = c
	}
	return j
}

// apply plays answers into the jar as a browser would: in the order they
// arrived, each one's Set-Cookie overwriting or clearing what came before.
func (j jar) apply(answers ...[]answer) {
	var all []answer
	for _, as := range answers {
		all = append(all, as...)
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].at.Before(all[b].at) })
	for _, a := range all {
		if a.cleared {
			clear(j)
		}
		for _, c := range a.cookies {
			j[c.Name] = c
		}
	}
}

func (j jar) cookies() []*http.Cookie {
	var cs []*http.Cookie
	for _, c := range j {
		cs = append(cs, c)
	}
	return cs
}

// signedInEverywhere checks that the jar is signed in on every replica.
func (f *fleet) signedInEverywhere(j jar) {
	f.t.Helper()
	for i := range f.replicas {
		if a := f.get(i, j.cookies()); a.status != 200 || a.cleared {
			f.dumpLogs()
			f.t.Errorf("the browser's final jar on replica %d: %d (cleared %v) %s, want 200", i, a.status, a.cleared, a.body)
		}
	}
}

// coordinates reports whether s would let a refresh begin now: it can take
// a lock (on a key of its own, released at once).
func coordinates(s *redisstore.Store) bool {
	release, ok, err := s.TryLock(context.Background(), refresh.Key("readiness probe"))
	if ok {
		release()
	}
	return ok && err == nil
}
