package redisstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestTakeSlidingWindow: Take on a real Redis records at most limit
// attempts per window, refuses the others with the time until the oldest
// leaves, and counts again as the window slides.
func TestTakeSlidingWindow(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		s := newStore(t, url, redisstore.Options{Prefix: testPrefix(t)})
		ctx := context.Background()
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		key := refresh.Key("some client")
		steps := []struct {
			name      string
			at        time.Duration // after t0
			wantOK    bool
			wantRetry time.Duration
		}{
			{"first", 0, true, 0},
			{"second", 10 * time.Second, true, 0},
			{"third", 20 * time.Second, true, 0},
			{"over the limit: wait for the first to leave", 30 * time.Second, false, 30 * time.Second},
			{"still over", 59 * time.Second, false, time.Second},
			{"the first has left", 60 * time.Second, true, 0},
			{"over again: the second leaves next", 61 * time.Second, false, 9 * time.Second},
		}
		for _, st := range steps {
			ok, retry, err := s.Take(ctx, key, 3, time.Minute, t0.Add(st.at))
			if err != nil || ok != st.wantOK || retry != st.wantRetry {
				t.Fatalf("%s: ok %v retry %v err %v; want %v %v", st.name, ok, retry, err, st.wantOK, st.wantRetry)
			}
		}
		if _, _, err := s.Take(ctx, "alice", 3, time.Minute, t0); err != redisstore.ErrInvalidKey {
			t.Fatalf("a raw key: %v, want ErrInvalidKey", err)
		}
	})
}

// TestTakeBoundsRedis: a key hammered far past its limit holds at most
// limit members, and expires a window after the last recorded attempt.
func TestTakeBoundsRedis(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		s := newStore(t, url, redisstore.Options{Prefix: prefix})
		raw := rawClient(t, url)
		ctx := context.Background()
		key := refresh.Key("hammered")
		now := time.Now()
		for range 1000 {
			if _, _, err := s.Take(ctx, key, 10, time.Minute, now); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := raw.ZCard(ctx, prefix+"rate:"+key).Result(); err != nil || n != 10 {
			t.Fatalf("%d members after 1000 attempts (err %v), want 10", n, err)
		}
		if ttl, err := raw.PTTL(ctx, prefix+"rate:"+key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("ttl %v err %v, want at most the window", ttl, err)
		}
	})
}

// TestSignInRateLimitSharedAcrossReplicas: two replicas whose refresh
// store is one Redis share the sign-in limit: 1,000 wrong passwords for
// one username from one client, spread over both, reach Qelos
// DefaultSignInPerUser times in all; another user is unaffected.
func TestSignInRateLimitSharedAcrossReplicas(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		q := qelostest.New(qelostest.Options{})
		t.Cleanup(q.Close)
		key := middleware.GenerateCookieKey()
		var apps []*httptest.Server
		for range 2 {
			store := newStore(t, url, redisstore.Options{Secret: key.Hash, Prefix: prefix, Logger: quiet()})
			mw, err := middleware.New(middleware.Config{AppURL: q.URL, CookieKeys: []middleware.CookieKey{key}, Refresh: middleware.RefreshConfig{Store: store}, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			app := httptest.NewServer(mw.SignInHandler())
			t.Cleanup(app.Close)
			apps = append(apps, app)
		}
		signIn := func(app *httptest.Server, user, password string) int {
			resp, err := http.Post(app.URL, "application/json", strings.NewReader(`{"username":"`+user+`","password":"`+password+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		var wg sync.WaitGroup
		statuses := make([]int, 1000)
		for w := range 4 { // both replicas, concurrently
			wg.Go(func() {
				for i := w; i < 1000; i += 4 {
					statuses[i] = signIn(apps[i%2], qelostest.AdminEmail, "wrong-"+strconv.Itoa(i))
				}
			})
		}
		wg.Wait()
		refused := 0
		for _, s := range statuses {
			if s == http.StatusTooManyRequests {
				refused++
			}
		}
		calls := q.Calls(qelostest.EndpointSignIn)
		t.Logf("1000 wrong passwords over 2 replicas: %d reached Qelos, %d answered 429", calls, refused)
		if calls != defaultSignInPerUser || refused != 1000-defaultSignInPerUser {
			t.Fatalf("%d reached Qelos, %d refused; want %d and %d", calls, refused, defaultSignInPerUser, 1000-defaultSignInPerUser)
		}
		if s := signIn(apps[1], qelostest.AdminEmail, qelostest.AdminPassword); s != http.StatusTooManyRequests {
			t.Fatalf("the right password in the window: %d, want 429 on the other replica too", s)
		}
		if s := signIn(apps[0], qelostest.UserEmail, qelostest.UserPassword); s != http.StatusOK {
			t.Fatalf("another user: %d", s)
		}
	})
}

// TestSignInRateLimitWithRedisDown: with the shared store unreachable the
// limit still holds, counted in the replica's memory, and the fault is
// logged.
func TestSignInRateLimitWithRedisDown(t *testing.T) {
	srv := redistest.Start(t) // its own server, stopped below
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	key := middleware.GenerateCookieKey()
	logs := &syncBuffer{}
	store := newStore(t, srv.URL(), redisstore.Options{Secret: key.Hash, Prefix: testPrefix(t), Logger: quiet(), OpTimeout: 100 * time.Millisecond})
	mw, err := middleware.New(middleware.Config{AppURL: q.URL, CookieKeys: []middleware.CookieKey{key}, Refresh: middleware.RefreshConfig{Store: store},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(mw.SignInHandler())
	t.Cleanup(app.Close)
	srv.Stop()
	for i := range 30 {
		resp, err := http.Post(app.URL, "application/json", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"wrong-`+strconv.Itoa(i)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := q.Calls(qelostest.EndpointSignIn); n != defaultSignInPerUser {
		t.Fatalf("%d of 30 reached Qelos with Redis down, want %d", n, defaultSignInPerUser)
	}
	if !strings.Contains(logs.String(), "the shared rate limit did not answer") {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}
