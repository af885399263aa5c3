package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The warm-path benchmarks: one per way a request is identified, each
// measured after its first request filled the cache. Compare each with
// BenchmarkBaselineJWTVerify from the same run: a warm request must cost at
// most 0.035× verifying its access token once, and at most 2 allocations
// (it makes one: the request's copy and its context, together).
//
//	go test -run '^$' -bench 'Warm|Baseline' -benchmem ./middleware

// warmBench serves req once through mw (the cold request), checks it was
// identified, then measures it.
func warmBench(b *testing.B, mw *middleware.Middleware, req *http.Request) {
	b.Helper()
	var user *middleware.User
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ = middleware.UserFrom(r.Context())
	}))
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req)
	if user == nil {
		b.Fatal("the first request was not identified")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if user == nil {
		b.Fatal("a warm request was not identified")
	}
}

// warmServer is a Qelos on loopback and a middleware in front of it.
func warmServer(b *testing.B, edit func(*middleware.Config)) (*qelostest.Server, *middleware.Middleware) {
	b.Helper()
	q := qelostest.New(qelostest.Options{})
	b.Cleanup(q.Close)
	cfg := middleware.Config{
		AppURL:     q.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
	}
	if edit != nil {
		edit(&cfg)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return q, mw
}

func BenchmarkWarmCookiePair(b *testing.B) {
	q, mw := warmServer(b, nil)
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		b.Fatal(err)
	}
	sa, sr := middleware.SealPair(mw, access, refreshTok, nil)
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/dashboard", nil)
	req.Header.Set("Cookie", "theme=dark; "+accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
	warmBench(b, mw, req)
}

// BenchmarkWarmBearer: no JWTSecret, so the identity comes from /api/me
// once and is then cached.
func BenchmarkWarmBearer(b *testing.B) {
	q, mw := warmServer(b, nil)
	access, _, err := q.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/api/things", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	warmBench(b, mw, req)
}

// BenchmarkWarmBearerSecret: with JWTSecret the token is verified here,
// once; later requests hit a cache keyed by the raw header.
func BenchmarkWarmBearerSecret(b *testing.B) {
	q := qelostest.New(qelostest.Options{})
	b.Cleanup(q.Close)
	mw, err := middleware.New(middleware.Config{
		AppURL:     q.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		JWTSecret:  q.Secret(),
	})
	if err != nil {
		b.Fatal(err)
	}
	access, _, err := q.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/api/things", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	warmBench(b, mw, req)
}

func BenchmarkWarmAPIKey(b *testing.B) {
	q, mw := warmServer(b, nil)
	key, err := q.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/api/things", nil)
	req.Header.Set("X-Api-Key", key)
	warmBench(b, mw, req)
}

// BenchmarkWarmPassthrough: Qelos's own session cookie, identified by
// /api/me once and then cached.
func BenchmarkWarmPassthrough(b *testing.B) {
	q, mw := warmServer(b, func(c *middleware.Config) { c.Proxy.Passthrough = true })
	tok, err := q.IssueCookie(qelostest.AdminEmail, "")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/dashboard", nil)
	req.Header.Set("Cookie", "theme=dark; "+q.CookieName()+"="+tok)
	warmBench(b, mw, req)
}
