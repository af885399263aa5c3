package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

func TestSocialLoginURL(t *testing.T) {
	got := middleware.SocialLoginURL("google", "s1", "/auth/callback", "https://app.example/api/auth/google/callback")
	u, err := url.Parse(got)
	if err != nil || u.Path != "/api/auth/google" || u.Host != "" {
		t.Fatalf("%q", got)
	}
	q := u.Query()
	if q.Get("state") != "s1" || q.Get("returnUrl") != "/auth/callback" || q.Get("redirectUrl") != "https://app.example/api/auth/google/callback" {
		t.Fatalf("query %v", q)
	}
	if got := middleware.SocialLoginURL("github", "", "", ""); got != "/api/auth/github" {
		t.Fatalf("%q", got)
	}
}

// socialApp serves the social handlers behind the middleware.
func socialApp(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, qelostest.Options{}, nil)
	mux := appMux(h.mw)
	mux.Handle("GET /auth/google", h.mw.SocialLoginHandler("google", "/auth/callback"))
	mux.Handle("GET /auth/callback", h.mw.SocialCallbackHandler())
	h.app = newTestServer(t, h.mw.Handler(mux))
	return h
}

// startSocial begins a sign-in and returns the state Qelos would carry
// back and the state cookie the browser now holds.
func startSocial(t *testing.T, h *harness, returnTo string) (string, *http.Cookie) {
	t.Helper()
	r := h.get("/auth/google?returnTo=" + url.QueryEscape(returnTo))
	if r.status != http.StatusFound {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	if loc.Path != "/api/auth/google" || loc.Query().Get("returnUrl") != "/auth/callback" ||
		!strings.HasSuffix(loc.Query().Get("redirectUrl"), "/api/auth/google/callback") {
		t.Fatalf("start redirects to %q", loc)
	}
	c := r.cookies[middleware.HostPrefix+"q_social_state"]
	if c == nil || !c.HttpOnly || c.MaxAge <= 0 || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("state cookie %+v", c)
	}
	return loc.Query().Get("state"), &http.Cookie{Name: c.Name, Value: c.Value}
}

func TestSocialCallback(t *testing.T) {
	t.Run("completes the sign-in and redirects without rt", func(t *testing.T) {
		h := socialApp(t)
		state, stateCookie := startSocial(t, h, "/dashboard")
		_, rt, _ := h.qelos.IssuePair(qelostest.AdminEmail, acmeID)
		r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, stateCookie)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
			t.Fatalf("%d Location %q %s", r.status, r.header.Get("Location"), r.body)
		}
		if !r.cleared(middleware.HostPrefix + "q_social_state") {
			t.Fatal("the state cookie was not cleared")
		}
		if w := h.get("/private", h.sessionCookies(r)...).whoami(t); w.User == nil || w.User.Email != qelostest.AdminEmail {
			t.Fatalf("after the callback: %+v", w)
		}
		// A double-submitted callback (inside the grace window) gets the same
		// session without spending anything at Qelos again.
		state2, cookie2 := startSocial(t, h, "/")
		h.qelos.ResetCalls()
		again := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state2, cookie2)
		if again.status != http.StatusSeeOther || h.qelos.Calls(qelostest.EndpointRefresh) != 0 {
			t.Fatalf("replay: %d, %d refreshes", again.status, h.qelos.Calls(qelostest.EndpointRefresh))
		}
		a1, _ := h.tokens(r.cookies)
		a2, _ := h.tokens(again.cookies)
		if a1 != a2 {
			t.Fatal("the replayed callback got another pair")
		}
	})
	tests := []struct {
		name       string
		stateOK    bool
		withCookie bool
		rt         string
		fault      *qelostest.Fault
		want       int
		code       string
	}{
		{"no rt", true, true, "", nil, 400, "INVALID_INPUT"},
		{"state does not match (login CSRF)", false, true, "live", nil, 403, "FORBIDDEN"},
		{"no state cookie", true, false, "live", nil, 403, "FORBIDDEN"},
		{"rt rejected by Qelos", true, true, "forged-refresh-token", nil, 401, "UNAUTHORIZED"},
		{"Qelos down", true, true, "live", &qelostest.Fault{Drop: true}, 503, "QELOS_UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := socialApp(t)
			state, stateCookie := startSocial(t, h, "/")
			if !tt.stateOK {
				state = "attacker-state"
			}
			rt := tt.rt
			if rt == "live" {
				_, rt, _ = h.qelos.IssuePair(qelostest.AdminEmail, "")
			}
			if tt.fault != nil {
				h.qelos.InjectFault(qelostest.EndpointRefresh, *tt.fault)
			}
			var cookies []*http.Cookie
			if tt.withCookie {
				cookies = append(cookies, stateCookie)
			}
			r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, cookies...)
			if r.status != tt.want || !strings.Contains(string(r.body), tt.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.want, tt.code)
			}
			if _, set := r.cookies[accessCookie]; set {
				t.Fatal("a failed callback set a session")
			}
		})
	}
	t.Run("a foreign returnTo falls back to /", func(t *testing.T) {
		h := socialApp(t)
		state, stateCookie := startSocial(t, h, "//evil.example")
		_, rt, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
		if r := h.get("/auth/callback?rt="+url.QueryEscape(rt)+"&state="+state, stateCookie); r.header.Get("Location") != "/" {
			t.Fatalf("Location %q", r.header.Get("Location"))
		}
	})
}
