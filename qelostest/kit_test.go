package qelostest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// kitApp is the app under test in these tests: /private names the user
// and the workspace; /qelos-me asks Qelos who the user is, through the
// request's Client.
func kitApp() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		name := ""
		if ws != nil {
			name = ws.Name
		}
		fmt.Fprintf(w, "%s in %q", u.Email, name)
	})))
	mux.HandleFunc("GET /qelos-me", qelosMe)
	return mux
}

// qelosMe answers the email Qelos's /api/me gives for the request's user.
func qelosMe(w http.ResponseWriter, r *http.Request) {
	c, ok := middleware.ClientFrom(r.Context())
	if !ok {
		http.Error(w, "no client", http.StatusUnauthorized)
		return
	}
	u, err := c.Me(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	fmt.Fprint(w, u.Email)
}

func serve(h http.Handler, r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestKitExpiredSessionRefreshes is the test a user writes for "an expired
// session refreshes": no sleep, the shared clock moves instead.
func TestKitExpiredSessionRefreshes(t *testing.T) {
	k := qelostest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := mw.Handler(kitApp())
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)

	res := serve(app, s.Request("GET", "/private", nil))
	if got := readAll(res); res.StatusCode != 200 || got != `admin@example.com in "Acme Team"` {
		t.Fatalf("before expiry: %d %s", res.StatusCode, got)
	}
	if len(res.Cookies()) != 0 {
		t.Fatalf("a fresh session was rewritten: %v", res.Cookies())
	}

	k.Expire()
	res = serve(app, s.Request("GET", "/private", nil))
	if got := readAll(res); res.StatusCode != 200 || got != `admin@example.com in "Acme Team"` {
		t.Fatalf("after expiry: %d %s", res.StatusCode, got)
	}
	if len(res.Cookies()) != 2 {
		t.Fatalf("no rotated pair after expiry: %v", res.Cookies())
	}
	if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

// TestKitSessionAgainstARunningApp: a session's Client is signed in to an
// app served over HTTP.
func TestKitSessionAgainstARunningApp(t *testing.T) {
	k := qelostest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := httptest.NewServer(mw.Handler(kitApp()))
	t.Cleanup(app.Close)

	tests := []struct {
		name, email, workspace, want string
	}{
		{"admin in a workspace", qelostest.AdminEmail, qelostest.AcmeWorkspaceID, `admin@example.com in "Acme Team"`},
		{"user without a workspace", qelostest.UserEmail, "", `user@example.com in ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := k.SignIn(mw, tt.email, tt.workspace).Client(app.URL)
			res, err := c.Get(app.URL + "/private")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(res); res.StatusCode != 200 || got != tt.want {
				t.Fatalf("%d %s, want 200 %s", res.StatusCode, got, tt.want)
			}
		})
	}
}

// TestKitSessionContextHasAWorkingClient: a handler that calls Qelos is
// unit-tested without Handler, with the session's Auth in its context.
func TestKitSessionContextHasAWorkingClient(t *testing.T) {
	k := qelostest.Start(t)
	s := k.SignIn(k.Middleware(middleware.Config{}), qelostest.UserEmail, "")
	req := httptest.NewRequest("GET", "/qelos-me", nil)
	res := serve(http.HandlerFunc(qelosMe), req.WithContext(s.Context(req.Context())))
	if got := readAll(res); res.StatusCode != 200 || got != qelostest.UserEmail {
		t.Fatalf("%d %s", res.StatusCode, got)
	}
	if n := k.Calls(qelostest.EndpointMe); n != 1 {
		t.Fatalf("%d calls to /api/me, want 1", n)
	}
}

// fatalT records a Kit's refusal instead of ending the test.
type fatalT struct {
	testing.TB
	msg string
}

type fatal struct{}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatal{})
}

func refusal(t *testing.T, do func(*fatalT)) (msg string) {
	f := &fatalT{TB: t}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
			msg = f.msg
		}
	}()
	do(f)
	return ""
}

func TestKitRefusesWhatItCannotDo(t *testing.T) {
	k := qelostest.Start(t)
	mw := k.Middleware(middleware.Config{})
	tests := []struct {
		name string
		do   func(*fatalT)
		want string
	}{
		{"unknown user", func(f *fatalT) { qelostest.Start(f).SignIn(mw, "nobody@example.com", "") }, `unknown user "nobody@example.com"`},
		{"not a member", func(f *fatalT) {
			kf := qelostest.Start(f)
			kf.SignIn(kf.Middleware(middleware.Config{}), qelostest.UserEmail, qelostest.AcmeWorkspaceID)
		}, "is not a member"},
		{"a Config New refuses", func(f *fatalT) {
			qelostest.Start(f).Middleware(middleware.Config{Refresh: middleware.RefreshConfig{Margin: -1}})
		}, "Refresh.Margin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := refusal(t, tt.do); !strings.Contains(msg, tt.want) {
				t.Fatalf("refusal %q, want one containing %q", msg, tt.want)
			}
		})
	}
}
