package redisstore_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestSignOutFinalOnEveryReplica: the user signs out on replica 0 while
// Qelos's /api/logout fails (so Qelos still honours the refresh token).
// Replica 1, which had the pair cached, refuses it and clears it as soon
// as Redis tells it — on the cached path, and on the refresh path once the
// access token has expired — and never spends the refresh token.
func TestSignOutFinalOnEveryReplica(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		q := qelostest.New(qelostest.Options{})
		t.Cleanup(q.Close)
		q.InjectFault(qelostest.EndpointLogout, qelostest.Fault{Status: 503})
		prefix := testPrefix(t)
		key := middleware.GenerateCookieKey()
		heard := make(chan string, 16) // revocations replica 1's store heard of
		offset := make([]time.Duration, 2)
		var apps []*httptest.Server
		for i := range 2 {
			store := newStore(t, url, redisstore.Options{Prefix: prefix, Secret: key.Hash})
			mw, err := middleware.New(middleware.Config{
				AppURL: q.URL, CookieKeys: []middleware.CookieKey{key}, Refresh: middleware.RefreshConfig{Store: store},
				Now:    func() time.Time { return time.Now().Add(offset[i]) },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				store.OnRevoke(func(k string, _ time.Time) {
					select {
					case heard <- k:
					default:
					}
				})
			}
			mux := http.NewServeMux()
			mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			mux.Handle("POST /auth/signin", mw.SignInHandler())
			mux.Handle("POST /auth/signout", mw.SignOutHandler())
			app := httptest.NewServer(mw.Handler(mux))
			t.Cleanup(app.Close)
			apps = append(apps, app)
		}
		warmUp := subscribed(t, url, prefix, key.Hash, heard)
		do := func(i int, method, path string, body io.Reader, cookies []*http.Cookie) *http.Response {
			t.Helper()
			req := newRequest(t, method, apps[i].URL+path, body)
			req.Header.Set("Content-Type", "application/json")
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		cleared := func(resp *http.Response) bool {
			n := 0
			for _, c := range resp.Cookies() {
				if c.MaxAge < 0 {
					n++
				}
			}
			return n >= 2
		}
		body, _ := json.Marshal(map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword})
		pair := do(0, http.MethodPost, "/auth/signin", bytes.NewReader(body), nil).Cookies()
		for i := range apps {
			if s := do(i, http.MethodGet, "/private", nil, pair).StatusCode; s != 200 {
				t.Fatalf("replica %d before sign-out: %d", i, s) // and cached
			}
		}
		if s := do(0, http.MethodPost, "/auth/signout", nil, pair).StatusCode; s != 204 {
			t.Fatalf("sign-out: %d", s)
		}
		// Sign-out records the session id, and the two names earlier versions
		// check, for replicas still running them.
		for n := 0; n < 3; {
			select {
			case k := <-heard:
				if k != warmUp {
					n++
				}
			case <-time.After(time.Second):
				t.Fatal("replica 1 did not hear of the sign-out within a second")
			}
		}
		refreshes := q.Calls(qelostest.EndpointRefresh)
		if r := do(1, http.MethodGet, "/private", nil, pair); r.StatusCode != 401 || !cleared(r) {
			t.Fatalf("replica 1, cached path: %d, cleared %v", r.StatusCode, cleared(r))
		}
		offset[1] = 301 * time.Minute // the access token has expired: the refresh path
		if r := do(1, http.MethodGet, "/private", nil, pair); r.StatusCode != 401 || !cleared(r) {
			t.Fatalf("replica 1, refresh path: %d, cleared %v", r.StatusCode, cleared(r))
		}
		if n := q.Calls(qelostest.EndpointRefresh) - refreshes; n != 0 {
			t.Fatalf("%d refreshes of a signed-out session", n)
		}
	})
}
