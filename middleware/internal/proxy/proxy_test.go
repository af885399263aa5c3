package proxy_test

import (
	"net/http"
	"testing"

	"github.com/qelos-io/integrator-go/middleware/internal/proxy"
)

// TestDotSegment: a dot-segment is found at any depth of percent-encoding;
// an honest path passes.
func TestDotSegment(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/api/users/me", false},
		{"/api/a.b/c..d", false},
		{"/api/../admin", true},
		{"/api/%2e%2e/admin", true},
		{"/api/..%2fadmin", true},
		{"/api/%252e%252e/admin", true},
		{"/api/.%5cadmin", true},
		{`/api/..\admin`, true},
	} {
		if got := proxy.DotSegment(tt.path); got != tt.want {
			t.Errorf("DotSegment(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestStripIdentityHeaders: identity and routing headers go, credentials
// and the rest stay.
func TestStripIdentityHeaders(t *testing.T) {
	h := http.Header{"Tenant": {"1"}, "X-Qelos-User-Id": {"u"}, "X-Forwarded-Host": {"evil"}, "Authorization": {"Bearer t"}, "Accept": {"*/*"}}
	proxy.StripIdentityHeaders(h)
	if len(h) != 2 || h.Get("Authorization") == "" || h.Get("Accept") == "" {
		t.Fatalf("left %v", h)
	}
	if !proxy.WebsocketUpgrade(http.Header{"Upgrade": {"WebSocket"}}) || proxy.WebsocketUpgrade(http.Header{"Upgrade": {"h2c"}}) {
		t.Fatal("WebsocketUpgrade misjudges")
	}
}
