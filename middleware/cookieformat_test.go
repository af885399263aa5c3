package middleware_test

import (
	"net/http"
	"testing"

	"github.com/gorilla/securecookie"
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

// previousReader opens an access cookie the way the version before the
// compact format did (ef5730f's cookieJar.open): securecookie with its
// JSON serializer, into the JSON fields that version knew.
func previousReader(keys []middleware.CookieKey, value string) (token, sid string, err error) {
	var codecs []securecookie.Codec
	for _, k := range keys {
		sc := securecookie.New(k.Hash, k.Block)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(0)
		codecs = append(codecs, sc)
	}
	var v struct {
		Token   string `json:"t"`
		Session string `json:"s,omitempty"`
	}
	if err := securecookie.DecodeMulti(middleware.DefaultAccessCookieName, value, &v, codecs...); err != nil {
		return "", "", err
	}
	return v.Token, v.Session, nil
}

// TestWriteLegacyFormatForRollingUpgrade: with Cookie.WriteLegacyFormat a
// pair this version seals (at sign-in, and at a refresh) opens in the
// previous version's reader, so a replica not yet upgraded keeps the user
// signed in; this version signs in with it, and does not reseal it in the
// compact format. Without the field the previous reader cannot open it.
func TestWriteLegacyFormatForRollingUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name       string
		legacy     bool
		wantOpened bool
	}{
		{"WriteLegacyFormat: the previous version reads it", true, true},
		{"default: compact, which the previous version cannot read", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) { c.Cookie.WriteLegacyFormat = tc.legacy })
			pairs := map[string][]*http.Cookie{"sign-in": h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)}
			r := h.get("/whoami", h.pair(qelostest.AdminEmail, "", true)...) // expired: refreshed now
			if r.whoami(t).User == nil {
				t.Fatalf("the expiring pair did not sign in: %d %s", r.status, r.body)
			}
			pairs["refresh"] = h.sessionCookies(r)
			for when, pair := range pairs {
				tok, sid, err := previousReader(h.cfg.CookieKeys, pair[0].Value)
				if opened := err == nil && tok != "" && sid != ""; opened != tc.wantOpened {
					t.Fatalf("%s: the previous reader opened the access cookie: %v (err %v), want %v", when, opened, err, tc.wantOpened)
				}
				if tc.legacy {
					if want := middleware.SessionID(h.mw, refreshCookie, pair[1].Value); sid != want {
						t.Fatalf("%s: session id %q, the refresh cookie's %q", when, sid, want)
					}
				}
				r := h.get("/whoami", pair...)
				if r.whoami(t).User == nil || len(r.cookies) != 0 {
					t.Fatalf("%s: this version did not sign in with the pair as it is: %d %s %v", when, r.status, r.body, r.cookies)
				}
			}
		})
	}
}
