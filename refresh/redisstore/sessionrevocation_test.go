package redisstore_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
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
		offset := make([]time.Duration, 2)
		apps, heard, warmUp := twoReplicas(t, url, prefix, q, func(i int) middleware.Config {
			return middleware.Config{Now: func() time.Time { return time.Now().Add(offset[i]) }}
		}, func(mux *http.ServeMux, mw *middleware.Middleware) {
			mux.Handle("POST /auth/signout", mw.SignOutHandler())
		})
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
