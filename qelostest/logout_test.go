package qelostest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Transcripts #34–#36: cookie logout clears the cookie and deletes the
// record; the JWT keeps working for /api/me but not for cookie refresh.
func TestLogoutCookie(t *testing.T) {
	clk := newClock(captureTime)
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
	call(t, s, "GET", "/api/me", cookie(tok), nil).want(t, 200, meAdminAcme)                     // #35
	call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil).want(t, 401, "")                 // #36
	call(t, s, "POST", "/api/logout", nil, nil).want(t, 401, bodyNotLoggedIn)                    // #40
	call(t, s, "POST", "/api/logout", cookie("garbage"), nil).want(t, 401, bodyNotLoggedIn)      // invalid cookie is anonymous
	call(t, s, "POST", "/api/logout", bearer("garbage"), nil).want(t, 401, bodyBadBearer)        // invalid bearer
	call(t, s, "POST", "/api/logout", header("x-api-key", "ql_x"), nil).want(t, 401, bodyBadKey) // invalid key
}

// Transcripts #37–#39: bearer logout revokes the paired refresh token only.
func TestLogoutBearer(t *testing.T) {
	clk := newClock(captureTime)
	s := start(t, Options{Now: clk.Now, RouteCookieRefresh: true})
	access, rt := oauthPair(t, s, AdminEmail, AdminPassword)
	clk.Advance(time.Second) // same claims in the same second give the same access token
	_, otherRT := oauthPair(t, s, AdminEmail, AdminPassword)

	r := call(t, s, "POST", "/api/logout", bearer(access), nil)
	r.want(t, 200, "")
	if r.header.Get("Set-Cookie") != "" {
		t.Error("bearer logout set a cookie")
	}
	call(t, s, "POST", "/api/token/refresh", bearer(rt), nil).want(t, 401, "")  // #38
	call(t, s, "GET", "/api/me", bearer(access), nil).want(t, 200, meAdminAcme) // #39
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

// Transcripts #7–#9: cookie refresh with the cookie or the bearer token.
func TestCookieRefresh(t *testing.T) {
	clk := newClock(captureTime)
	s := start(t, Options{Now: clk.Now, RouteCookieRefresh: true})
	tok := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	r := call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil) // #7
	var p struct {
		Payload struct {
			CookieToken string `json:"cookieToken"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	tok2 := p.Payload.CookieToken
	r.want(t, 200, `{"payload":{"user":{"_id":"6b08ed3053ba253bfa2e98e9","username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","roles":["admin"]},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme%20Team","roles":["admin","user"],"labels":[]},"cookieToken":"`+tok2+`"}}`)
	if cookieValue(t, r) != tok2 {
		t.Error("Set-Cookie differs from cookieToken")
	}
	if claims(t, tok2)["tokenIdentifier"] == claims(t, tok)["tokenIdentifier"] {
		t.Error("identifier not rotated")
	}
	call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil).want(t, 401, "") // #8

	r = call(t, s, "POST", "/api/cookie/refresh", header("Authorization", "bearer "+tok2), nil) // #9
	if r.status != 200 {
		t.Fatalf("bearer cookie refresh: %d", r.status)
	}
	call(t, s, "POST", "/api/cookie/refresh", nil, nil).want(t, 401, "")
	access, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	call(t, s, "POST", "/api/cookie/refresh", bearer(access), nil).want(t, 401, "") // no record
}

// Transcript G #2–#6: a cookie older than CookieRotateAfter is rotated by
// any authenticated request; the old one keeps working for /api/me.
func TestCookieRotation(t *testing.T) {
	clk := newClock(captureTime)
	s := start(t, Options{Now: clk.Now, CookieRotateAfter: 2 * time.Second, RouteCookieRefresh: true})
	old := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	if r := call(t, s, "GET", "/api/me", cookie(old), nil); r.header.Get("Set-Cookie") != "" {
		t.Fatal("fresh cookie rotated")
	}
	clk.Advance(3 * time.Second)
	r := call(t, s, "GET", "/api/me", cookie(old), nil) // G#2
	r.want(t, 200, meAdminAcme)
	if !regexp.MustCompile(`^qlt_0=[^;]+; Max-Age=2592000; Domain=127\.0\.0\.1; Path=/api; Expires=Sun, 27 Dec 2026 02:40:04 GMT; HttpOnly; Secure; SameSite=None$`).MatchString(r.header.Get("Set-Cookie")) {
		t.Fatalf("rotation Set-Cookie = %q", r.header.Get("Set-Cookie"))
	}
	rotated := cookieValue(t, r)
	if !strings.HasPrefix(claims(t, rotated)["tokenIdentifier"].(string), "1795747204995:") {
		t.Errorf("rotated identifier = %v", claims(t, rotated)["tokenIdentifier"])
	}

	r = call(t, s, "GET", "/api/me", cookie(old), nil) // G#3: old still accepted, not rotated again
	r.want(t, 200, meAdminAcme)
	if r.header.Get("Set-Cookie") != "" {
		t.Error("rotated-away cookie rotated again")
	}
	call(t, s, "POST", "/api/cookie/refresh", cookie(old), nil).want(t, 401, "") // G#4
	call(t, s, "POST", "/api/logout", cookie(rotated), nil).want(t, 200, "")     // G#5
	clk.Advance(3 * time.Second)
	call(t, s, "GET", "/api/me", cookie(rotated), nil).want(t, 200, meAdminAcme) // G#6
}
