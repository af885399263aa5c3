package middleware_test

import (
	"bytes"
	qelos "github.com/qelos-io/integrator-go"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// recorder keeps the events OnEvent receives.
type recorder struct {
	mu     sync.Mutex
	events []qelos.Event
}

func (r *recorder) on(e qelos.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []qelos.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// TestOnEventReportsEveryUpstreamCall: each call to Qelos — sign-in,
// refresh, identity probe, proxy, sign-out — is an EventUpstreamCall with
// its kind, outcome and duration; a credential that identifies nobody is
// an EventIdentityFailed.
func TestOnEventReportsEveryUpstreamCall(t *testing.T) {
	k := middlewaretest.Start(t)
	var rec recorder
	mw := k.Middleware(middleware.Config{OnEvent: rec.on})
	mux := http.NewServeMux()
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.Handle("/api/", mw.Proxy())
	mux.HandleFunc("/whoami", func(http.ResponseWriter, *http.Request) {})
	app := mw.Handler(mux)
	serve := func(r *http.Request) *http.Response {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w.Result()
	}
	s := k.SignIn(mw, qelostest.AdminEmail, "")
	// A token of the right shape that Qelos refuses: a signature it did not make.
	forged := func() *http.Request {
		tok, err := k.IssueAccessToken(qelostest.AdminEmail, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/whoami", nil)
		r.Header.Set("Authorization", "Bearer "+tok[:strings.LastIndexByte(tok, '.')+1]+"c2lnbmVkLWVsc2V3aGVyZS1ieS1zb21lb25lLWVsc2U")
		return r
	}
	garbage := httptest.NewRequest("GET", "/whoami", nil)
	garbage.Header.Set("Authorization", "Bearer not-a-token")
	signin := httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	signin.Header.Set("Content-Type", "application/json")

	type want struct {
		kind   qelos.EventKind
		call   string
		status int
	}
	tests := []struct {
		name string
		do   func()
		want []want
	}{
		{"sign-in", func() { serve(signin) }, []want{{qelos.EventUpstreamCall, "signin", 200}, {qelos.EventSignedIn, "", 0}}},
		{"refresh", func() { k.Expire(); serve(s.Request("GET", "/whoami", nil)) }, []want{{qelos.EventUpstreamCall, "refresh", 200}, {qelos.EventRefreshed, "", 0}}},
		{"proxy", func() { serve(httptest.NewRequest("GET", "/api/me", nil)) }, []want{{qelos.EventUpstreamCall, "proxy", 401}}},
		{"a bearer Qelos refuses", func() { serve(forged()) }, []want{{qelos.EventUpstreamCall, "me", 401}, {qelos.EventIdentityFailed, "", 0}}},
		{"a bearer that is no token", func() { serve(garbage) }, []want{{qelos.EventIdentityFailed, "", 0}}},
		{"Qelos down", func() {
			u := k.SignIn(mw, qelostest.UserEmail, "")
			k.Expire()
			k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Drop: true, Times: 1})
			serve(u.Request("GET", "/whoami", nil))
		}, []want{{qelos.EventUpstreamCall, "refresh", 0}, {qelos.EventRefreshFailed, "", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.take()
			tt.do()
			got := rec.take()
			if len(got) != len(tt.want) {
				t.Fatalf("events %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				e := got[i]
				if e.Kind != w.kind || e.Call != w.call || e.Status != w.status {
					t.Fatalf("event %d: %v %q %d, want %v %q %d", i, e.Kind, e.Call, e.Status, w.kind, w.call, w.status)
				}
				if e.Kind == qelos.EventUpstreamCall && (e.Duration <= 0 || (e.Status == 0) != (e.Err != nil)) {
					t.Fatalf("upstream event %+v: want a duration, and an Err exactly when no answer came", e)
				}
			}
		})
	}
}

// TestRoutineEventsStayBelowInfo: sign-in, refresh and sign-out log at
// Debug; Qelos being unavailable is the operator's business, at Warn.
func TestRoutineEventsStayBelowInfo(t *testing.T) {
	k := middlewaretest.Start(t)
	var logs bytes.Buffer
	mw := k.Middleware(middleware.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	mux := http.NewServeMux()
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.HandleFunc("/whoami", func(http.ResponseWriter, *http.Request) {})
	app := mw.Handler(mux)
	serve := func(r *http.Request) {
		app.ServeHTTP(httptest.NewRecorder(), r)
	}
	signin := httptest.NewRequest("POST", "https://app.example/auth/signin", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	signin.Header.Set("Content-Type", "application/json")
	serve(signin)
	s := k.SignIn(mw, qelostest.AdminEmail, "")
	k.Expire()
	serve(s.Request("GET", "https://app.example/whoami", nil))
	serve(s.Request("POST", "https://app.example/auth/signout", nil))
	if logs.Len() != 0 {
		t.Fatalf("routine events logged at Info or above:\n%s", logs.String())
	}

	s = k.SignIn(mw, qelostest.AdminEmail, "")
	k.Expire()
	k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 503})
	serve(s.Request("GET", "https://app.example/whoami", nil))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "refresh-failed") {
		t.Fatalf("Qelos unavailable was not logged at Warn:\n%s", logs.String())
	}
}
