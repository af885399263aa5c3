package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestJunkCredentialsStayWithinCacheBytes: 1,000 requests, each with a
// unique junk credential of 1 KiB to 1 MiB (fake but well-formed JWTs as
// bearer tokens and qlt_ cookies, API keys, a fake qlt_0 beside a large
// qlt_ cookie), grow the live heap by no more than Limits.CacheBytes: the
// ones over the request budgets are refused, the others are refused by
// Qelos and the refusals kept within the caches' byte budget. With a small
// budget the same traffic would hold several times the budget unbounded.
func TestJunkCredentialsStayWithinCacheBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1,000 requests of up to 1 MiB, twice")
	}
	sizes := []int{1 << 10, 5 << 10, 5 << 10, 5 << 10, 5 << 10, 100 << 10, 1 << 20} // 7: every kind meets every size
	junk := func(req *http.Request, i int) (cacheable int) {
		size := sizes[i%len(sizes)]
		pad := max(0, size*3/4-150) // a JWT's payload is base64: 4/3 of its JSON
		switch i % 4 {
		case 0:
			tok := fakeQelosToken(t, i, pad)
			req.Header.Set("Authorization", "Bearer "+tok)
			return len(tok)
		case 1:
			key := fmt.Sprintf("ql_%064x", i) // a key's shape
			if size > 1<<10 {
				key += strings.Repeat("f", size) // no longer a key's shape, or over budget
			}
			req.Header.Set("X-Api-Key", key)
			return len(key)
		case 2:
			tok := fakeQelosToken(t, i, pad)
			req.Header.Set("Cookie", "theme=dark; qlt_0="+tok)
			return len(tok)
		default:
			req.Header.Set("Cookie", "qlt_0="+fakeQelosToken(t, i, 0)+"; qlt_pad="+strings.Repeat("x", size))
			return size
		}
	}
	tests := []struct {
		name       string
		cacheBytes int64
	}{
		{"Limits.CacheBytes 1 MiB", 1 << 20},
		{"the default", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := qelostest.New(qelostest.Options{})
			t.Cleanup(q.Close)
			cfg := quietConfig(q.URL)
			cfg.Limits.CacheBytes = tt.cacheBytes
			withPassthrough(&cfg)
			mw, err := middleware.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			budget := tt.cacheBytes
			if budget == 0 {
				budget = middleware.DefaultCacheBytes
			}
			h := mw.Handler(appMux(mw))
			statuses := map[int]int{}
			var asked int64
			base := liveHeap()
			for i := range 1000 {
				req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
				n := junk(req, i)
				calls := q.Calls(qelostest.EndpointMe)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				statuses[rec.Code]++
				if q.Calls(qelostest.EndpointMe) > calls {
					asked += int64(n)
				}
			}
			held := liveHeap() - base
			t.Logf("statuses %v; %d /api/me calls for %.1f MiB of credentials; %.2f MiB held, %.2f MiB counted, budget %.0f MiB",
				statuses, q.Calls(qelostest.EndpointMe), mib(asked), mib(held), mib(middleware.CacheMemory(mw)), mib(budget))
			if held > budget {
				t.Errorf("%.2f MiB held, over Limits.CacheBytes (%.2f MiB)", mib(held), mib(budget))
			}
			if c := middleware.CacheMemory(mw); c > budget {
				t.Errorf("the caches count %d bytes, over Limits.CacheBytes %d", c, budget)
			}
			if tt.cacheBytes != 0 && asked < 2*budget {
				t.Errorf("only %.1f MiB of credentials reached the caches: the budget was not put to the test", mib(asked))
			}
			runtime.KeepAlive(mw)
		})
	}
}

// TestLimitsConfig: negative limits are refused with the field's name;
// zero takes the default.
func TestLimitsConfig(t *testing.T) {
	tests := []struct {
		name   string
		limits middleware.Limits
		want   string
	}{
		{"defaults", middleware.Limits{}, ""},
		{"MaxCookies", middleware.Limits{MaxCookies: -1}, "Config.Limits.MaxCookies"},
		{"MaxCookieBytes", middleware.Limits{MaxCookieBytes: -1}, "Config.Limits.MaxCookieBytes"},
		{"MaxQelosCookies", middleware.Limits{MaxQelosCookies: -1}, "Config.Limits.MaxQelosCookies"},
		{"MaxCredentialBytes", middleware.Limits{MaxCredentialBytes: -1}, "Config.Limits.MaxCredentialBytes"},
		{"CacheBytes", middleware.Limits{CacheBytes: -1}, "Config.Limits.CacheBytes"},
		{"MaxIdentityLookups", middleware.Limits{MaxIdentityLookups: -1}, "Config.Limits.MaxIdentityLookups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quietConfig("https://q.example")
			cfg.Limits = tt.limits
			_, err := middleware.New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestBrowserCookiesAreWithinBudget: a browser with the app's session,
// Qelos's cookie and a heavy load of third-party cookies (analytics,
// consent, A/B tests: 60 cookies, 8 KiB) is far below every budget, and
// signed in.
func TestBrowserCookiesAreWithinBudget(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	pair := h.pair(qelostest.AdminEmail, acmeID, false)
	var third []string
	for i := range 60 {
		third = append(third, fmt.Sprintf("_tp%02d=%s", i, strings.Repeat("v", 120)))
	}
	cookie := strings.Join(third[:30], "; ") + "; " + pair[0].Name + "=" + pair[0].Value + "; qlt_0=x; " +
		pair[1].Name + "=" + pair[1].Value + "; " + strings.Join(third[30:], "; ")
	req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/whoami", nil)
	req.Header.Set("Cookie", cookie)
	r := h.send(req)
	t.Logf("%d cookies, %d bytes: %d", 63, len(cookie), r.status)
	if r.status != 200 || r.whoami(t).User == nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if 63*4 > middleware.DefaultMaxCookies || 4*len(cookie) > middleware.DefaultMaxCookieBytes {
		t.Fatalf("%d cookies, %d bytes: not far below the budgets (%d cookies, %d bytes)", 63, len(cookie), middleware.DefaultMaxCookies, middleware.DefaultMaxCookieBytes)
	}
}

// BenchmarkCookieBudget: a request with 40,000 qlt_ cookies costs no more
// than one with 4 (it is refused after reading its headers' lengths).
//
//	go test -run '^$' -bench CookieBudget -benchmem ./middleware
func BenchmarkCookieBudget(b *testing.B) {
	mw, err := middleware.New(quietConfig("http://127.0.0.1:1")) // never called: no qlt_ cookie here is a JWT
	if err != nil {
		b.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, n := range []int{4, 40_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
			req.Header.Set("Cookie", strings.Repeat("qlt_; ", n-1)+"qlt_")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
