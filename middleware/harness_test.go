package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The session cookies' names in the browser under the default settings
// (Secure, Path=/, no Domain): the configured names with the __Host- prefix.
const (
	accessCookie  = middleware.HostPrefix + middleware.DefaultAccessCookieName
	refreshCookie = middleware.HostPrefix + middleware.DefaultRefreshCookieName
)

// The seeded workspace the admin signs in to.
const (
	acmeID   = "6b08ed31a15f3cecd2836587"
	acmeName = "Acme Team"
)

// harness is an app using the middleware, served on loopback in front of a
// real qelostest server.
type harness struct {
	t     *testing.T
	qelos *qelostest.Server
	mw    *middleware.Middleware
	app   *httptest.Server
	cfg   middleware.Config
	logs  *syncBuffer

	mu     sync.Mutex
	events []qelos.Event
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHarness starts qelostest with qopts and an app whose middleware config
// is adjusted by mutate (which may be nil).
func newHarness(t *testing.T, qopts qelostest.Options, mutate func(*middleware.Config)) *harness {
	t.Helper()
	h := &harness{t: t, qelos: qelostest.New(qopts), logs: &syncBuffer{}}
	t.Cleanup(h.qelos.Close)
	h.cfg = middleware.Config{
		AppURL:     h.qelos.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(e qelos.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
		SkipPaths: []string{"/health"},
	}
	if mutate != nil {
		mutate(&h.cfg)
	}
	mw, err := middleware.New(h.cfg)
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	h.mw = mw
	h.app = httptest.NewServer(mw.Handler(appMux(mw)))
	t.Cleanup(h.app.Close)
	return h
}

// noSignInLimit turns off the sign-in rate limit, for tests that sign one
// user in more often than a person may.
func noSignInLimit(c *middleware.Config) { c.SignInLimit.Disable = true }

// appMux serves the examples contract.
func appMux(mw *middleware.Middleware) *http.ServeMux {
	mux := http.NewServeMux()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user": u, "workspace": ws})
	})
	mux.Handle("GET /whoami", whoami)
	mux.Handle("GET /private", middleware.RequireUser(whoami))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		_, has := middleware.FromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]bool{"hasAuth": has})
	})
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.Handle("POST /auth/signup", mw.SignUpHandler())
	mux.Handle("POST /auth/workspace", mw.SwitchWorkspaceHandler())
	mux.Handle("GET /workspace-only", middleware.Require(middleware.HasWorkspace())(whoami))
	mux.HandleFunc("POST /test/client", func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.ClientFrom(r.Context())
		if !ok {
			qelos.WriteError(w, r, qelos.ErrUnauthorized)
			return
		}
		clientCalls.Load().(func(*qelosapi.Client, http.ResponseWriter, *http.Request))(c, w, r)
	})
	return mux
}

// clientCalls is what POST /test/client runs with the request's client.
var clientCalls atomic.Value

type whoami struct {
	User      *middleware.User      `json:"user"`
	Workspace *middleware.Workspace `json:"workspace"`
}

// reply is an answer from the app, read whole.
type reply struct {
	status  int
	body    []byte
	cookies map[string]*http.Cookie
	header  http.Header
}

func (r reply) whoami(t *testing.T) whoami {
	t.Helper()
	var w whoami
	if err := json.Unmarshal(r.body, &w); err != nil {
		t.Fatalf("body %q is not a whoami answer: %v", r.body, err)
	}
	return w
}

// cleared reports whether the answer expires the named cookie.
func (r reply) cleared(name string) bool {
	c, ok := r.cookies[name]
	return ok && c.MaxAge < 0
}

// do sends a request with the given cookies to the app.
func (h *harness) do(method, path string, body io.Reader, contentType string, cookies ...*http.Cookie) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.app.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.send(req)
}

func (h *harness) send(req *http.Request) reply {
	h.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: b, cookies: map[string]*http.Cookie{}, header: resp.Header}
	for _, c := range resp.Cookies() {
		r.cookies[c.Name] = c
	}
	return r
}

func (h *harness) get(path string, cookies ...*http.Cookie) reply {
	h.t.Helper()
	return h.do(http.MethodGet, path, nil, "", cookies...)
}

// signIn signs in through the app and returns the session cookies.
func (h *harness) signIn(email, password string) []*http.Cookie {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": email, "password": password})
	r := h.do(http.MethodPost, "/auth/signin", bytes.NewReader(body), "application/json")
	if r.status != http.StatusOK {
		h.t.Fatalf("sign-in: status %d %s", r.status, r.body)
	}
	return h.sessionCookies(r)
}

// sessionCookies returns the pair an answer set, failing if it set none.
func (h *harness) sessionCookies(r reply) []*http.Cookie {
	h.t.Helper()
	a, ok1 := r.cookies[accessCookie]
	rf, ok2 := r.cookies[refreshCookie]
	if !ok1 || !ok2 || a.MaxAge <= 0 || rf.MaxAge <= 0 {
		h.t.Fatalf("answer set no session pair: %v", r.cookies)
	}
	return []*http.Cookie{{Name: a.Name, Value: a.Value}, {Name: rf.Name, Value: rf.Value}}
}

// pair seals a Qelos pair for email into session cookies. With expired, the
// access token has already expired; the refresh token is live either way.
func (h *harness) pair(email, workspaceID string, expired bool) []*http.Cookie {
	h.t.Helper()
	access, refreshTok, err := h.qelos.IssuePair(email, workspaceID)
	if err != nil {
		h.t.Fatal(err)
	}
	if expired {
		if access, err = h.qelos.IssueAccessToken(email, workspaceID, -time.Minute); err != nil {
			h.t.Fatal(err)
		}
	}
	var ws *middleware.Workspace
	if workspaceID == acmeID {
		ws = &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}, Labels: []string{}}
	}
	sa, sr := middleware.SealPair(h.mw, access, refreshTok, ws)
	return []*http.Cookie{
		{Name: accessCookie, Value: sa},
		{Name: refreshCookie, Value: sr},
	}
}

// tokens opens a session pair and returns the Qelos tokens inside.
func (h *harness) tokens(cookies map[string]*http.Cookie) (access, refreshTok string) {
	h.t.Helper()
	a, err := openTok(h.mw, cookies[accessCookie])
	if err != nil {
		h.t.Fatalf("access cookie: %v", err)
	}
	r, err := openTok(h.mw, cookies[refreshCookie])
	if err != nil {
		h.t.Fatalf("refresh cookie: %v", err)
	}
	return a, r
}

func openTok(mw *middleware.Middleware, c *http.Cookie) (string, error) {
	if c == nil {
		return "", io.ErrUnexpectedEOF
	}
	tok, _, err := middleware.OpenCookie(mw, c.Name, c.Value)
	return tok, err
}

func (h *harness) eventCount(kind qelos.EventKind) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func form(kv ...string) io.Reader {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return strings.NewReader(v.Encode())
}
