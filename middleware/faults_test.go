package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The fault matrix: every call the library makes to Qelos, under every
// fault Qelos (or a proxy in front of it) can produce. Each cell proves what
// the user is answered, what happens to the session cookies, that the
// answer comes within the upstream timeout, that no goroutine is left
// behind, and that no credential reaches the log.
//
// The rule it enforces is the design's: a definitive rejection (401 or 403
// from the token endpoint) ends the session; a transient fault never does.
// In short (T = every transient fault: 500, 502, delay, reset, reset
// mid-body, garbage, empty 200, huge 200, redirect 302):
//
//	refresh, guarded route        401/403 → 401 UNAUTHORIZED, pair cleared;  T → 503 QELOS_UNAVAILABLE, pair kept
//	sign-in                       401/403 → 401 INVALID_CREDENTIALS, kept;   T → 503 QELOS_UNAVAILABLE, kept
//	sign-out (either row)         every fault → 204, pair cleared (the user asked to sign out)
//	social callback               401/403 → 401 UNAUTHORIZED, no pair set;   T → 503 QELOS_UNAVAILABLE, no pair set
//	identity probe (3 modes)      401/403 → 401 UNAUTHORIZED;                T → 503 QELOS_UNAVAILABLE; no cookie touched
//	Client.Workspaces             401 → ErrUnauthorized, 403 → ErrForbidden; T → ErrUnavailable (503 here)
//	proxy                         Qelos's status and body relayed as they are; reset → 502 QELOS_PROXY_UPSTREAM_ERROR;
//	                              reset mid-body → connection aborted; redirect relayed, not followed
//	proxy of an expired pair      401/403 → pair cleared, the call goes on anonymous (200); T → 503, kept
const (
	fmTimeout = 200 * time.Millisecond  // Config.Limits.UpstreamTimeout of every cell
	fmDelay   = 1200 * time.Millisecond // the "delay" fault: well past the timeout
	fmBound   = time.Second             // every answer comes within this
	fmSettle  = 5 * time.Second         // how long goroutines may take to wind down
	fmHuge    = 2 << 20                 // the "huge" body: twice the 1 MiB cap
)

// fmFault is one column: a way Qelos misbehaves.
type fmFault struct {
	name string
	// transient faults must never clear a session.
	transient bool
	// qelos is the fault as qelostest injects it on its own endpoints; nil
	// when qelostest cannot produce it, and then serve produces it.
	qelos *qelostest.Fault
	// serve produces the fault on any path of the recording upstream
	// (standing in for Qelos's other services, or for what qelostest
	// cannot do). real answers when the fault lets the request through.
	serve func(up *upstream, real http.HandlerFunc) http.HandlerFunc
}

func fmFaults() []fmFault {
	status := func(code int, body string) func(*upstream, http.HandlerFunc) http.HandlerFunc {
		return func(*upstream, http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if json.Valid([]byte(body)) {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(code)
				io.WriteString(w, body)
			}
		}
	}
	return []fmFault{
		{name: "401", qelos: &qelostest.Fault{Status: 401, Body: `{"message":"unauthorized"}`}, serve: status(401, `{"message":"unauthorized"}`)},
		{name: "403", qelos: &qelostest.Fault{Status: 403, Body: `{"message":"forbidden"}`}, serve: status(403, `{"message":"forbidden"}`)},
		{name: "500", transient: true, qelos: &qelostest.Fault{Status: 500, Body: `{"message":"boom"}`}, serve: status(500, `{"message":"boom"}`)},
		{name: "502", transient: true, qelos: &qelostest.Fault{Status: 502, Body: "<html>bad gateway</html>"}, serve: status(502, "<html>bad gateway</html>")},
		{name: "delay", transient: true, qelos: &qelostest.Fault{Delay: fmDelay}, serve: func(_ *upstream, real http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(fmDelay):
					real(w, r)
				case <-r.Context().Done():
				}
			}
		}},
		{name: "reset", transient: true, qelos: &qelostest.Fault{Drop: true}, serve: func(*upstream, http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { resetConn(w) }
		}},
		{name: "reset mid-body", transient: true, serve: func(*upstream, http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "4096")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `{"payload":{"token":"eyJhbGciOiJIUzI1NiJ9.`)
				http.NewResponseController(w).Flush()
				time.Sleep(20 * time.Millisecond) // let the head reach the client first
				resetConn(w)
			}
		}},
		{name: "garbage", transient: true, qelos: &qelostest.Fault{Garbage: true}, serve: status(200, qelostest.GarbageBody)},
		{name: "empty 200", transient: true, qelos: &qelostest.Fault{Status: 200, Body: ""}, serve: status(200, "")},
		{name: "huge 200", transient: true, serve: func(*upstream, http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"payload":{"token":"`+strings.Repeat("a", fmHuge)+`"}}`)
			}
		}},
		{name: "redirect 302", transient: true, serve: func(up *upstream, _ http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, up.srv.URL+"/redirected?from="+url.QueryEscape(r.URL.Path), http.StatusFound)
			}
		}},
	}
}

// resetConn ends a request with a TCP reset, whatever was written so far.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// The state of the session cookies in an answer.
type fmCookies int

const (
	kept    fmCookies = iota + 1 // no Set-Cookie touches the pair (or a Qelos session cookie)
	cleared                      // both cookies of the pair expired
)

// fmWant is the expected answer of a cell.
type fmWant struct {
	status  int
	code    string // the JSON body's "code", when the library answers
	body    string // a substring of the body, when Qelos's answer is relayed
	cookies fmCookies
	// aborted: the connection is cut (before the head, or mid-body), so
	// the client cannot take a truncated body for a whole one.
	aborted bool
	// location: the relayed redirect.
	location bool
}

func answer(status int, code string, c fmCookies) fmWant {
	return fmWant{status: status, code: code, cookies: c}
}

// byFault is a row's expectations: def for every fault, except those named
// in the pairs that follow.
func byFault(def fmWant, except ...any) func(string) fmWant {
	m := map[string]fmWant{}
	for i := 0; i+1 < len(except); i += 2 {
		m[except[i].(string)] = except[i+1].(fmWant)
	}
	return func(fault string) fmWant {
		if w, ok := m[fault]; ok {
			return w
		}
		return def
	}
}

// fmCell is what a row's setup hands the cell: how to make the request, and
// the secrets that must never be logged.
type fmCell struct {
	request func() *http.Request
	secrets []string
}

// fmRow is one upstream call the library makes.
type fmRow struct {
	name     string
	path     string // the upstream path that misbehaves
	endpoint string // its qelostest endpoint, "" when qelostest does not serve it
	real     http.HandlerFunc
	setup    func(t *testing.T, a *app) fmCell
	want     func(fault string) fmWant
}

func fmRows() []fmRow {
	pairRequest := func(a *app, method, path string, expired bool, body func() io.Reader) fmCell {
		cookies := a.pair(qelostest.AdminEmail, acmeID, expired)
		access, refreshTok := a.tokens(map[string]*http.Cookie{cookies[0].Name: cookies[0], cookies[1].Name: cookies[1]})
		return fmCell{
			request: func() *http.Request {
				var rd io.Reader
				if body != nil {
					rd = body()
				}
				req, _ := http.NewRequest(method, a.app.URL+path, rd)
				if rd != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				for _, c := range cookies {
					req.AddCookie(c)
				}
				return req
			},
			secrets: []string{access, refreshTok, cookies[0].Value, cookies[1].Value},
		}
	}
	headerRequest := func(a *app, key, value string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
			req.Header.Set(key, value)
			return req
		}
	}
	unavailable := answer(503, qelos.CodeQelosUnavailable, kept)
	signedOut := answer(204, "", cleared)

	return []fmRow{
		{
			name: "refresh: expired pair on a guarded route", path: "/api/token/refresh", endpoint: qelostest.EndpointRefresh,
			setup: func(t *testing.T, a *app) fmCell { return pairRequest(a, http.MethodGet, "/private", true, nil) },
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, cleared),
				"403", answer(401, qelos.CodeUnauthorized, cleared)),
		},
		{
			name: "sign-in, already signed in", path: "/api/signin", endpoint: qelostest.EndpointSignIn,
			setup: func(t *testing.T, a *app) fmCell {
				c := pairRequest(a, http.MethodPost, "/auth/signin", false, func() io.Reader {
					return strings.NewReader(`{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`)
				})
				c.secrets = append(c.secrets, qelostest.AdminPassword)
				return c
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeInvalidCredentials, kept),
				"403", answer(401, qelos.CodeInvalidCredentials, kept)),
		},
		{
			// Signing out clears the pair whatever Qelos answers: with the
			// next row, the only cells where a transient fault clears it.
			name: "sign-out", path: "/api/logout", endpoint: qelostest.EndpointLogout,
			setup: func(t *testing.T, a *app) fmCell {
				return pairRequest(a, http.MethodPost, "/auth/signout", false, nil)
			},
			want: byFault(signedOut),
		},
		{
			name: "sign-out of an expired pair: refresh, then logout", path: "/api/token/refresh", endpoint: qelostest.EndpointRefresh,
			setup: func(t *testing.T, a *app) fmCell {
				return pairRequest(a, http.MethodPost, "/auth/signout", true, nil)
			},
			want: byFault(signedOut),
		},
		{
			name: "social callback: rt exchange", path: "/api/token/refresh", endpoint: qelostest.EndpointRefresh,
			setup: func(t *testing.T, a *app) fmCell {
				start := a.get("/auth/social")
				loc, _ := url.Parse(start.header.Get("Location"))
				state, stateCookie := loc.Query().Get("state"), start.cookies[middleware.HostPrefix+"q_social_state"]
				if start.status != http.StatusFound || state == "" || stateCookie == nil {
					t.Fatalf("social sign-in did not start: %d %v", start.status, start.header)
				}
				_, rt, err := a.qelos.IssuePair(qelostest.AdminEmail, "")
				if err != nil {
					t.Fatal(err)
				}
				return fmCell{
					request: func() *http.Request {
						req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/auth/callback?state="+state+"&rt="+url.QueryEscape(rt), nil)
						req.AddCookie(&http.Cookie{Name: stateCookie.Name, Value: stateCookie.Value})
						return req
					},
					secrets: []string{rt, stateCookie.Value},
				}
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, kept),
				"403", answer(401, qelos.CodeUnauthorized, kept)),
		},
		{
			name: "identity probe: bearer without JWTSecret", path: "/api/me", endpoint: qelostest.EndpointMe,
			setup: func(t *testing.T, a *app) fmCell {
				tok, err := a.qelos.IssueAccessToken(qelostest.AdminEmail, acmeID, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return fmCell{request: headerRequest(a, "Authorization", "Bearer "+tok), secrets: []string{tok}}
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, kept),
				"403", answer(401, qelos.CodeUnauthorized, kept)),
		},
		{
			name: "identity probe: API key", path: "/api/me", endpoint: qelostest.EndpointMe,
			setup: func(t *testing.T, a *app) fmCell {
				key, err := a.qelos.IssueAPIToken(qelostest.AdminEmail, acmeID, time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return fmCell{request: headerRequest(a, "X-Api-Key", key), secrets: []string{key}}
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, kept),
				"403", answer(401, qelos.CodeUnauthorized, kept)),
		},
		{
			name: "identity probe: Qelos session passthrough", path: "/api/me", endpoint: qelostest.EndpointMe,
			setup: func(t *testing.T, a *app) fmCell {
				qlt := qelosSession(t, a.up, qelostest.AdminEmail, qelostest.AdminPassword)
				return fmCell{request: headerRequest(a, "Cookie", qlt.Name+"="+qlt.Value), secrets: []string{qlt.Value}}
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, kept),
				"403", answer(401, qelos.CodeUnauthorized, kept)),
		},
		{
			// /fm/workspaces answers by the error's class: ErrUnauthorized
			// 401, ErrForbidden 403, ErrUnavailable 503, anything else 500
			// UNCLASSIFIED.
			name: "workspaces: request-scoped Client.Workspaces", path: "/api/workspaces", endpoint: qelostest.EndpointWorkspaces,
			setup: func(t *testing.T, a *app) fmCell {
				return pairRequest(a, http.MethodGet, "/fm/workspaces", false, nil)
			},
			want: byFault(unavailable,
				"401", answer(401, qelos.CodeUnauthorized, kept),
				"403", answer(403, qelos.CodeForbidden, kept)),
		},
		{
			// The proxy relays what Qelos answers, byte for byte; only a
			// failure to get an answer is its own (502).
			name: "proxy: api echo through Proxy", path: "/api/echo", real: fmEcho,
			setup: func(t *testing.T, a *app) fmCell { return pairRequest(a, http.MethodGet, "/api/echo", false, nil) },
			want: byFault(answer(502, qelos.CodeProxyUpstreamError, kept),
				"401", fmWant{status: 401, body: `{"message":"unauthorized"}`, cookies: kept},
				"403", fmWant{status: 403, body: `{"message":"forbidden"}`, cookies: kept},
				"500", fmWant{status: 500, body: `{"message":"boom"}`, cookies: kept},
				"502", fmWant{status: 502, body: "<html>bad gateway</html>", cookies: kept},
				"reset mid-body", fmWant{aborted: true, cookies: kept},
				"garbage", fmWant{status: 200, body: qelostest.GarbageBody, cookies: kept},
				"empty 200", fmWant{status: 200, cookies: kept},
				"huge 200", fmWant{status: 200, body: strings.Repeat("a", 1024), cookies: kept},
				"redirect 302", fmWant{status: 302, location: true, cookies: kept}),
		},
		{
			// A rejected pair is cleared and the call goes on anonymous; a
			// transient fault answers 503 rather than calling Qelos as
			// nobody.
			name: "proxy of an expired pair: refresh first", path: "/api/token/refresh", endpoint: qelostest.EndpointRefresh,
			setup: func(t *testing.T, a *app) fmCell { return pairRequest(a, http.MethodGet, "/api/echo", true, nil) },
			want: byFault(unavailable,
				"401", fmWant{status: 200, body: `"authorization":""`, cookies: cleared},
				"403", fmWant{status: 200, body: `"authorization":""`, cookies: cleared}),
		},
	}
}

// fmEcho is the upstream's /api/echo, for faults that let a request through.
func fmEcho(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "authorization": r.Header.Get("Authorization")})
}

// newMatrixApp is newApp plus the routes only the matrix needs, with the
// log captured.
func newMatrixApp(t *testing.T, up *upstream) *app {
	logs := &syncBuffer{}
	a := newApp(t, up, func(c *middleware.Config) {
		c.Proxy.Passthrough = true // the matrix covers the passthrough probe too
		c.Limits.UpstreamTimeout = fmTimeout
		c.Proxy.Timeout = fmTimeout
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	a.logs = logs
	mux := appMux(a.mw)
	mux.Handle("/api/", a.mw.Proxy())
	mux.Handle("GET /auth/social", a.mw.SocialLoginHandler("google", "/auth/callback"))
	mux.Handle("GET /auth/callback", a.mw.SocialCallbackHandler())
	mux.HandleFunc("GET /fm/workspaces", func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.ClientFrom(r.Context())
		if !ok {
			qelos.WriteError(w, r, qelos.ErrUnauthorized)
			return
		}
		list, err := c.Workspaces(r.Context())
		switch {
		case err == nil:
			json.NewEncoder(w).Encode(list)
		case errors.Is(err, qelos.ErrUnauthorized):
			qelos.WriteError(w, r, qelos.ErrUnauthorized)
		case errors.Is(err, qelos.ErrForbidden):
			qelos.WriteError(w, r, qelos.ErrForbidden)
		case errors.Is(err, qelos.ErrUnavailable):
			qelos.WriteError(w, r, qelos.ErrUnavailable)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"code":"UNCLASSIFIED","message":`+jsonString(err.Error())+`}`)
		}
	})
	a.app = newTestServer(t, a.mw.Handler(mux))
	return a
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fmReply is an answer read whole, with how it ended and how long it took.
type fmReply struct {
	reply
	err  error // the connection failed before the answer was whole
	took time.Duration
}

func fmSend(client *http.Client, req *http.Request) fmReply {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmReply{reply: reply{cookies: map[string]*http.Cookie{}, header: http.Header{}}, err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(resp.Body)
	r := fmReply{reply: reply{status: resp.StatusCode, body: b, cookies: map[string]*http.Cookie{}, header: resp.Header}, err: readErr, took: time.Since(start)}
	for _, c := range resp.Cookies() {
		r.cookies[c.Name] = c
	}
	return r
}

func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault matrix takes a few seconds")
	}
	for _, row := range fmRows() {
		t.Run(row.name, func(t *testing.T) {
			for _, fault := range fmFaults() {
				t.Run(fault.name, func(t *testing.T) {
					runCell(t, row, fault)
				})
			}
		})
	}
}

func runCell(t *testing.T, row fmRow, fault fmFault) {
	up := newUpstream(t, qelostest.Options{})
	a := newMatrixApp(t, up)
	cell := row.setup(t, a)
	want := row.want(fault.name)
	switch {
	case fault.qelos != nil && row.endpoint != "":
		up.q.InjectFault(row.endpoint, *fault.qelos)
	default:
		real := row.real
		if real == nil {
			real = up.q.Handler().ServeHTTP
		}
		up.override(row.path, fault.serve(up, real))
	}
	client := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	idle := func() {
		client.CloseIdleConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the middleware's
	}
	idle()
	before := steadyGoroutines()

	r := fmSend(client, cell.request())

	if want.aborted != (r.err != nil) {
		t.Errorf("connection error %v, want aborted=%v", r.err, want.aborted)
	}
	if !want.aborted && r.status != want.status {
		t.Errorf("status %d %.200s, want %d", r.status, r.body, want.status)
	}
	if want.code != "" && !bytes.Contains(r.body, []byte(`"code":"`+want.code+`"`)) {
		t.Errorf("body %.200s, want code %s", r.body, want.code)
	}
	if want.body != "" && !bytes.Contains(r.body, []byte(want.body)) {
		t.Errorf("body %.200s, want Qelos's answer relayed (%.40s…)", r.body, want.body)
	}
	if want.location {
		if loc := r.header.Get("Location"); !strings.HasPrefix(loc, up.srv.URL+"/redirected") {
			t.Errorf("Location %q, want Qelos's redirect relayed", loc)
		}
	}
	switch want.cookies {
	case kept:
		for name, c := range r.cookies {
			if name == accessCookie || name == refreshCookie || strings.HasPrefix(name, "qlt_") {
				t.Errorf("the answer touched the session cookie %s (Max-Age %d)", name, c.MaxAge)
			}
		}
	case cleared:
		if !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
			t.Errorf("the pair was not cleared: %v", r.cookies)
		}
	}
	if fault.transient && want.cookies == cleared && !strings.Contains(row.name, "sign-out") {
		t.Errorf("the expectation itself clears the session on a transient fault")
	}
	if r.took > fmBound {
		t.Errorf("answered in %v; the upstream timeout is %v", r.took, fmTimeout)
	}
	if n := len(up.requests("/redirected")); n != 0 {
		t.Errorf("a redirect from Qelos was followed (%d requests)", n)
	}
	if c := echoCookies(up); c != "" {
		t.Errorf("the app's own session cookies reached Qelos: %.60q…", c)
	}

	// Nothing left running: the detached refresh of a slow token endpoint
	// may outlive the answer (it records a late rotation) until Qelos
	// answers it, fmDelay at most.
	idle()
	deadline := time.Now().Add(fmSettle)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		idle()
	}
	if n := runtime.NumGoroutine(); n > before {
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("%d goroutines left behind after %v:\n%s", n-before, fmSettle, dump.String())
	}

	logs := a.logs.String()
	for _, s := range cell.secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log holds a credential (%.8s…):\n%s", s, logs)
		}
	}
}

// echoCookies returns the Cookie header of any call that reached Qelos's
// /api/echo carrying the app's own pair.
func echoCookies(up *upstream) string {
	for _, r := range up.requests("/api/echo") {
		if c := r.header.Get("Cookie"); strings.Contains(c, accessCookie) || strings.Contains(c, refreshCookie) {
			return c
		}
	}
	return ""
}

// steadyGoroutines returns the goroutine count once it has stopped moving
// (what earlier cells left is still winding down).
func steadyGoroutines() int {
	n := runtime.NumGoroutine()
	for i, same := 0, 0; i < 100 && same < 3; i++ {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}
