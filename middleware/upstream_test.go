package middleware_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// recorded is what the upstream saw of one request.
type recorded struct {
	method, path, rawQuery string
	header                 http.Header
	bodySHA                string
	bodyLen                int
}

// upstream is Qelos on loopback: qelostest's auth service, plus /api/echo
// standing in for Qelos's other services, with every request recorded and
// any path overridable.
type upstream struct {
	q   *qelostest.Server
	srv *httptest.Server

	mu        sync.Mutex
	seen      []recorded
	overrides map[string]http.HandlerFunc
}

func newUpstream(t *testing.T, opts qelostest.Options) *upstream {
	t.Helper()
	u := &upstream{q: qelostest.NewHandler(opts), overrides: map[string]http.HandlerFunc{}}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	rec := recorded{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), bodySHA: hex.EncodeToString(sum[:]), bodyLen: len(body)}
	u.mu.Lock()
	u.seen = append(u.seen, rec)
	h := u.overrides[r.URL.Path]
	u.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case h != nil:
		h(w, r)
	case r.URL.Path == "/api/echo":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "echo=1; Domain=qelos.internal; Path=/; HttpOnly")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "query": r.URL.RawQuery, "sha256": rec.bodySHA, "len": rec.bodyLen, "authorization": r.Header.Get("Authorization")})
	default:
		u.q.Handler().ServeHTTP(w, r)
	}
}

func (u *upstream) override(path string, h http.HandlerFunc) {
	u.mu.Lock()
	u.overrides[path] = h
	u.mu.Unlock()
}

// requests returns what the upstream saw at path.
func (u *upstream) requests(path string) []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []recorded
	for _, r := range u.seen {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// app serves the contract routes plus /api/ (the proxy) and /api/local
// (an app route under the proxy's prefix), behind the middleware.
type app struct {
	*harness
	up *upstream
}

func newApp(t *testing.T, up *upstream, mutate func(*middleware.Config)) *app {
	t.Helper()
	h := &harness{t: t, logs: &syncBuffer{}}
	h.cfg = middleware.Config{
		AppURL:     up.srv.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		SkipPaths:  []string{"/health"},
	}
	if mutate != nil {
		mutate(&h.cfg)
	}
	mw, err := middleware.New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.mw = mw
	mux := appMux(mw)
	mux.Handle("/api/", mw.Proxy())
	mux.HandleFunc("GET /api/local", func(w http.ResponseWriter, r *http.Request) {
		_, has := middleware.FromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]bool{"hasAuth": has})
	})
	mux.HandleFunc("GET /me-via-client", func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.ClientFrom(r.Context())
		if !ok {
			qelos.WriteError(w, r, qelos.ErrUnauthorized)
			return
		}
		u, err := c.Me(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(u)
	})
	mux.HandleFunc("GET /workspaces", func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.ClientFrom(r.Context())
		if !ok {
			c = mw.ServiceClient()
		}
		list, err := c.Workspaces(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(list)
	})
	h.app = httptest.NewServer(mw.Handler(mux))
	t.Cleanup(h.app.Close)
	h.qelos = up.q
	return &app{harness: h, up: up}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newTestServer(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
