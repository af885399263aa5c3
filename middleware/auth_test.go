package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestCachedSessionOpensItsTokenFromTheRequest: a cached session keeps no
// access token; AccessToken, on the Auth FromContext gives the request,
// opens it from the request's own access cookie, on the first sight of a
// pair and on every warm request after, for each format a pair may come
// in, and a Client made from it calls Qelos as the user.
func TestCachedSessionOpensItsTokenFromTheRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		seal func(*middleware.Middleware, string, string, *middleware.Workspace) (string, string)
	}{
		{"compact", middleware.SealPair},
		{"previous JSON format, resealed", middleware.SealJSONPair},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := qelostest.New(qelostest.Options{})
			t.Cleanup(q.Close)
			// The app's own API token is another user's: a user's Client
			// must never fall back to it when the session's token is not
			// in its cached Auth.
			service, err := q.IssueAPIToken(qelostest.UserEmail, "", time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			cfg := quietConfig(q.URL)
			cfg.APIToken = service
			mw, err := middleware.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, "")
			if err != nil {
				t.Fatal(err)
			}
			var got, me string
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, me = "", ""
				a, ok := middleware.FromContext(r.Context())
				if !ok {
					return
				}
				got = a.AccessToken()
				if c, ok := middleware.ClientFrom(r.Context()); ok {
					if u, err := c.Me(r.Context()); err == nil {
						me = u.Email
					}
				}
			}))
			sa, sr := tc.seal(mw, access, refreshTok, nil)
			for i, want := range []string{"first sight", "warm", "warm again"} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Cookie", accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if got != access {
					t.Fatalf("%s (request %d): AccessToken %.12q…, want the sealed token", want, i, got)
				}
				if me != qelostest.AdminEmail {
					t.Fatalf("%s: the Client called Qelos as %q", want, me)
				}
				for _, c := range rec.Result().Cookies() {
					if c.Name == accessCookie {
						sa = c.Value // resealed in the compact format
					}
				}
			}
			if middleware.CachedToken(mw, sa) {
				t.Fatal("the cached session keeps its access token")
			}
		})
	}
}
