package signinlimit_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware/internal/signinlimit"
)

// TestAllow: PerUser counts a username from one client, PerClient every
// attempt of the client; behind a trusted proxy the client is the
// forwarded address; the window moves on.
func TestAllow(t *testing.T) {
	l := signinlimit.New(signinlimit.Options{PerUser: 2, PerClient: 3, Window: time.Minute,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ClientIPHeader: "X-Forwarded-For",
		MaxKeys: 100, Logger: slog.New(slog.DiscardHandler)})
	now := time.Unix(1_000_000, 0)
	attempt := func(remote, forwarded, user string) bool {
		r := httptest.NewRequest("POST", "/auth/signin", nil)
		r.RemoteAddr = remote
		if forwarded != "" {
			r.Header.Set("X-Forwarded-For", forwarded)
		}
		ok, _ := l.Allow(context.Background(), r, user, now)
		return ok
	}
	for i, tt := range []struct {
		name                    string
		remote, forwarded, user string
		want                    bool
	}{
		{"first try", "192.0.2.1:1", "", "ada", true},
		{"second try", "192.0.2.1:1", "", "ADA", true},
		{"third try of the user", "192.0.2.1:1", "", "ada", false},
		{"another user, same client", "192.0.2.1:1", "", "bob", true},
		{"the client's limit", "192.0.2.1:1", "", "cy", false},
		{"behind the proxy, another client", "10.0.0.5:1", "198.51.100.7", "ada", true},
		{"an untrusted hop's header is ignored", "192.0.2.9:1", "198.51.100.7", "ada", true},
	} {
		if got := attempt(tt.remote, tt.forwarded, tt.user); got != tt.want {
			t.Fatalf("%d %s: allowed %v, want %v", i, tt.name, got, tt.want)
		}
	}
	now = now.Add(time.Minute)
	if !attempt("192.0.2.1:1", "", "ada") {
		t.Fatal("a minute later: still refused")
	}
}
