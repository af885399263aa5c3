package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The hot-path benchmarks. Compare BenchmarkHandlerValidPair with
// BenchmarkBaselineJWTVerify from the same run: a warm request must cost at
// most a quarter of verifying its access token once, and at most 10
// allocations.
//
//	go test -run '^$' -bench 'Handler|Baseline' -benchmem ./middleware

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

var sink *middleware.User

// benchSetup returns a middleware in front of a handler that reads the
// user, a request carrying a valid sealed pair, and the raw access token.
func benchSetup(b *testing.B) (http.Handler, *http.Request, string, string) {
	b.Helper()
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(middleware.Config{
		AppURL:     "http://127.0.0.1:1", // never called on the warm path
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
	})
	if err != nil {
		b.Fatal(err)
	}
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, "6b08ed31a15f3cecd2836587")
	if err != nil {
		b.Fatal(err)
	}
	sa, sr := middleware.SealPair(mw, access, refreshTok, nil)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sink, _ = middleware.UserFrom(r.Context())
	}))
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/dashboard", nil)
	req.Header.Set("Cookie", "theme=dark; "+accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
	return h, req, access, q.Secret()
}

func BenchmarkHandlerValidPair(b *testing.B) {
	h, req, _, _ := benchSetup(b)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req) // warm the cache
	if sink == nil {
		b.Fatal("the valid pair did not authenticate")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkHandlerValidPairParallel(b *testing.B) {
	h, req, _, _ := benchSetup(b)
	h.ServeHTTP(&discard{h: http.Header{}}, req)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}

func BenchmarkHandlerAnonymous(b *testing.B) {
	h, _, _, _ := benchSetup(b)
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/dashboard", nil)
	req.Header.Set("Cookie", "theme=dark")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// coldPairs is how many distinct sessions the cold benchmarks cycle
// through, with a cache of one entry: each request brings a credential
// the cache does not hold (its entry was evicted by the one before), so
// it is opened, checked and cached as on its first sight.
const coldPairs = 1024

// BenchmarkColdCookiePair measures the first request of a session: a
// sealed pair never seen before, through Handler (open the access cookie,
// check the refresh cookie's digest, check revocation, cache it).
func BenchmarkColdCookiePair(b *testing.B) {
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(middleware.Config{
		AppURL:     "http://127.0.0.1:1",
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Limits:     middleware.Limits{CacheSize: 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, "6b08ed31a15f3cecd2836587")
	if err != nil {
		b.Fatal(err)
	}
	ws := &middleware.Workspace{ID: "6b08ed31a15f3cecd2836587", Name: "Acme Team", Roles: []string{"admin", "user"}}
	reqs := make([]*http.Request, coldPairs)
	for i := range reqs {
		sa, sr := middleware.SealPair(mw, access, refreshTok, ws) // a new session id and IV each time
		reqs[i], _ = http.NewRequest(http.MethodGet, "http://app.example/dashboard", nil)
		reqs[i].Header.Set("Cookie", "theme=dark; "+accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
	}
	coldBench(b, mw, reqs)
}

// BenchmarkColdBearerSecret measures a bearer access token never seen
// before, with JWTSecret set: verified and read here, with no call to
// Qelos.
func BenchmarkColdBearerSecret(b *testing.B) {
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(middleware.Config{
		AppURL:     "http://127.0.0.1:1",
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		JWTSecret:  q.Secret(),
		Limits:     middleware.Limits{CacheSize: 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, coldPairs)
	for i := range reqs {
		// A distinct lifetime gives a distinct token.
		tok, err := q.IssueAccessToken(qelostest.AdminEmail, "6b08ed31a15f3cecd2836587", time.Hour+time.Duration(i)*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i], _ = http.NewRequest(http.MethodGet, "http://app.example/api/things", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tok)
	}
	coldBench(b, mw, reqs)
}

// coldBench serves reqs round and round through mw, checking each request
// was identified.
func coldBench(b *testing.B, mw *middleware.Middleware, reqs []*http.Request) {
	b.Helper()
	var user *middleware.User
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { user, _ = middleware.UserFrom(r.Context()) }))
	w := &discard{h: http.Header{}}
	seen := map[string]bool{}
	for _, r := range reqs {
		seen[r.Header.Get("Cookie")+r.Header.Get("Authorization")] = true
	}
	if len(seen) != len(reqs) {
		b.Fatalf("%d distinct credentials of %d", len(seen), len(reqs))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		user = nil
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if user == nil {
			b.Fatal("a cold request was not identified")
		}
		i++
	}
}

// BenchmarkBaselineJWTVerify verifies the same access token with jwt/v5
// HS256 directly: the cost a middleware that verifies on every request pays.
func BenchmarkBaselineJWTVerify(b *testing.B) {
	_, _, access, secret := benchSetup(b)
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}))
	key := []byte(secret)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := parser.Parse(access, keyFunc); err != nil {
			b.Fatal(err)
		}
	}
}
