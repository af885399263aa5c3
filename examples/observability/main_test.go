package main

import (
	"encoding/json"
	"expvar"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/internal/exampletest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestExample starts this program against qelostest and drives the
// examples contract over HTTP (see exampletest.Suite).
func TestExample(t *testing.T) { exampletest.Suite(t, run) }

// vars reads the app's expvar metrics.
func vars(t *testing.T, url string) map[string]json.RawMessage {
	t.Helper()
	res, err := http.Get(url + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func count(t *testing.T, v map[string]json.RawMessage, name, key string) float64 {
	t.Helper()
	var m map[string]float64
	_ = json.Unmarshal(v[name], &m)
	return m[key]
}

// TestMetricsAndTraces: each call to Qelos is counted by kind and status,
// its duration added up, and recorded as a span by the tracing transport.
func TestMetricsAndTraces(t *testing.T) {
	k := middlewaretest.Start(t)
	url := exampletest.Start(t, run, map[string]string{"QELOS_APP_URL": k.URL})
	before := vars(t, url)

	res, err := http.Post(url+"/auth/signin", "application/json",
		strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res, err = http.Get(url + "/api/me"); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	after := vars(t, url)

	for _, key := range []string{"signin 200", "proxy 401"} {
		if got := count(t, after, "qelos_upstream_calls", key) - count(t, before, "qelos_upstream_calls", key); got != 1 {
			t.Errorf("qelos_upstream_calls[%q] went up by %v, want 1", key, got)
		}
	}
	if count(t, after, "qelos_upstream_seconds", "signin") <= count(t, before, "qelos_upstream_seconds", "signin") {
		t.Error("qelos_upstream_seconds[signin] did not grow")
	}
	var spansBefore, spansAfter int
	_ = json.Unmarshal(before["qelos_trace_spans"], &spansBefore)
	_ = json.Unmarshal(after["qelos_trace_spans"], &spansAfter)
	if spansAfter-spansBefore != 2 {
		t.Errorf("%d spans recorded, want 2 (sign-in and the proxied call)", spansAfter-spansBefore)
	}
}

// TestExpiredSessionRefreshes: the refresh shows in the metrics too.
func TestExpiredSessionRefreshes(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{OnEvent: record})
	h := app(mw)
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	refreshes := func() int64 {
		if v, ok := upstreamCalls.Get("refresh 200").(*expvar.Int); ok {
			return v.Value()
		}
		return 0
	}
	before := refreshes()

	k.Expire()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, s.Request("GET", "/private", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), qelostest.AdminEmail) {
		t.Fatalf("expired session: %d %s", rec.Code, rec.Body)
	}
	if after := refreshes(); after != before+1 {
		t.Fatalf("refreshes counted went from %d to %d, want +1", before, after)
	}
}
