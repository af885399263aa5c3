package conformance

import (
	"net/http"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// Bench measures a warm request (a valid, already-opened cookie pair) to
// GET /ping of the app mount builds: the hot path of every signed-in page.
// The app is called directly with a reused request and a ResponseWriter
// that keeps nothing, so only the framework and the middleware are timed.
// Compare frameworks within one run: see the adapters' benchmarks.
func Bench(b *testing.B, mount Mount) {
	q := qelostest.NewHandler(qelostest.Options{})
	defer q.Close()
	mw, err := middleware.New(middleware.Config{
		AppURL:     "http://127.0.0.1:1", // never called on the warm path
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		SkipPaths:  []string{SkipPath},
	})
	if err != nil {
		b.Fatal(err)
	}
	app := mount(mw)
	req, _ := http.NewRequest(http.MethodGet, "http://app.example/ping", nil)
	for _, c := range Pair(b, q, mw, ValidPair) {
		req.AddCookie(c)
	}
	w := &discard{h: http.Header{}}
	app.ServeHTTP(w, req) // warm the cache
	if w.status != http.StatusNoContent {
		b.Fatalf("warm request: status %d, want 204 (the pair did not authenticate)", w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		app.ServeHTTP(w, req)
	}
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }
