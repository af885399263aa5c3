package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestCacheStats: the stats follow what requests do: a session's first
// request is a miss that caches it, its next ones hits; an anonymous
// request is no lookup; the bytes held stay within Limits.CacheBytes.
func TestCacheStats(t *testing.T) {
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(quietConfig("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve := func(cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if s := mw.CacheStats(); s != (middleware.CacheStats{MaxBytes: middleware.DefaultCacheBytes}) || s.HitRate() != 0 {
		t.Fatalf("before any request: %+v, hit rate %v", s, s.HitRate())
	}
	var pairs []string
	for range 2 {
		sa, sr := middleware.SealPair(mw, access, refreshTok, nil)
		pairs = append(pairs, accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
	}
	for _, step := range []struct {
		cookie       string
		sessions     int
		hits, misses uint64
	}{
		{pairs[0], 1, 0, 1},
		{pairs[0], 1, 1, 1},
		{pairs[0], 1, 2, 1},
		{"theme=dark", 1, 2, 1},
		{pairs[1], 2, 2, 2},
		{pairs[1], 2, 3, 2},
	} {
		serve(step.cookie)
		s := mw.CacheStats()
		if s.Sessions != step.sessions || s.Entries != step.sessions || s.Hits != step.hits || s.Misses != step.misses {
			t.Fatalf("after %.20s…: %+v; want %d sessions, %d hits, %d misses", step.cookie, s, step.sessions, step.hits, step.misses)
		}
		if s.Bytes <= 0 || s.Bytes > s.MaxBytes {
			t.Fatalf("bytes %d, outside (0, %d]", s.Bytes, s.MaxBytes)
		}
	}
	if got := mw.CacheStats().HitRate(); got != 0.6 {
		t.Errorf("hit rate %v, want 3/5", got)
	}
}
