package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/exampletest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// startQuickstart runs the quickstart with the embedded Qelos, as
// `go run ./examples/quickstart` does, on a free port.
func startQuickstart(t *testing.T, accessTTL string) (string, *qelostest.Server) {
	t.Helper()
	t.Setenv("QELOS_APP_URL", "")
	t.Setenv("QELOS_COOKIE_KEYS", "")
	t.Setenv("ADDR", "127.0.0.1:0")
	t.Setenv("QELOS_DEMO_ACCESS_TTL", accessTTL)
	ctx, cancel := context.WithCancel(context.Background())
	type started struct {
		url  string
		demo *qelostest.Server
	}
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, io.Discard, func(url string, demo *qelostest.Server) { ready <- started{url, demo} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case s := <-ready:
		if s.demo == nil {
			t.Fatal("no embedded Qelos was started")
		}
		return s.url, s.demo
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("quickstart did not start")
	}
	return "", nil
}

type whoamiBody struct {
	User      *middleware.User      `json:"user"`
	Workspace *middleware.Workspace `json:"workspace"`
}

// TestQuickstartContract holds the quickstart, started as `go run` starts
// it, to the examples contract the other examples serve.
func TestQuickstartContract(t *testing.T) {
	url, demo := startQuickstart(t, "30s")
	exampletest.Contract(t, url, demo)
	t.Run("readiness", func(t *testing.T) { exampletest.Readiness(t, url, demo) })
}

// TestQuickstartSessionOutlivesTheAccessToken is the README's curl session
// with the testing kit's clock instead of a sleep: sign in through the
// app's own handler, see the user, expire the access token, and still see
// the user, with a rotated pair in the answer.
func TestQuickstartSessionOutlivesTheAccessToken(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := mw.Handler(routes(mw))
	serve := func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		return rec.Result()
	}
	signin := httptest.NewRequest("POST", "/auth/signin",
		strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	signin.Header.Set("Content-Type", "application/json")
	resp := serve(signin)
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	whoami := func() (whoamiBody, *http.Response) {
		req := httptest.NewRequest("GET", "/whoami", nil)
		for _, c := range resp.Cookies() {
			req.AddCookie(c)
		}
		res := serve(req)
		var w whoamiBody
		if err := json.NewDecoder(res.Body).Decode(&w); err != nil {
			t.Fatal(err)
		}
		return w, res
	}
	w, _ := whoami()
	if w.User == nil || w.User.Email != qelostest.AdminEmail || w.Workspace == nil || w.Workspace.Name != "Acme Team" {
		t.Fatalf("whoami after sign-in: %+v %+v", w.User, w.Workspace)
	}

	k.Expire()
	w, res := whoami()
	if w.User == nil || w.Workspace == nil || w.Workspace.Name != "Acme Team" {
		t.Fatalf("whoami after the access token expired: %+v %+v", w.User, w.Workspace)
	}
	rotated := map[string]bool{}
	for _, ck := range res.Cookies() {
		rotated[ck.Name] = ck.MaxAge > 0
	}
	if access, refresh := mw.CookieNames(); !rotated[access] || !rotated[refresh] {
		t.Fatalf("no rotated pair in the answer: %v", res.Cookies())
	}
	if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

func TestQuickstartPage(t *testing.T) {
	url, _ := startQuickstart(t, "30s")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body := func() string {
		resp, err := c.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if p := body(); !strings.Contains(p, `id="signin"`) {
		t.Fatalf("anonymous page has no sign-in form:\n%s", p)
	}
	resp, _ := c.Post(url+"/auth/signin", "application/json",
		strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	resp.Body.Close()
	p := body()
	for _, want := range []string{"Ada Admin", "admin", "Acme Team", `id="expires-in"`, `id="signout"`} {
		if !strings.Contains(p, want) {
			t.Fatalf("signed-in page lacks %q:\n%s", want, p)
		}
	}
}

func TestQuickstartRejectsBadSettings(t *testing.T) {
	tests := []struct{ name, key, value, want string }{
		{"malformed cookie keys", "QELOS_COOKIE_KEYS", "not-base64!", "QELOS_COOKIE_KEYS"},
		{"bad demo TTL", "QELOS_DEMO_ACCESS_TTL", "soon", "QELOS_DEMO_ACCESS_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("QELOS_APP_URL", "")
			t.Setenv("ADDR", "127.0.0.1:0")
			t.Setenv("QELOS_COOKIE_KEYS", "")
			t.Setenv("QELOS_DEMO_ACCESS_TTL", "")
			t.Setenv(tt.key, tt.value)
			err := run(context.Background(), io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestClientErrorsHideDetails: when Qelos fails a call a handler makes
// through the request's Client, the quickstart answers a stable code and a
// generic message; Qelos's raw message and the addresses in it stay out of
// the body.
func TestClientErrorsHideDetails(t *testing.T) {
	url, demo := startQuickstart(t, "30s")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(url+"/auth/signin", "application/json",
		strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, f := range []qelostest.Fault{
		{Status: 500, Body: `{"message":"Mongo error: connection to 10.0.0.5:27017 refused"}`},
		{Status: 400, Body: `{"message":"E11000 duplicate key in qelos.apitokens at 10.0.0.5"}`},
	} {
		demo.InjectFault(qelostest.EndpointAPITokens, f)
		resp, err := c.Get(url + "/tokens")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct{ Code, Message string }
		if json.Unmarshal(b, &body) != nil || body.Code == "" || body.Message == "" {
			t.Fatalf("status %d body %s: want a code and a message", resp.StatusCode, b)
		}
		for _, leak := range []string{"Mongo", "E11000", "10.0.0.5", "127.0.0.1", "qelos:"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("status %d body %s holds %q", resp.StatusCode, b, leak)
			}
		}
	}
}

// TestQuickstartRedirectsBrowsersToSignIn: its Config.ErrorHandler sends a
// browser asking for a guarded page to the sign-in form, and still answers
// API clients 401 JSON.
func TestQuickstartRedirectsBrowsersToSignIn(t *testing.T) {
	url, _ := startQuickstart(t, "30s")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		accept   string
		status   int
		location string
	}{
		{"text/html,application/xhtml+xml", http.StatusSeeOther, "/?signin=required"},
		{"application/json", http.StatusUnauthorized, ""},
	} {
		req, _ := http.NewRequest("GET", url+"/private", nil)
		req.Header.Set("Accept", tt.accept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("Accept %s: %d Location %q, want %d %q", tt.accept, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
		if tt.status == http.StatusUnauthorized && !strings.Contains(string(body), `"UNAUTHORIZED"`) {
			t.Errorf("Accept %s: body %s", tt.accept, body)
		}
	}
}

// TestThreatQuickstartLogsKey: the quickstart started without
// QELOS_COOKIE_KEYS logs that it generated keys, and no usable cookie key:
// no word of its output, or of what follows an '=', parses as one.
func TestThreatQuickstartLogsKey(t *testing.T) {
	t.Setenv("QELOS_APP_URL", "")
	t.Setenv("QELOS_COOKIE_KEYS", "")
	t.Setenv("ADDR", "127.0.0.1:0")
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, func(string, *qelostest.Server) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	log := out.String()
	if !strings.Contains(log, "QELOS_COOKIE_KEYS is not set") {
		t.Fatalf("the output does not say keys were generated:\n%s", log)
	}
	for _, word := range strings.FieldsFunc(log, func(r rune) bool { return r == ' ' || r == '\n' || r == '"' || r == '=' || r == '`' }) {
		if _, err := middleware.ParseCookieKeys(word); err == nil {
			t.Fatalf("the output holds a usable cookie key: %q", word)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
