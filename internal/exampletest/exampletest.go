// Package exampletest drives the examples contract of the design (GET
// /whoami, GET /private, POST /auth/signin, POST /auth/signout, the /api/
// proxy, and GET /healthz with [Readiness]) over HTTP,
// as a browser would, so that every example app is held to the same
// answers. Each example's main_test.go starts a qelostest server, starts
// the example with [Start], and calls [Contract] and [StartupErrors].
package exampletest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// RunFunc is an example's run function: it serves the app until ctx is
// done, reading its settings with getenv, and calls ready with the app's
// URL once it listens.
type RunFunc func(ctx context.Context, getenv func(string) string, ready func(url string)) error

// Start runs the example with env as its whole environment (ADDR defaults
// to 127.0.0.1:0) and returns its URL once it listens. The example is
// stopped, and must return nil, when the test ends.
func Start(t *testing.T, run RunFunc, env map[string]string) string {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "ADDR" {
			return "127.0.0.1:0"
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, func(u string) { urls <- u }) }()
	select {
	case u := <-urls:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v after a clean stop, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("run did not return within 5s of its context ending")
			}
		})
		return u
	case err := <-done:
		cancel()
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("run did not listen within 10s")
	}
	return ""
}

// StartupErrors checks that run refuses to start, with an error that says
// what to fix, when QELOS_APP_URL is unset or QELOS_COOKIE_KEYS is
// malformed. appURL is a reachable Qelos.
func StartupErrors(t *testing.T, run RunFunc, appURL string) {
	t.Helper()
	tests := []struct {
		name string
		env  map[string]string
		want []string // each must appear in the error
	}{
		{"unset QELOS_APP_URL", map[string]string{}, []string{"QELOS_APP_URL"}},
		{"malformed QELOS_COOKIE_KEYS", map[string]string{"QELOS_APP_URL": appURL, "QELOS_COOKIE_KEYS": "not-a-key!"},
			[]string{"QELOS_COOKIE_KEYS", "HASH[:BLOCK]", "base64"}},
		{"a hash key that is too short", map[string]string{"QELOS_APP_URL": appURL, "QELOS_COOKIE_KEYS": "c2hvcnQ="},
			[]string{"QELOS_COOKIE_KEYS", "HASH[:BLOCK]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if k == "ADDR" {
					return "127.0.0.1:0"
				}
				return tt.env[k]
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := run(ctx, env, func(u string) { t.Errorf("started at %s, want a startup error", u); cancel() })
			if err == nil {
				t.Fatal("run returned nil, want a startup error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Contract drives the examples contract against the app at appURL, whose
// Qelos is q, with one cookie-keeping client, as a browser would. Steps
// run in order; the first failure stops the rest.
func Contract(t *testing.T, appURL string, q *qelostest.Server) {
	t.Helper()
	b := newBrowser(t, appURL)
	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"anonymous whoami has no user", func(t *testing.T) {
			b.expect(t, b.get("/whoami"), 200, `{"user":null,"workspace":null}`)
		}},
		{"anonymous private is refused", func(t *testing.T) {
			b.expect(t, b.get("/private"), 401, `{"code":"UNAUTHORIZED"}`)
		}},
		{"bad credentials are refused", func(t *testing.T) {
			r := b.postJSON("/auth/signin", map[string]string{"username": qelostest.AdminEmail, "password": "wrong"})
			if r.status != 401 {
				t.Fatalf("status %d %s, want 401", r.status, r.body)
			}
			b.expect(t, b.get("/private"), 401, `{"code":"UNAUTHORIZED"}`)
		}},
		{"sign-in with JSON answers the user", func(t *testing.T) {
			r := b.postJSON("/auth/signin", map[string]string{"username": qelostest.AdminEmail, "password": qelostest.AdminPassword})
			b.expectUser(t, r, 200)
		}},
		{"whoami shows the user and workspace", func(t *testing.T) {
			w := b.expectUser(t, b.get("/whoami"), 200)
			if w.Workspace == nil || w.Workspace.ID != qelostest.AcmeWorkspaceID || w.Workspace.Name != "Acme Team" {
				t.Fatalf("workspace %+v, want Acme Team", w.Workspace)
			}
		}},
		{"private answers the user", func(t *testing.T) {
			b.expectUser(t, b.get("/private"), 200)
		}},
		{"GET /api/me through the app with the pair answers the user", func(t *testing.T) {
			expectMe(t, b.get("/api/me"))
		}},
		{"sign-out answers 204 and revokes upstream", func(t *testing.T) {
			before := q.Calls(qelostest.EndpointLogout)
			r := b.post("/auth/signout", "", nil)
			if r.status != 204 {
				t.Fatalf("status %d %s, want 204", r.status, r.body)
			}
			if q.Calls(qelostest.EndpointLogout) != before+1 {
				t.Fatal("sign-out did not call Qelos's logout")
			}
		}},
		{"after sign-out private is refused", func(t *testing.T) {
			b.expect(t, b.get("/private"), 401, `{"code":"UNAUTHORIZED"}`)
			b.expect(t, b.get("/whoami"), 200, `{"user":null,"workspace":null}`)
		}},
		{"sign-in with a form answers the user", func(t *testing.T) {
			form := url.Values{"username": {qelostest.AdminEmail}, "password": {qelostest.AdminPassword}}
			r := b.post("/auth/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			b.expectUser(t, r, 200)
			b.expectUser(t, b.get("/private"), 200)
		}},
		{"sign-out again ends the form session", func(t *testing.T) {
			if r := b.post("/auth/signout", "", nil); r.status != 204 {
				t.Fatalf("status %d %s, want 204", r.status, r.body)
			}
			b.expect(t, b.get("/private"), 401, `{"code":"UNAUTHORIZED"}`)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.do) {
			return
		}
	}
}

// browser is an HTTP client with a cookie jar, pointed at one app.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status int
	body   string
}

func (b *browser) get(path string) answer { return b.send(http.MethodGet, path, "", nil) }

func (b *browser) post(path, contentType string, body io.Reader) answer {
	return b.send(http.MethodPost, path, contentType, body)
}

func (b *browser) postJSON(path string, v any) answer {
	body, _ := json.Marshal(v)
	return b.post(path, "application/json", strings.NewReader(string(body)))
}

func (b *browser) send(method, path, contentType string, body io.Reader) answer {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, body: strings.TrimSpace(string(got))}
}

// expect checks an answer's status and its body, compared as JSON.
func (b *browser) expect(t *testing.T, r answer, status int, body string) {
	t.Helper()
	if r.status != status || !sameJSON(r.body, body) {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, body)
	}
}

// whoami is the body of /whoami, /private and a sign-in.
type whoami struct {
	User *struct {
		ID    string `json:"_id"`
		Email string `json:"email"`
	} `json:"user"`
	Workspace *struct {
		ID   string `json:"_id"`
		Name string `json:"name"`
	} `json:"workspace"`
}

// expectUser checks that an answer has status and names the demo admin.
func (b *browser) expectUser(t *testing.T, r answer, status int) whoami {
	t.Helper()
	var w whoami
	if r.status != status {
		t.Fatalf("status %d %s, want %d", r.status, r.body, status)
	}
	if err := json.Unmarshal([]byte(r.body), &w); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if w.User == nil || w.User.Email != qelostest.AdminEmail || w.User.ID == "" {
		t.Fatalf("body %s does not name %s", r.body, qelostest.AdminEmail)
	}
	return w
}

// expectMe checks that an answer is Qelos's /api/me for the demo admin.
func expectMe(t *testing.T, r answer) {
	t.Helper()
	var me struct {
		ID    string `json:"_id"`
		Email string `json:"email"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &me) != nil || me.Email != qelostest.AdminEmail || me.ID == "" {
		t.Fatalf("GET /api/me: %d %s, want Qelos's answer naming %s", r.status, r.body, qelostest.AdminEmail)
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if errors.Join(json.Unmarshal([]byte(a), &x), json.Unmarshal([]byte(b), &y)) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// Suite is every example's test: the contract with persistent keys and a
// JWT secret, the contract with ephemeral keys (QELOS_COOKIE_KEYS unset),
// and the startup errors, each against its own qelostest server.
func Suite(t *testing.T, run RunFunc) {
	t.Run("contract", func(t *testing.T) {
		k := middlewaretest.Start(t)
		key := middleware.GenerateCookieKey()
		url := Start(t, run, map[string]string{
			"QELOS_APP_URL":     k.URL,
			"QELOS_COOKIE_KEYS": key.String(),
			"QELOS_JWT_SECRET":  k.Secret(),
		})
		Contract(t, url, k.Server)
		t.Run("a session from the testing kit is signed in", func(t *testing.T) {
			// Sealed with the app's keys, as the app's own sign-in would.
			mw := k.Middleware(middleware.Config{CookieKeys: []middleware.CookieKey{key}, JWTSecret: k.Secret()})
			b := newBrowser(t, url)
			b.client = k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID).Client(url)
			b.expectUser(t, b.get("/private"), 200)
			expectMe(t, b.get("/api/me"))
		})
	})
	t.Run("readiness", func(t *testing.T) {
		k := middlewaretest.Start(t)
		Readiness(t, Start(t, run, map[string]string{"QELOS_APP_URL": k.URL}), k.Server)
	})
	t.Run("contract with ephemeral keys", func(t *testing.T) {
		k := middlewaretest.Start(t)
		Contract(t, Start(t, run, map[string]string{"QELOS_APP_URL": k.URL}), k.Server)
	})
	t.Run("startup errors", func(t *testing.T) {
		StartupErrors(t, run, middlewaretest.Start(t).URL)
	})
}

// ReadyWithin is how soon GET /healthz must answer 503 when Qelos does not
// answer at all.
const ReadyWithin = 2 * time.Second

// Readiness checks the app's GET /healthz against its Qelos q: 200 while
// Qelos answers; 503 within ReadyWithin while it hangs (q delays /api/me
// past any probe's patience); 200 again once it answers.
func Readiness(t *testing.T, appURL string, q *qelostest.Server) {
	t.Helper()
	probe := func() (int, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := http.Get(appURL + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if status, _ := probe(); status != http.StatusOK {
		t.Fatalf("GET /healthz with Qelos up: %d, want 200", status)
	}
	t.Cleanup(q.ClearFaults)
	q.InjectFault(qelostest.EndpointMe, qelostest.Fault{Delay: time.Minute})
	if status, took := probe(); status != http.StatusServiceUnavailable || took > ReadyWithin {
		t.Fatalf("GET /healthz with Qelos hanging: %d after %v, want 503 within %v", status, took, ReadyWithin)
	}
	q.ClearFaults()
	if status, _ := probe(); status != http.StatusOK {
		t.Fatalf("GET /healthz after Qelos recovered: %d, want 200", status)
	}
}
