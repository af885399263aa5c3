package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestThreatRevokedAPIKeyLivesOn: an API key revoked through the app (its
// Client) or through the /api proxy (DELETE /api/me/api-tokens/{id}, the
// proxy mounted inside Handler or outside it) is refused by this replica
// at once, although its identity was cached; the user's other key keeps
// working. (Other replicas: see refresh/redisstore's
// TestRevokedAPIKeyOnEveryReplica.)
func TestThreatRevokedAPIKeyLivesOn(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(t *testing.T, h *harness, session []*http.Cookie, id string)
	}{
		{"through the app's Client", func(t *testing.T, h *harness, session []*http.Cookie, id string) {
			if err := withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) error { return c.RevokeAPIToken(ctx, id) }); err != nil {
				t.Fatal(err)
			}
		}},
		{"through Client.Do", func(t *testing.T, h *harness, session []*http.Cookie, id string) {
			if err := withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "/api/me/api-tokens/"+id, nil)
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"through the proxy inside Handler", func(t *testing.T, h *harness, session []*http.Cookie, id string) {
			if r := h.do(http.MethodDelete, "/api/me/api-tokens/"+id, nil, "", session...); r.status != 200 {
				t.Fatalf("proxied revocation: %d %s", r.status, r.body)
			}
		}},
		{"through the proxy outside Handler", func(t *testing.T, h *harness, session []*http.Cookie, id string) {
			proxy := newTestServer(t, h.mw.Proxy())
			req, _ := http.NewRequest(http.MethodDelete, proxy.URL+"/API/me/api-tokens/"+id+"/", nil)
			for _, c := range session {
				req.AddCookie(c)
			}
			if r := h.send(req); r.status != 200 {
				t.Fatalf("proxied revocation: %d %s", r.status, r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Limits.IdentityTTL = time.Hour })
			mux := appMux(h.mw)
			mux.Handle("/api/", h.mw.Proxy())
			h.app = newTestServer(t, h.mw.Handler(mux))
			session := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
			keys := make([]string, 2)
			var revoked string
			for i := range keys {
				if err := withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) (err error) {
					var tok *qelosapi.APIToken
					keys[i], tok, err = c.CreateAPIToken(ctx, qelosapi.NewAPIToken{Nickname: "ci", ExpiresAt: time.Now().Add(time.Hour)})
					if i == 0 {
						revoked = tok.ID
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			use := func(key string) int {
				req := httptest.NewRequest(http.MethodGet, h.app.URL+"/private", nil)
				req.RequestURI = ""
				req.Header.Set("X-Api-Key", key)
				return h.send(req).status
			}
			for _, k := range keys {
				if s := use(k); s != 200 {
					t.Fatalf("before: %d", s) // and cached for an hour
				}
			}
			tt.revoke(t, h, session, revoked)
			if s := use(keys[0]); s != 401 {
				t.Fatalf("the revoked key answered %d right after its revocation", s)
			}
			if s := use(keys[1]); s != 200 {
				t.Fatalf("the user's other key answered %d", s)
			}
		})
	}
}
