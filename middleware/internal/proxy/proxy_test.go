package proxy_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	qelos "github.com/qelos-io/integrator-go"

	"github.com/qelos-io/integrator-go/middleware/internal/proxy"
)

// TestRefuse: a dot-segment is found at any depth of percent-encoding, a
// path over 8 KiB and a WebSocket upgrade are refused; an honest request
// passes.
func TestRefuse(t *testing.T) {
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
		r := httptest.NewRequest("GET", "http://app.example"+strings.ReplaceAll(tt.path, `\`, "%5c"), nil)
		if got := proxy.Refuse(r) != nil; got != tt.want {
			t.Errorf("Refuse(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	long := httptest.NewRequest("GET", "/api/"+strings.Repeat("a", 8<<10), nil)
	ws := httptest.NewRequest("GET", "/api/socket", nil)
	ws.Header.Set("Upgrade", "WebSocket")
	h2c := httptest.NewRequest("GET", "/api/x", nil)
	h2c.Header.Set("Upgrade", "h2c")
	for _, tt := range []struct {
		name   string
		r      *http.Request
		status int
	}{{"long path", long, 414}, {"websocket", ws, 400}, {"h2c", h2c, 0}} {
		var e *qelos.Error
		err := proxy.Refuse(tt.r)
		if got := 0; errors.As(err, &e) {
			got = e.Status
			if got != tt.status {
				t.Errorf("%s: %d, want %d", tt.name, got, tt.status)
			}
		} else if err != nil || tt.status != 0 {
			t.Errorf("%s: %v, want %d", tt.name, err, tt.status)
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
}
