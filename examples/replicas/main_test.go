package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/exampletest"
	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// withEnv is run with extra variables in its environment.
func withEnv(extra map[string]string) exampletest.RunFunc {
	return func(ctx context.Context, getenv func(string) string, ready func(string)) error {
		return run(ctx, func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return getenv(k)
		}, ready)
	}
}

// TestExample holds this program to the examples contract, on a real Redis,
// and to startup errors that name what is missing.
func TestExample(t *testing.T) {
	redis := redistest.Start(t)
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	t.Run("contract", func(t *testing.T) {
		url := exampletest.Start(t, run, map[string]string{
			"QELOS_APP_URL":     q.URL,
			"QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String(),
			"QELOS_JWT_SECRET":  q.Secret(),
			redisstore.EnvURL:   redis.URL(),
		})
		exampletest.Contract(t, url, q)
		t.Run("readiness", func(t *testing.T) { exampletest.Readiness(t, url, q) })
		t.Run("readiness with Redis down", func(t *testing.T) {
			redis.Stop()
			t.Cleanup(func() { redis.Restart() })
			resp, err := http.Get(url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"store":"unavailable"`) {
				t.Fatalf("%d %s, want 503 naming the store", resp.StatusCode, body)
			}
		})
	})
	t.Run("startup errors", func(t *testing.T) {
		exampletest.StartupErrors(t, withEnv(map[string]string{redisstore.EnvURL: redis.URL()}), q.URL)
		for _, tt := range []struct {
			name string
			env  map[string]string
			want string
		}{
			{"no cookie keys", map[string]string{"QELOS_APP_URL": q.URL, redisstore.EnvURL: redis.URL()}, "QELOS_COOKIE_KEYS is required"},
			{"no Redis", map[string]string{"QELOS_APP_URL": q.URL, "QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String()}, redisstore.EnvURL},
		} {
			t.Run(tt.name, func(t *testing.T) {
				getenv := func(k string) string { return tt.env[k] }
				err := run(context.Background(), getenv, func(u string) { t.Fatalf("started at %s, want a startup error", u) })
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("run: %v, want an error mentioning %q", err, tt.want)
				}
			})
		}
	})
}

// TestTwoReplicasShareARefresh: a pair that expired is refreshed by the
// replica that sees it first; the other replica, given the same old pair,
// answers with the stored result instead of spending the single-use
// refresh token again (which Qelos would refuse, signing the user out).
func TestTwoReplicasShareARefresh(t *testing.T) {
	redis := redistest.Start(t)
	// Whole seconds, and long enough for the refreshed pair to be still
	// valid when the second replica reads it: a recorded pair whose access
	// token has already expired is exchanged in turn (no cookie ever holds
	// an expired access token), which would be a second refresh.
	const accessTTL = 2 * time.Second
	q := qelostest.New(qelostest.Options{AccessTTL: accessTTL})
	t.Cleanup(q.Close)
	env := map[string]string{
		"QELOS_APP_URL":     q.URL,
		"QELOS_COOKIE_KEYS": middleware.GenerateCookieKey().String(),
		redisstore.EnvURL:   redis.URL(),
	}
	a, b := exampletest.Start(t, run, env), exampletest.Start(t, run, env)

	body, _ := json.Marshal(map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword})
	resp, err := http.Post(a+"/auth/signin", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	old := resp.Cookies()
	if resp.StatusCode != 200 || len(old) < 2 {
		t.Fatalf("sign-in: %d, cookies %v", resp.StatusCode, old)
	}
	time.Sleep(accessTTL) // not an assertion: the pair must have expired, however late

	q.ResetCalls()
	for i, base := range []string{a, b} {
		req, _ := http.NewRequest(http.MethodGet, base+"/private", nil)
		for _, c := range old {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("replica %d with the old pair: %d, want 200", i, resp.StatusCode)
		}
	}
	if n := q.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refreshes at Qelos for one pair on two replicas, want 1", n)
	}
}
