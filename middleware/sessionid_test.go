package middleware_test

// One session identity: both cookies of a pair carry the session id; a pair
// whose halves disagree is refused; sign-out revokes the id for the
// refresh token's whole life, whatever Qelos does at that moment.

import (
	"bytes"
	"encoding/json"
	qelos "github.com/qelos-io/integrator-go"
	"net/http"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// mix returns the access cookie of one pair beside the refresh cookie of
// another.
func mix(accessOf, refreshOf []*http.Cookie) []*http.Cookie {
	return []*http.Cookie{accessOf[0], refreshOf[1]}
}

// later moves the middleware's clock past the access token's life (Qelos's
// default 300 minutes), well within the refresh token's 30 days.
func later(h *harness, d time.Duration) {
	middleware.SetClock(h.mw, func() time.Time { return time.Now().Add(d) })
}

// proxiedMe asks Qelos who the cookies belong to, through the app's proxy
// mounted outside Handler (it opens the pair itself).
func proxiedMe(t *testing.T, h *harness, cookies []*http.Cookie) (int, string) {
	t.Helper()
	proxy := newTestServer(t, h.mw.Proxy())
	req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/api/me", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u struct {
		ID string `json:"_id"`
	}
	json.NewDecoder(resp.Body).Decode(&u)
	return resp.StatusCode, u.ID
}

// TestThreatSignOutBypassMixedPair: the victim's stolen access cookie sent
// with the attacker's own valid refresh cookie never authenticates as the
// victim — on the cached path, when first opened (another replica), on
// the refresh path, or through the proxy — and after the victim signs out
// no cookie of the victim's session works, alone or mixed.
func TestThreatSignOutBypassMixedPair(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	victim := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	attacker := h.signIn(qelostest.UserEmail, qelostest.UserPassword)
	if r := h.get("/private", victim...); r.status != 200 || r.whoami(t).User.ID != qelostest.AdminID {
		t.Fatalf("victim's own pair: %d %s", r.status, r.body) // and now cached
	}
	asVictim := func(r reply) bool {
		return r.status == 200 && r.whoami(t).User != nil && r.whoami(t).User.ID == qelostest.AdminID
	}
	t.Run("cached path", func(t *testing.T) {
		rejected := h.eventCount(qelos.EventCookieRejected)
		r := h.get("/whoami", mix(victim, attacker)...)
		if asVictim(r) || r.whoami(t).User != nil || !r.cleared(accessCookie) {
			t.Fatalf("mixed pair on the cached path: %d %s, cleared %v", r.status, r.body, r.cleared(accessCookie))
		}
		if h.eventCount(qelos.EventCookieRejected) != rejected+1 {
			t.Fatal("no EventCookieRejected for the mixed pair")
		}
		if r := h.get("/private", victim...); r.status != 200 {
			t.Fatalf("the victim's own pair after the attempt: %d", r.status)
		}
	})
	t.Run("first opening, on another replica", func(t *testing.T) {
		other := newHarnessSharing(t, h)
		if r := other.get("/whoami", mix(victim, attacker)...); r.whoami(t).User != nil {
			t.Fatalf("mixed pair opened: %d %s", r.status, r.body)
		}
	})
	t.Run("refresh path", func(t *testing.T) {
		other := newHarnessSharing(t, h)
		later(other, 301*time.Minute)
		before := h.qelos.Calls(qelostest.EndpointRefresh)
		if r := other.get("/whoami", mix(victim, attacker)...); r.whoami(t).User != nil {
			t.Fatalf("mixed pair refreshed: %d %s", r.status, r.body)
		}
		if n := h.qelos.Calls(qelostest.EndpointRefresh) - before; n != 0 {
			t.Fatalf("%d refreshes for a mixed pair, want none", n)
		}
	})
	t.Run("proxy", func(t *testing.T) {
		if status, id := proxiedMe(t, h, mix(victim, attacker)); id == qelostest.AdminID {
			t.Fatalf("the proxy answered %d as the victim", status)
		}
	})
	t.Run("after sign-out", func(t *testing.T) {
		if r := h.do(http.MethodPost, "/auth/signout", nil, "", victim...); r.status != 204 {
			t.Fatalf("sign-out: %d", r.status)
		}
		for name, cookies := range map[string][]*http.Cookie{
			"the old pair":                   victim,
			"the access cookie alone":        victim[:1],
			"victim's access, attacker's rt": mix(victim, attacker),
		} {
			if r := h.get("/whoami", cookies...); r.whoami(t).User != nil {
				t.Errorf("%s after sign-out: %d %s", name, r.status, r.body)
			}
			if status, id := proxiedMe(t, h, cookies); id == qelostest.AdminID {
				t.Errorf("%s after sign-out, through the proxy: %d as the victim", name, status)
			}
		}
		if r := h.get("/private", attacker...); r.status != 200 {
			t.Fatalf("the attacker's own session suffered: %d", r.status)
		}
	})
}

// TestSessionIDIsKept: the id sealed at sign-in is in both cookies, and
// the same after a refresh and after a workspace switch; each sign-in has
// an id of its own.
func TestSessionIDIsKept(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	id := func(cookies []*http.Cookie) string {
		t.Helper()
		a := middleware.SessionID(h.mw, cookies[0].Name, cookies[0].Value)
		r := middleware.SessionID(h.mw, cookies[1].Name, cookies[1].Value)
		if a == "" || a != r {
			t.Fatalf("access cookie id %q, refresh cookie id %q", a, r)
		}
		return a
	}
	first := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	sid := id(first)
	if other := id(h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)); other == sid {
		t.Fatal("two sign-ins share a session id")
	}
	later(h, 301*time.Minute)
	r := h.get("/private", first...)
	refreshed := h.sessionCookies(r)
	if got := id(refreshed); got != sid {
		t.Fatalf("refresh changed the session id")
	}
	s := h.do(http.MethodPost, "/auth/workspace", form("id", qelostest.BetaWorkspaceID), "application/x-www-form-urlencoded", refreshed...)
	if s.status != 200 {
		t.Fatalf("switch: %d %s", s.status, s.body)
	}
	if got := id(h.sessionCookies(s)); got != sid {
		t.Fatalf("workspace switch changed the session id")
	}
}

// TestSignOutFinalWhenQelosFails: sign-out is recorded before Qelos is
// asked, for the refresh token's whole life, so the old pair never comes
// back — not when the access token had expired and the refresh at
// sign-out failed, not when /api/logout failed or timed out — on the
// cached path and on the refresh path, up to the refresh token's last day.
// (Other replicas learn it through a shared refresh.Revoker store.)
func TestSignOutFinalWhenQelosFails(t *testing.T) {
	tests := []struct {
		name     string
		expired  bool // the access token has expired at sign-out
		endpoint string
		fault    qelostest.Fault
	}{
		{"expired access token, refresh at sign-out fails", true, qelostest.EndpointRefresh, qelostest.Fault{Status: 503}},
		{"expired access token, refresh at sign-out times out", true, qelostest.EndpointRefresh, qelostest.Fault{Delay: time.Second}},
		{"logout answers 503", false, qelostest.EndpointLogout, qelostest.Fault{Status: 503}},
		{"logout times out", false, qelostest.EndpointLogout, qelostest.Fault{Delay: time.Second}},
		{"logout connection dropped", false, qelostest.EndpointLogout, qelostest.Fault{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Limits.UpstreamTimeout = 200 * time.Millisecond })
			old := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
			if r := h.get("/private", old...); r.status != 200 {
				t.Fatalf("before sign-out: %d", r.status) // cached
			}
			if tt.expired {
				later(h, 301*time.Minute)
			}
			h.qelos.InjectFault(tt.endpoint, tt.fault)
			if r := h.do(http.MethodPost, "/auth/signout", nil, "", old...); r.status != 204 || !r.cleared(accessCookie) {
				t.Fatalf("sign-out: %d", r.status)
			}
			h.qelos.ClearFaults()
			// Qelos answers again, and still holds the session's refresh
			// token: only the app's own record keeps the session out.
			for _, at := range []time.Duration{0, 301 * time.Minute, 29 * 24 * time.Hour} {
				later(h, at)
				// Known to be over: refused and cleared, not kept as a
				// transient fault would be.
				if r := h.get("/whoami", old...); r.whoami(t).User != nil || !r.cleared(accessCookie) || !r.cleared(refreshCookie) {
					t.Fatalf("%v after sign-out: %d %s, cookies %v", at, r.status, r.body, r.cookies)
				}
			}
		})
	}
}

// TestLegacyPairStaysSignedIn: a pair sealed by an earlier version (no
// session id) is renewed at its first request — its refresh token
// exchanged, the new pair given an id — without signing anyone out, and
// the renewed pair then serves from the cache.
func TestLegacyPairStaysSignedIn(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	access, refreshTok, err := h.qelos.IssuePair(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	ws := &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}}
	sa, sr := middleware.SealLegacyPair(h.mw, access, refreshTok, ws)
	legacy := []*http.Cookie{{Name: accessCookie, Value: sa}, {Name: refreshCookie, Value: sr}}
	r := h.get("/private", legacy...)
	if r.status != 200 || r.whoami(t).User.ID != qelostest.AdminID || r.whoami(t).Workspace == nil || r.whoami(t).Workspace.ID != acmeID {
		t.Fatalf("legacy pair: %d %s", r.status, r.body)
	}
	renewed := h.sessionCookies(r)
	if middleware.SessionID(h.mw, renewed[0].Name, renewed[0].Value) == "" {
		t.Fatal("the renewed pair has no session id")
	}
	before := h.qelos.Calls(qelostest.EndpointRefresh)
	if r := h.get("/private", renewed...); r.status != 200 || len(r.cookies) != 0 {
		t.Fatalf("renewed pair: %d, cookies %v", r.status, r.cookies)
	}
	// Requests still carrying the legacy pair (sent before the renewed one
	// arrived) get the same session, from the recorded outcome.
	again := h.get("/private", legacy...)
	if again.status != 200 || h.qelos.Calls(qelostest.EndpointRefresh) != before {
		t.Fatalf("legacy straggler: %d, %d more refreshes", again.status, h.qelos.Calls(qelostest.EndpointRefresh)-before)
	}
	if a, b := middleware.SessionID(h.mw, renewed[1].Name, renewed[1].Value), middleware.SessionID(h.mw, refreshCookie, h.sessionCookies(again)[1].Value); a != b {
		t.Fatal("two requests with one legacy pair started two sessions")
	}
}

// TestThreatLegacyMixedPair: the victim's access cookie sealed by an
// earlier version, sent with the attacker's refresh cookie (legacy or new),
// never authenticates as the victim, on the cached or the cold path.
func TestThreatLegacyMixedPair(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	vAccess, vRefresh, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
	aAccess, aRefresh, _ := h.qelos.IssuePair(qelostest.UserEmail, "")
	va, vr := middleware.SealLegacyPair(h.mw, vAccess, vRefresh, nil)
	_, ar := middleware.SealLegacyPair(h.mw, aAccess, aRefresh, nil)
	_, newAR := middleware.SealPair(h.mw, aAccess, aRefresh, nil)
	if r := h.get("/private", &http.Cookie{Name: accessCookie, Value: va}, &http.Cookie{Name: refreshCookie, Value: vr}); r.status != 200 {
		t.Fatalf("victim's legacy pair: %d", r.status)
	}
	for name, attackerRefresh := range map[string]string{"legacy refresh cookie": ar, "new refresh cookie": newAR} {
		for _, hh := range []*harness{h, newHarnessSharing(t, h)} {
			r := hh.get("/whoami", &http.Cookie{Name: accessCookie, Value: va}, &http.Cookie{Name: refreshCookie, Value: attackerRefresh})
			if u := r.whoami(t).User; u != nil && u.ID == qelostest.AdminID {
				t.Fatalf("victim's legacy access cookie with the attacker's %s: signed in as the victim", name)
			}
		}
	}
	if r := h.get("/whoami", &http.Cookie{Name: accessCookie, Value: va}); r.whoami(t).User != nil {
		t.Fatalf("a legacy access cookie alone: %d %s", r.status, r.body)
	}
}

// TestLegacySignOutIsFinal: a legacy pair signed out (Qelos's logout
// failing) stays out, and so does the renewed pair its refresh token
// would have given.
func TestLegacySignOutIsFinal(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	access, refreshTok, _ := h.qelos.IssuePair(qelostest.AdminEmail, "")
	sa, sr := middleware.SealLegacyPair(h.mw, access, refreshTok, nil)
	legacy := []*http.Cookie{{Name: accessCookie, Value: sa}, {Name: refreshCookie, Value: sr}}
	h.qelos.InjectFault(qelostest.EndpointLogout, qelostest.Fault{Status: 503})
	if r := h.do(http.MethodPost, "/auth/signout", bytes.NewReader(nil), "", legacy...); r.status != 204 {
		t.Fatalf("sign-out: %d", r.status)
	}
	for _, cookies := range [][]*http.Cookie{legacy, legacy[1:]} {
		if r := h.get("/whoami", cookies...); r.whoami(t).User != nil {
			t.Fatalf("legacy cookies after sign-out: %d %s", r.status, r.body)
		}
	}
}
