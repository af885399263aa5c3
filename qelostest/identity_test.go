package qelostest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Timing transcripts G2–G6: a cookie older than CookieRotateAfter is rotated by
// any authenticated request; the old one keeps working for /api/me.
func TestCookieRotation(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, CookieRotateAfter: 2 * time.Second, RouteCookieRefresh: true})
	old := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	if r := call(t, s, "GET", "/api/me", cookie(old), nil); r.header.Get("Set-Cookie") != "" {
		t.Fatal("fresh cookie rotated")
	}
	clk.Advance(3 * time.Second)
	r := call(t, s, "GET", "/api/me", cookie(old), nil) // G2
	r.want(t, 200, meAdminAcme)
	if !regexp.MustCompile(`^qlt_0=[^;]+; Max-Age=2592000; Domain=127\.0\.0\.1; Path=/api; Expires=Sun, 27 Dec 2026 02:40:04 GMT; HttpOnly; Secure; SameSite=None$`).MatchString(r.header.Get("Set-Cookie")) {
		t.Fatalf("rotation Set-Cookie = %q", r.header.Get("Set-Cookie"))
	}
	rotated := cookieValue(t, r)
	if !strings.HasPrefix(claims(t, rotated)["tokenIdentifier"].(string), "1795747204995:") {
		t.Errorf("rotated identifier = %v", claims(t, rotated)["tokenIdentifier"])
	}

	r = call(t, s, "GET", "/api/me", cookie(old), nil) // G3: old still accepted, not rotated again
	r.want(t, 200, meAdminAcme)
	if r.header.Get("Set-Cookie") != "" {
		t.Error("rotated-away cookie rotated again")
	}
	call(t, s, "POST", "/api/cookie/refresh", cookie(old), nil).want(t, 401, "") // G4
	call(t, s, "POST", "/api/logout", cookie(rotated), nil).want(t, 200, "")     // G5
	clk.Advance(3 * time.Second)
	call(t, s, "GET", "/api/me", cookie(rotated), nil).want(t, 200, meAdminAcme) // G6
}

// Transcripts 2, 3, 15, 21, 26–31, 44 and spec 3.5: credential
// precedence of GET /api/me.
func TestMePrecedence(t *testing.T) {
	s := start(t, Options{})
	cr := call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword})
	sessionCookie := cookieValue(t, cr)
	access, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	userAccess, _ := oauthPair(t, s, UserEmail, UserPassword)
	key, err := s.IssueAPIToken(AdminEmail, "", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	scopedKey, _ := s.IssueAPIToken(AdminEmail, AcmeWorkspaceID, time.Now().Add(time.Hour))
	expiredKey, _ := s.IssueAPIToken(AdminEmail, "", time.Now().Add(-time.Second))
	expiredAccess, _ := s.IssueAccessToken(AdminEmail, "", -time.Second)
	userCookieViaHelper, _ := s.IssueCookie(UserEmail, "")

	tests := []struct {
		name   string
		h      http.Header
		status int
		body   string
	}{
		{"transcript 3: no credentials", nil, 401, bodyNotLoggedIn},
		{"transcript 2: cookie", cookie(sessionCookie), 200, meAdminAcme},
		{"cookie named token", header("Cookie", "token="+sessionCookie), 200, meAdminAcme},
		{"transcript 15: bearer", bearer(access), 200, meAdminAcme},
		{"transcript 44: regular user bearer", bearer(userAccess), 200, meUser},
		{"scheme is not checked", header("Authorization", "Token "+access), 200, meAdminAcme},
		{"transcript 21: garbage bearer", bearer("not.a.jwt"), 401, bodyBadBearer},
		{"bearer without token", header("Authorization", "Bearer"), 500, typeErrorPage},
		{"bearer with an empty token", header("Authorization", "Bearer  "+access), 401, bodyNotLoggedIn},
		{"expired bearer", bearer(expiredAccess), 401, bodyBadBearer},
		{"transcript 26: x-api-key", header("X-Api-Key", key), 200, meAdminPlain},
		{"transcript 27: scoped x-api-key", header("x-api-key", scopedKey), 200, meAdminKeyWS},
		{"transcript 30: unknown x-api-key", header("x-api-key", "ql_0000000000000000000000000000000000000000000000000000000000000000"), 401, bodyBadKey},
		{"expired x-api-key", header("x-api-key", expiredKey), 401, bodyBadKey},
		{"transcript 31: bad x-api-key beats valid cookie", header("x-api-key", "nope", "Cookie", "qlt_0="+sessionCookie), 401, bodyBadKey},
		{"x-api-key beats cookie and bearer", header("x-api-key", key, "Cookie", "qlt_0="+userCookieViaHelper, "Authorization", "Bearer "+userAccess), 200, meAdminPlain},
		{"cookie beats bearer", header("Cookie", "qlt_0="+userCookieViaHelper, "Authorization", "Bearer "+access), 200, meUser},
		{"stale cookie does not fall back to bearer", header("Cookie", "qlt_0=garbage", "Authorization", "Bearer "+access), 401, bodyNotLoggedIn},
		{"refresh token is no bearer", bearer(mustRefresh(t, s)), 401, bodyBadBearer},
		{"empty cookie is absent", header("Cookie", "qlt_0=", "Authorization", "Bearer "+access), 200, meAdminAcme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "GET", "/api/me", tt.h, nil).want(t, tt.status, tt.body)
		})
	}
}
