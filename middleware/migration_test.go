package middleware_test

import (
	"net/http"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestMigratingRawCookiesFromNodeIntegrators holds docs/MIGRATING.md to
// the code: a raw (unsealed) q_access_token/q_refresh_token pair the Node
// integrators set is ignored under the default __Host- names (the request
// is anonymous and the browser keeps the cookies until they expire), and
// rejected and cleared when DisableCookieHostPrefix keeps the old names.
func TestMigratingRawCookiesFromNodeIntegrators(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(*middleware.Config)
		wantCleared bool
	}{
		{"default __Host- names: ignored, left in the browser", nil, false},
		{"Cookie.DisableHostPrefix: rejected and cleared", func(c *middleware.Config) { c.Cookie.DisableHostPrefix = true }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, tt.mutate)
			access, refresh, err := h.qelos.IssuePair(qelostest.AdminEmail, "")
			if err != nil {
				t.Fatal(err)
			}
			r := h.get("/whoami",
				&http.Cookie{Name: middleware.DefaultAccessCookieName, Value: access},
				&http.Cookie{Name: middleware.DefaultRefreshCookieName, Value: refresh})
			if w := r.whoami(t); w.User != nil {
				t.Fatalf("a raw Qelos pair signed in: %+v", w.User)
			}
			cleared := r.cleared(middleware.DefaultAccessCookieName) && r.cleared(middleware.DefaultRefreshCookieName)
			if cleared != tt.wantCleared {
				t.Fatalf("cleared %v, want %v (Set-Cookie %v)", cleared, tt.wantCleared, r.header.Values("Set-Cookie"))
			}
		})
	}
}
