package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestRevokedAPIKeyOnEveryReplica: an API key whose identity both replicas
// cached (for an hour) is revoked through replica 0 — by its Client, or
// through its /api proxy — and replica 1 refuses it as soon as Redis
// tells it, within a second, while the user's other key keeps working
// there.
func TestRevokedAPIKeyOnEveryReplica(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		for _, via := range []string{"client", "proxy"} {
			t.Run(via, func(t *testing.T) {
				q := qelostest.New(qelostest.Options{})
				t.Cleanup(q.Close)
				prefix := testPrefix(t)
				apps, heard, _ := twoReplicas(t, url, prefix, q, func(int) middleware.Config {
					return middleware.Config{Limits: middleware.Limits{IdentityTTL: time.Hour}}
				}, func(mux *http.ServeMux, mw *middleware.Middleware) {
					mux.Handle("/api/", mw.Proxy())
					mux.HandleFunc("POST /test/revoke", func(w http.ResponseWriter, r *http.Request) {
						c, _ := middleware.ClientFrom(r.Context())
						if err := c.RevokeAPIToken(r.Context(), r.URL.Query().Get("id")); err != nil {
							http.Error(w, err.Error(), 500)
						}
					})
				})
				send := func(req *http.Request) *http.Response {
					t.Helper()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return resp
				}
				body, _ := json.Marshal(map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword})
				signin := newRequest(t, http.MethodPost, apps[0].URL+"/auth/signin", bytes.NewReader(body))
				signin.Header.Set("Content-Type", "application/json")
				session := send(signin).Cookies()
				var ids []string
				var keys []string
				for range 2 {
					k, err := q.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
					if err != nil {
						t.Fatal(err)
					}
					keys = append(keys, k)
				}
				list := newRequest(t, http.MethodGet, apps[0].URL+"/api/me/api-tokens", nil)
				for _, c := range session {
					list.AddCookie(c)
				}
				resp, err := http.DefaultClient.Do(list)
				if err != nil {
					t.Fatal(err)
				}
				var tokens []struct {
					ID     string `json:"_id"`
					Prefix string `json:"tokenPrefix"`
				}
				json.NewDecoder(resp.Body).Decode(&tokens)
				resp.Body.Close()
				for _, tok := range tokens {
					if tok.Prefix == keys[0][:len(tok.Prefix)] {
						ids = append(ids, tok.ID)
					}
				}
				if len(ids) != 1 {
					t.Fatalf("found %d ids for the key among %d tokens", len(ids), len(tokens))
				}
				use := func(replica int, k string) int {
					req := newRequest(t, http.MethodGet, apps[replica].URL+"/private", nil)
					req.Header.Set("X-Api-Key", k)
					return send(req).StatusCode
				}
				for replica := range apps {
					for _, k := range keys {
						if s := use(replica, k); s != 200 {
							t.Fatalf("replica %d before: %d", replica, s) // cached for an hour
						}
					}
				}
				var revoke *http.Request
				if via == "client" {
					revoke = newRequest(t, http.MethodPost, apps[0].URL+"/test/revoke?id="+ids[0], nil)
				} else {
					revoke = newRequest(t, http.MethodDelete, apps[0].URL+"/api/me/api-tokens/"+ids[0], nil)
				}
				for _, c := range session {
					revoke.AddCookie(c)
				}
				start := time.Now()
				if s := send(revoke).StatusCode; s != 200 {
					t.Fatalf("revoke: %d", s)
				}
				want := refresh.Key("apikey-user:" + qelostest.AdminID)
				for k := ""; k != want; {
					select {
					case k = <-heard:
					case <-time.After(time.Second):
						t.Fatal("replica 1 did not hear of the revocation within a second")
					}
				}
				t.Logf("replica 1 heard of the revocation %v after it was asked for", time.Since(start).Round(time.Millisecond))
				if s := use(1, keys[0]); s != 401 {
					t.Fatalf("the revoked key answered %d on the other replica", s)
				}
				if s := use(1, keys[1]); s != 200 {
					t.Fatalf("the user's other key answered %d on the other replica", s)
				}
			})
		}
	})
}

// twoReplicas starts two apps in front of q, sharing a cookie key and the
// Redis at url under prefix. Each one's Config is cfg(i) with the store,
// the key, q's URL and a silent logger set; each serves GET /private
// (RequireUser), POST /auth/signin and what mount adds, behind Handler.
// heard gets every revocation replica 1's store hears of, after its
// middleware has. It returns once the stores hear revocations, with the
// key subscribed revoked to find that out.
func twoReplicas(t *testing.T, url, prefix string, q *qelostest.Server, cfg func(i int) middleware.Config, mount func(*http.ServeMux, *middleware.Middleware)) (apps []*httptest.Server, heard chan string, warmUp string) {
	t.Helper()
	key := middleware.GenerateCookieKey()
	heard = make(chan string, 16)
	for i := range 2 {
		store := newStore(t, url, redisstore.Options{Prefix: prefix, Secret: key.Hash})
		c := cfg(i)
		c.AppURL, c.CookieKeys, c.Refresh.Store = q.URL, []middleware.CookieKey{key}, store
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		mw, err := middleware.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// Registered after the middleware's, so called after it.
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
		mount(mux, mw)
		app := httptest.NewServer(mw.Handler(mux))
		t.Cleanup(app.Close)
		apps = append(apps, app)
	}
	return apps, heard, subscribed(t, url, prefix, key.Hash, heard)
}

// subscribed waits until the stores on prefix hear revocations: a Redis
// subscription starts in the background, and a message published before
// it is up is not delivered. It publishes a warm-up revocation through a
// store of its own until heard reports one, and returns its key (heard may
// report it again).
func subscribed(t *testing.T, url, prefix string, secret []byte, heard <-chan string) (warmUp string) {
	t.Helper()
	probe := newStore(t, url, redisstore.Options{Prefix: prefix, Secret: secret})
	warm := refresh.Key("warm-up " + prefix)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := probe.Revoke(context.Background(), warm, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-heard:
			if k == warm {
				return warm
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("the replicas' Redis subscription did not come up within 5 s")
	return ""
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
