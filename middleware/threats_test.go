package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// Attacks on the budgets of Config.Limits, each through Handler with the
// default configuration, as an unauthenticated client on the internet can
// mount them. These tests use only what a default Config sets, so they
// read the same on any version of the package. Passthrough of Qelos's own
// qlt_ cookie is what the first two exploit; each checks it is on (a real
// qlt_ cookie is identified), so none passes by not reaching it.

// withPassthrough turns on passthrough of Qelos's qlt_ cookie (off by
// default), the path these threats go through.
func withPassthrough(c *middleware.Config) { c.Proxy.Passthrough = true }

// serveAllocating serves req through h and reports the status and the bytes
// allocated while it ran: work the request made the middleware do.
func serveAllocating(h http.Handler, req *http.Request) (status int, allocated uint64) {
	rec := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	return rec.Code, after.TotalAlloc - before.TotalAlloc
}

// fakeQelosToken is a well-formed Qelos token for tenant "0", unexpired,
// signed with a key Qelos does not have: it passes every check that can be
// made without Qelos's secret. pad lengthens it.
func fakeQelosToken(t testing.TB, i int, pad int) string {
	claims := jwt.MapClaims{"sub": fmt.Sprintf("%024x", i), "tenant": "0", "exp": time.Now().Add(time.Hour).Unix()}
	if pad > 0 {
		claims["pad"] = strings.Repeat("p", pad)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("not-qelos-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestThreatCookieCountCPU: a Cookie header of tens of thousands of qlt_
// cookies (200 KB, under Go's 1 MiB header limit) cost seconds of CPU,
// the passthrough key being concatenated cookie by cookie, twice per
// request. Now such a request is refused (431) after reading at most
// Limits.MaxCookieBytes, and what it allocates does not grow with the
// number of cookies: no more than a request with 4 of them.
func TestThreatCookieCountCPU(t *testing.T) {
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	cfg := quietConfig(q.URL)
	withPassthrough(&cfg)
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(appMux(mw))
	real, err := q.IssueCookie(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	get := func(cookie string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
		req.Header.Set("Cookie", cookie)
		return req
	}
	if status, _ := serveAllocating(h, get(q.CookieName()+"="+real)); status != 200 || q.Calls(qelostest.EndpointMe) != 1 {
		t.Fatalf("a real qlt_ cookie: %d, %d /api/me calls: passthrough is off, this test attacks nothing", status, q.Calls(qelostest.EndpointMe))
	}
	_, small := serveAllocating(h, get(strings.Repeat("qlt_; ", 3)+"qlt_"))
	tests := []struct {
		name   string
		cookie string
	}{
		{"40,000 qlt_ cookies, 200 KB", strings.Repeat("qlt_;", 40_000)},
		{"80,000 qlt_ cookies, 400 KB", strings.Repeat("qlt_;", 80_000)},
		{"13,000 qlt_ cookies within 64 KiB", strings.Repeat("qlt_;", 13_000)},
		{"5,000 other cookies within 64 KiB", strings.Repeat("a=b; ", 5_000) + "qlt_0=x"},
		{"20 qlt_ cookies of 2 KB", strings.Repeat("qlt_0="+strings.Repeat("e", 2000)+"; ", 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := q.Calls(qelostest.EndpointMe)
			status, allocated := serveAllocating(h, get(tt.cookie))
			t.Logf("%d; %d bytes allocated (4 qlt_ cookies: %d)", status, allocated, small)
			if status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("answered %d, want 431", status)
			}
			if allocated > 2*small+16<<10 {
				t.Errorf("allocated %d bytes, more than twice a request with 4 qlt_ cookies (%d): the work grows with the cookies", allocated, small)
			}
			if got := q.Calls(qelostest.EndpointMe) - calls; got != 0 {
				t.Errorf("%d /api/me calls", got)
			}
		})
	}
}

// TestThreatIdentityCacheMemory: the passthrough identity cache was keyed
// by every qlt_ cookie as sent, and emptied of expired entries only when
// full: 1,000 requests, each a unique well-formed fake qlt_0 with a 900 KB
// qlt_pad, held about 1 GiB after the TTL. Now a qlt_ cookie over
// Limits.MaxCredentialBytes is refused before anything is kept, what is
// kept stays within the default 64 MiB, and expired entries are swept on
// a schedule: after the identity TTL, what 1,000 refused credentials of
// 5.6 KiB filled the cache with is given back.
func TestThreatIdentityCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1,000 requests of 900 KB")
	}
	const documentedCacheBytes = 64 << 20 // Limits.CacheBytes' default
	q := qelostest.New(qelostest.Options{})
	t.Cleanup(q.Close)
	var mu sync.Mutex
	now := time.Now()
	cfg := quietConfig(q.URL)
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	withPassthrough(&cfg)
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(appMux(mw))
	whoami := func(cookie string) (int, *middleware.User) {
		req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var w struct{ User *middleware.User }
		json.NewDecoder(rec.Body).Decode(&w)
		return rec.Code, w.User
	}
	real, err := q.IssueCookie(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	if _, u := whoami(q.CookieName() + "=" + real); u == nil {
		t.Fatal("a real qlt_ cookie was not identified: passthrough is off, this test attacks nothing")
	}
	pad := strings.Repeat("x", 900<<10)
	base := liveHeap()
	for i := range 1000 {
		whoami("qlt_0=" + fakeQelosToken(t, i, 0) + "; qlt_pad=" + pad)
	}
	held := liveHeap() - base
	t.Logf("1,000 fake qlt_0 with a 900 KB qlt_pad: %.1f MiB held, %d /api/me calls", mib(held), q.Calls(qelostest.EndpointMe)-1)
	if held > documentedCacheBytes {
		t.Errorf("%.1f MiB held, over the %d MiB the caches may hold", mib(held), documentedCacheBytes>>20)
	}

	base = liveHeap()
	for i := range 1000 {
		whoami("qlt_0=" + fakeQelosToken(t, 1000+i, 4<<10))
	}
	filled := liveHeap() - base
	mu.Lock()
	now = now.Add(middleware.DefaultIdentityTTL + time.Minute)
	mu.Unlock()
	whoami("theme=dark; qlt_0=" + fakeQelosToken(t, 3000, 0)) // any request: the sweep needs no full cache
	left := liveHeap() - base
	t.Logf("1,000 refused fake qlt_0 of 5.6 KiB: %.1f MiB held; a minute after the TTL: %.1f MiB", mib(filled), mib(left))
	if left > 1<<20 {
		t.Errorf("%.1f MiB still held a minute after the identity TTL: expired entries are not swept", mib(left))
	}
	runtime.KeepAlive(mw)
}

// TestThreatIdentityProbeFlood: every unique well-formed fake bearer token
// cost a GET /api/me, all of them at once: 3,000 tokens made 3,000 calls
// in 10 s. Now at most Limits.MaxIdentityLookups (32) are in flight; the
// requests beyond it are answered 503 QELOS_UNAVAILABLE with Retry-After
// (never 401: the credential may be valid), nothing is cached for them, and
// once Qelos answers they are identified (here: refused) normally. Requests
// with one credential share one lookup.
func TestThreatIdentityProbeFlood(t *testing.T) {
	const documentedLookups = 32 // Limits.MaxIdentityLookups' default
	const flood = 100
	tests := []struct {
		name     string
		distinct bool
		set      func(req *http.Request, i int)
	}{
		{"unique fake bearer tokens", true, func(req *http.Request, i int) {
			req.Header.Set("Authorization", "Bearer "+fakeQelosToken(t, i, 0))
		}},
		{"unique API keys", true, func(req *http.Request, i int) { req.Header.Set("X-Api-Key", fmt.Sprintf("ql_%064x", i)) }},
		{"unique fake qlt_ cookies", true, func(req *http.Request, i int) {
			req.Header.Set("Cookie", "qlt_0="+fakeQelosToken(t, i, 0))
		}},
		{"one fake bearer token", false, func(req *http.Request, i int) {
			req.Header.Set("Authorization", "Bearer "+fakeQelosToken(t, 0, 0))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, qelostest.Options{})
			arrived, gate := make(chan struct{}, flood), make(chan struct{})
			up.override("/api/me", func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-gate
				up.q.Handler().ServeHTTP(w, r)
			})
			cfg := quietConfig(up.srv.URL)
			withPassthrough(&cfg)
			mw, err := middleware.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := mw.Handler(appMux(mw))
			type answer struct {
				i    int
				code int
				body string
				hdr  http.Header
			}
			answers := make(chan answer, flood)
			send := func(i int) {
				req := httptest.NewRequest(http.MethodGet, "/private", nil)
				tt.set(req, i)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				answers <- answer{i, rec.Code, rec.Body.String(), rec.Header()}
			}
			for i := range flood {
				go send(i)
			}
			// Every request either waits at Qelos or has been answered.
			var early []answer
			inFlight := 0
			for inFlight+len(early) < flood {
				select {
				case <-arrived:
					inFlight++
				case a := <-answers:
					early = append(early, a)
				}
				if !tt.distinct && inFlight == 1 && len(early) == 0 {
					break // one lookup; the others wait on it
				}
			}
			want := documentedLookups
			if !tt.distinct {
				want = 1
			}
			t.Logf("%d lookups in flight at once, %d requests answered while they were", inFlight, len(early))
			if inFlight > want {
				t.Errorf("%d identity lookups in flight at once, want at most %d", inFlight, want)
			}
			for _, a := range early {
				var body struct{ Code string }
				json.Unmarshal([]byte(a.body), &body)
				if a.code != 503 || body.Code != qelos.CodeQelosUnavailable || a.hdr.Get("Retry-After") == "" {
					t.Errorf("request %d answered %d %s (Retry-After %q) while Qelos was busy, want 503 %s", a.i, a.code, a.body, a.hdr.Get("Retry-After"), qelos.CodeQelosUnavailable)
				}
			}
			close(gate)
			for range flood - len(early) {
				if a := <-answers; a.code != 401 {
					t.Errorf("request %d answered %d %s once Qelos refused it, want 401", a.i, a.code, a.body)
				}
			}
			for _, a := range early { // asked again, one by one, each is looked up now
				send(a.i)
				if a := <-answers; a.code != 401 {
					t.Errorf("request %d asked again: %d %s, want 401", a.i, a.code, a.body)
				}
			}
			if got, want := len(up.requests("/api/me")), map[bool]int{true: flood, false: 1}[tt.distinct]; got != want {
				t.Errorf("%d /api/me calls, want %d (one per credential)", got, want)
			}
		})
	}
}

// TestLocallyRefusedTokensCostNoUpstreamCall: with JWTSecret, a bearer
// token (or a Qelos session cookie) that fails local verification is
// refused without asking Qelos, however many arrive.
func TestLocallyRefusedTokensCostNoUpstreamCall(t *testing.T) {
	up := newUpstream(t, qelostest.Options{})
	a := newApp(t, up, func(c *middleware.Config) {
		c.JWTSecret = qelostest.DefaultJWTSecret
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		withPassthrough(c)
	})
	secret := []byte(qelostest.DefaultJWTSecret)
	hour := time.Now().Add(time.Hour).Unix()
	tokens := []struct{ name, tok string }{
		{"signed with another key", fakeQelosToken(t, 1, 0)},
		{"HS512", signToken(t, jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": "a", "tenant": "0", "exp": hour})},
		{"alg none", signToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "a", "tenant": "0", "exp": hour})},
		{"expired", signToken(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "a", "tenant": "0", "exp": time.Now().Add(-time.Hour).Unix()})},
		{"another tenant", signToken(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "a", "tenant": "999", "exp": hour})},
		{"no exp", signToken(t, jwt.SigningMethodHS256, []byte("x"), jwt.MapClaims{"sub": "a", "tenant": "0"})},
		{"not a JWT", "made.up.token"},
	}
	for _, tt := range tokens {
		for _, where := range []string{"bearer", "qlt_0 cookie"} {
			t.Run(tt.name+" as "+where, func(t *testing.T) {
				before := len(up.requests("/api/me"))
				for range 20 {
					req, _ := http.NewRequest(http.MethodGet, a.app.URL+"/private", nil)
					if where == "bearer" {
						req.Header.Set("Authorization", "Bearer "+tt.tok)
					} else {
						req.Header.Set("Cookie", "qlt_0="+tt.tok)
					}
					if r := a.send(req); r.status != 401 {
						t.Fatalf("%d %s", r.status, r.body)
					}
				}
				if n := len(up.requests("/api/me")) - before; n != 0 {
					t.Fatalf("%d /api/me calls", n)
				}
			})
		}
	}
	real := qelosSession(t, up, qelostest.AdminEmail, qelostest.AdminPassword)
	if w := a.get("/whoami", real).whoami(t); w.User == nil {
		t.Fatal("a real qlt_ cookie was not identified")
	}
}
