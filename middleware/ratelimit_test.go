package middleware_test

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// signInAs posts a sign-in for username from the client address client
// (sent as X-Forwarded-For, which the app trusts only when configured to).
func signInAs(h *harness, username, password, client string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/signin",
		strings.NewReader(`{"username":"`+username+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	return h.send(req)
}

// TestSignInRateLimitStopsPasswordGuessing: 1,000 wrong passwords for one
// username from one client reach Qelos DefaultSignInPerUser times; the
// rest are answered 429 with Retry-After, the right password included,
// until the window has moved on; other users, from the same client or
// another, are unaffected.
func TestSignInRateLimitStopsPasswordGuessing(t *testing.T) {
	clock := qelostest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	h := newHarness(t, qelostest.Options{Now: clock.Now}, func(c *middleware.Config) {
		c.Now = clock.Now
		c.SignInLimit.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	const attacker = "203.0.113.7"
	tooMany, firstRetry := 0, ""
	for i := range 1000 {
		r := signInAs(h, qelostest.AdminEmail, "wrong-"+strconv.Itoa(i), attacker)
		switch r.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			if tooMany++; firstRetry == "" {
				firstRetry = r.header.Get("Retry-After")
			}
			if !strings.Contains(string(r.body), qelos.CodeTooManyAttempts) {
				t.Fatalf("429 body %s", r.body)
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
		clock.Advance(10 * time.Millisecond) // 1,000 attempts in 10 s
	}
	calls := h.qelos.Calls(qelostest.EndpointSignIn)
	t.Logf("1000 wrong passwords: %d reached Qelos, %d answered 429 (Retry-After %s s)", calls, tooMany, firstRetry)
	if calls != middleware.DefaultSignInPerUser || tooMany != 1000-middleware.DefaultSignInPerUser {
		t.Fatalf("%d sign-ins reached Qelos and %d were refused; want %d and %d", calls, tooMany, middleware.DefaultSignInPerUser, 1000-middleware.DefaultSignInPerUser)
	}
	if s, _ := strconv.Atoi(firstRetry); s < 50 || s > 60 {
		t.Fatalf("Retry-After %q, want the rest of the minute (50–60 s)", firstRetry)
	}

	tests := []struct {
		name, user, password, client string
		want                         int
	}{
		{"the right password from the attacker's address, in the window", qelostest.AdminEmail, qelostest.AdminPassword, attacker, 429},
		{"the same username in another case", strings.ToUpper(qelostest.AdminEmail), qelostest.AdminPassword, attacker, 429},
		{"the same user from another client", qelostest.AdminEmail, qelostest.AdminPassword, "198.51.100.1", 200},
		{"another user from the attacker's address", qelostest.UserEmail, qelostest.UserPassword, attacker, 200},
		{"another user from another client", qelostest.UserEmail, qelostest.UserPassword, "198.51.100.2", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := signInAs(h, tt.user, tt.password, tt.client); r.status != tt.want {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.want)
			}
		})
	}
	t.Run("the right password works once the window has moved on", func(t *testing.T) {
		clock.Advance(middleware.DefaultSignInWindow)
		if r := signInAs(h, qelostest.AdminEmail, qelostest.AdminPassword, attacker); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestSignInRateLimitPerClient: one client spraying many usernames gets
// DefaultSignInPerClient attempts per window to Qelos; another client is
// unaffected.
func TestSignInRateLimitPerClient(t *testing.T) {
	clock := qelostest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	h := newHarness(t, qelostest.Options{Now: clock.Now}, func(c *middleware.Config) {
		c.Now = clock.Now
		c.SignInLimit.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for i := range 200 {
		signInAs(h, "user"+strconv.Itoa(i)+"@example.com", "guess", "203.0.113.9")
	}
	if n := h.qelos.Calls(qelostest.EndpointSignIn); n != middleware.DefaultSignInPerClient {
		t.Fatalf("%d of 200 sprayed sign-ins reached Qelos, want %d", n, middleware.DefaultSignInPerClient)
	}
	if r := signInAs(h, qelostest.UserEmail, qelostest.UserPassword, "203.0.113.10"); r.status != http.StatusOK {
		t.Fatalf("another client: %d %s", r.status, r.body)
	}
}

// TestSignInRateLimitClientAddress: the client address comes from the
// connection; a forwarded header counts only from a configured trusted
// proxy, and then its rightmost untrusted address, so a client cannot
// escape its count by writing the header itself.
func TestSignInRateLimitClientAddress(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix
		// forwarded returns the X-Forwarded-For of attempt i.
		forwarded func(i int) string
		wantCalls int
	}{
		{"a spoofed header without trusted proxies", nil,
			func(i int) string { return "10.1.1." + strconv.Itoa(i) }, middleware.DefaultSignInPerUser},
		{"a client prepending addresses behind a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			func(i int) string { return "10.1.1." + strconv.Itoa(i) + ", 203.0.113.5" }, middleware.DefaultSignInPerUser},
		{"a chain of trusted proxies", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")},
			func(i int) string { return "10.9.9." + strconv.Itoa(i) + ", 203.0.113.5, 10.0.0.2" }, middleware.DefaultSignInPerUser},
		{"an IPv6 client's /64", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			func(i int) string { return "2001:db8::" + strconv.Itoa(i+1) }, middleware.DefaultSignInPerUser},
		{"distinct clients behind a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			func(i int) string { return "203.0.113." + strconv.Itoa(i+1) }, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.SignInLimit.TrustedProxies = tt.trusted })
			for i := range 30 {
				signInAs(h, qelostest.AdminEmail, "wrong", tt.forwarded(i))
			}
			if n := h.qelos.Calls(qelostest.EndpointSignIn); n != tt.wantCalls {
				t.Fatalf("%d of 30 reached Qelos, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestSignInRateLimitOptions: Disable turns it off; a Limiter of one's own
// replaces the counter and sees no username in clear.
func TestSignInRateLimitOptions(t *testing.T) {
	t.Run("Disable", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, noSignInLimit)
		for range 30 {
			signInAs(h, qelostest.AdminEmail, "wrong", "")
		}
		if n := h.qelos.Calls(qelostest.EndpointSignIn); n != 30 {
			t.Fatalf("%d of 30 reached Qelos", n)
		}
	})
	t.Run("a Limiter of one's own", func(t *testing.T) {
		lim := &countingLimiter{allow: 3}
		h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.SignInLimit.Limiter = lim })
		for range 10 {
			signInAs(h, qelostest.AdminEmail, "wrong", "")
		}
		if n := h.qelos.Calls(qelostest.EndpointSignIn); n != 3 {
			t.Fatalf("%d of 10 reached Qelos, want 3", n)
		}
		for _, k := range lim.keys {
			if len(k) != 64 || strings.Contains(k, "example") {
				t.Fatalf("limiter saw key %q", k)
			}
		}
	})
}

// countingLimiter is an app's own RateLimiter: a fixed allowance per key,
// recording the keys it is given.
type countingLimiter struct {
	mu    sync.Mutex
	allow int
	seen  map[string]int
	keys  []string
}

func (l *countingLimiter) Take(_ context.Context, key string, _ int, window time.Duration, _ time.Time) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.keys = append(l.keys, key)
	if l.seen[key] >= l.allow {
		return false, window, nil
	}
	l.seen[key]++
	return true, 0, nil
}
