package middleware_test

import (
	"net/http"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestEarlierFormatsOpenAndAreResealed: a pair sealed by the previous
// version (both cookies JSON, with a session id) and one sealed before
// sessions had ids still sign the user in, and come back in the compact
// format: the first by its access cookie alone (same session id, the
// refresh cookie untouched), the second by the refresh it always got. Then
// the pair opens by the compact path, and nobody was signed out.
func TestEarlierFormatsOpenAndAreResealed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seal      func(*middleware.Middleware, string, string, *middleware.Workspace) (string, string)
		refreshed bool // the refresh cookie is written too (a refresh)
	}{
		{"previous version, JSON with session id", middleware.SealJSONPair, false},
		{"earlier version, no session id", middleware.SealLegacyPair, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			access, refreshTok, err := h.qelos.IssuePair(qelostest.AdminEmail, acmeID)
			if err != nil {
				t.Fatal(err)
			}
			ws := &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}}
			sa, sr := tc.seal(h.mw, access, refreshTok, ws)
			if middleware.CompactCookie(h.mw, sa) {
				t.Fatal("the earlier format is already compact: the test proves nothing")
			}
			old := []*http.Cookie{{Name: accessCookie, Value: sa}, {Name: refreshCookie, Value: sr}}
			r := h.get("/whoami", old...)
			if r.status != http.StatusOK || r.whoami(t).User == nil || r.whoami(t).User.Email != qelostest.AdminEmail {
				t.Fatalf("the old pair did not sign in: %d %s", r.status, r.body)
			}
			if r.cleared(accessCookie) || r.cleared(refreshCookie) {
				t.Fatal("the old pair was cleared")
			}
			if ws := r.whoami(t).Workspace; ws == nil || ws.ID != acmeID {
				t.Fatalf("workspace %+v, want the sealed one", ws)
			}
			na, ok := r.cookies[accessCookie]
			if !ok || !middleware.CompactCookie(h.mw, na.Value) {
				t.Fatalf("the access cookie was not resealed in the compact format: %v", r.cookies)
			}
			next := []*http.Cookie{{Name: accessCookie, Value: na.Value}, {Name: refreshCookie, Value: sr}}
			if nr, ok := r.cookies[refreshCookie]; ok != tc.refreshed {
				t.Fatalf("refresh cookie written: %v, want %v", ok, tc.refreshed)
			} else if ok {
				next[1].Value = nr.Value
			} else if got, want := middleware.SessionID(h.mw, accessCookie, na.Value), middleware.SessionID(h.mw, refreshCookie, sr); got != want || got == "" {
				t.Fatalf("resealed session id %q, the refresh cookie's %q", got, want)
			}
			r = h.get("/whoami", next...)
			if r.status != http.StatusOK || r.whoami(t).User == nil {
				t.Fatalf("the resealed pair did not sign in: %d %s", r.status, r.body)
			}
			if len(r.cookies) != 0 {
				t.Fatalf("the resealed pair was written again: %v", r.cookies)
			}
		})
	}
}

// TestCompactPairRefusesMixedHalves: on its first sight, a compact access
// cookie beside the refresh cookie of another session is refused and the
// pair cleared, as is one with no refresh cookie; beside its own it signs
// in. Each pair is fresh, so no cache answers for it.
func TestCompactPairRefusesMixedHalves(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	p1, p2, p3, p4 := h.pair(qelostest.AdminEmail, acmeID, false), h.pair(qelostest.AdminEmail, acmeID, false),
		h.pair(qelostest.AdminEmail, acmeID, false), h.pair(qelostest.AdminEmail, acmeID, false)
	if !middleware.CompactCookie(h.mw, p1[0].Value) {
		t.Fatal("SealPair did not seal the compact format")
	}
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		ok      bool
	}{
		{"another session's refresh cookie", []*http.Cookie{p1[0], p2[1]}, false},
		{"no refresh cookie", p3[:1], false},
		{"its own pair", p4, true},
	} {
		r := h.get("/whoami", tc.cookies...)
		signedIn := r.status == http.StatusOK && r.whoami(t).User != nil
		if signedIn != tc.ok || r.cleared(accessCookie) == tc.ok {
			t.Errorf("%s: signed in %v, cleared %v; want signed in %v", tc.name, signedIn, r.cleared(accessCookie), tc.ok)
		}
	}
}
