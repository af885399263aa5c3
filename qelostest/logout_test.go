package qelostest

import (
	"testing"
	"time"
)

// Transcripts 34–36: cookie logout clears the cookie and deletes the
// record; the JWT keeps working for /api/me but not for cookie refresh.
func TestLogoutCookie(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, RouteCookieRefresh: true})
	tok := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	r := call(t, s, "POST", "/api/logout", cookie(tok), nil)
	r.want(t, 200, "")
	if got, want := r.header.Get("Set-Cookie"), "qlt_0=; Max-Age=-1; Domain=127.0.0.1; Path=/api; Expires=Fri, 27 Nov 2026 02:40:01 GMT; HttpOnly; Secure; SameSite=None"; got != want {
		t.Errorf("Set-Cookie\n got %s\nwant %s", got, want)
	}
	if r.header.Get("Content-Length") != "0" {
		t.Errorf("Content-Length = %q", r.header.Get("Content-Length"))
	}
	call(t, s, "GET", "/api/me", cookie(tok), nil).want(t, 200, meAdminAcme)                     // transcript 35
	call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil).want(t, 401, "")                 // transcript 36
	call(t, s, "POST", "/api/logout", nil, nil).want(t, 401, bodyNotLoggedIn)                    // transcript 40
	call(t, s, "POST", "/api/logout", cookie("garbage"), nil).want(t, 401, bodyNotLoggedIn)      // invalid cookie is anonymous
	call(t, s, "POST", "/api/logout", bearer("garbage"), nil).want(t, 401, bodyBadBearer)        // invalid bearer
	call(t, s, "POST", "/api/logout", header("x-api-key", "ql_x"), nil).want(t, 401, bodyBadKey) // invalid key
}

// Transcripts 37–39: bearer logout revokes the paired refresh token only.
func TestLogoutBearer(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, RouteCookieRefresh: true})
	access, rt := oauthPair(t, s, AdminEmail, AdminPassword)
	clk.Advance(time.Second) // same claims in the same second give the same access token
	_, otherRT := oauthPair(t, s, AdminEmail, AdminPassword)

	r := call(t, s, "POST", "/api/logout", bearer(access), nil)
	r.want(t, 200, "")
	if r.header.Get("Set-Cookie") != "" {
		t.Error("bearer logout set a cookie")
	}
	call(t, s, "POST", "/api/token/refresh", bearer(rt), nil).want(t, 401, "")  // transcript 38
	call(t, s, "GET", "/api/me", bearer(access), nil).want(t, 200, meAdminAcme) // transcript 39
	// The other session is untouched.
	if r := call(t, s, "POST", "/api/token/refresh", bearer(otherRT), nil); r.status != 200 {
		t.Fatalf("other session's refresh: %d", r.status)
	}

	// A refreshed access token is paired with the new refresh token.
	_, r2, _ := s.IssuePair(AdminEmail, "")
	clk.Advance(time.Second)
	_, p := refresh(t, s, r2)
	call(t, s, "POST", "/api/logout", bearer(p.Payload.Token), nil).want(t, 200, "")
	call(t, s, "POST", "/api/token/refresh", bearer(p.Payload.RefreshToken), nil).want(t, 401, "")
}
