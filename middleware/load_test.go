package middleware_test

import (
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

var (
	loadFlag   = flag.Bool("load", false, "run TestLoad: the quickstart-shaped app's req/s with and without the middleware")
	loadTime   = flag.Duration("load.time", time.Second, "TestLoad: how long each side runs per round")
	loadRounds = flag.Int("load.rounds", 3, "TestLoad: rounds, alternating which side goes first")
)

const (
	loadSessions = 1000 // distinct signed-in sessions, all warm
	loadClients  = 64   // concurrent keep-alive clients
	loadMinRatio = 0.85 // with / without, the acceptance bar
)

// TestLoad serves the quickstart's /whoami on loopback twice: behind the
// middleware, with 1000 warm signed-in sessions, and without it. Both
// answer the same user document and receive the same Cookie headers, so
// the difference is the middleware: reading the pair, the cache hit, the
// context. 64 keep-alive clients hammer each side for -load.time, the sides
// alternating for -load.rounds rounds; it fails when the middleware keeps
// less than 85% of the throughput.
//
//	go test ./middleware -run '^TestLoad$' -count=1 -v -load   (flags after the package)
func TestLoad(t *testing.T) {
	if !*loadFlag {
		t.Skip("run with -load")
	}
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(middleware.Config{
		AppURL:     "http://127.0.0.1:1", // never called: every session is warm
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}, Labels: []string{}}
	cookies := make([]string, loadSessions)
	for i := range cookies {
		access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, acmeID)
		if err != nil {
			t.Fatal(err)
		}
		sa, sr := middleware.SealPair(mw, access, refreshTok, ws)
		cookies[i] = "theme=dark; " + accessCookie + "=" + sa + "; " + refreshCookie + "=" + sr
	}

	whoami := func(u *middleware.User, w *middleware.Workspace) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if u == nil { // behind the middleware
				u, _ = middleware.UserFrom(r.Context())
				w, _ = middleware.WorkspaceFrom(r.Context())
			}
			rw.Header().Set("Content-Type", "application/json")
			json.NewEncoder(rw).Encode(map[string]any{"user": u, "workspace": w})
		})
	}
	withMW := httptest.NewServer(mw.Handler(whoami(nil, nil)))
	defer withMW.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * loadClients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	get := func(url, cookie string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}

	// Warm every session, and take the document the baseline will answer.
	var doc struct {
		User      *middleware.User      `json:"user"`
		Workspace *middleware.Workspace `json:"workspace"`
	}
	for i, c := range cookies {
		status, body, err := get(withMW.URL+"/whoami", c)
		if err != nil || status != 200 {
			t.Fatalf("session %d: %d %v", i, status, err)
		}
		if i == 0 {
			json.Unmarshal(body, &doc)
		}
	}
	if doc.User == nil || middleware.CacheLen(mw) != loadSessions {
		t.Fatalf("warm-up: user %v, %d cached sessions", doc.User, middleware.CacheLen(mw))
	}
	without := httptest.NewServer(whoami(doc.User, doc.Workspace))
	defer without.Close()

	run := func(url string) (requests int64) {
		var n, failures atomic.Int64
		deadline := time.Now().Add(*loadTime)
		var wg sync.WaitGroup
		for c := range loadClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; time.Now().Before(deadline); i += loadClients {
					if status, _, err := get(url+"/whoami", cookies[i%loadSessions]); err != nil || status != 200 {
						failures.Add(1)
						continue
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if f := failures.Load(); f != 0 {
			t.Errorf("%d failed requests against %s", f, url)
		}
		return n.Load()
	}

	run(without.URL) // open the keep-alive connections of both sides
	run(withMW.URL)
	var with, base int64
	for round := range *loadRounds {
		if round%2 == 0 {
			with += run(withMW.URL)
			base += run(without.URL)
		} else {
			base += run(without.URL)
			with += run(withMW.URL)
		}
	}
	secs := loadTime.Seconds() * float64(*loadRounds)
	ratio := float64(with) / float64(base)
	t.Logf("GOMAXPROCS=%d, %d clients, %d warm sessions, %d rounds of %v per side: with middleware %.0f req/s, without %.0f req/s, ratio %.3f",
		runtime.GOMAXPROCS(0), loadClients, loadSessions, *loadRounds, *loadTime, float64(with)/secs, float64(base)/secs, ratio)
	if ratio < loadMinRatio {
		t.Errorf("the middleware keeps %.1f%% of the throughput, want at least %.0f%%", 100*ratio, 100*loadMinRatio)
	}
	if n := middleware.CacheLen(mw); n != loadSessions {
		t.Errorf("%d cached sessions after the run, want %d (nothing refreshed or evicted)", n, loadSessions)
	}
}
