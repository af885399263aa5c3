package qelostest

import (
	"net/http"
	"testing"
	"time"
)

const (
	meAdminAcme  = `{"_id":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","name":"Ada Admin","firstName":"Ada","lastName":"Admin","fullName":"Ada Admin","roles":["admin"],"metadata":{},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme%20Team","roles":["admin","user"],"labels":[]}}`
	meAdminPlain = `{"_id":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","name":"Ada Admin","firstName":"Ada","lastName":"Admin","fullName":"Ada Admin","roles":["admin"],"metadata":{}}`
	meAdminKeyWS = `{"_id":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","name":"Ada Admin","firstName":"Ada","lastName":"Admin","fullName":"Ada Admin","roles":["admin"],"metadata":{},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","roles":["admin","user"],"labels":[]}}`
	meUser       = `{"_id":"6b08ed31a15f3cecd283657c","tenant":"0","username":"user@example.com","email":"user@example.com","name":"Uma User","firstName":"Uma","lastName":"User","fullName":"Uma User","roles":["user"],"metadata":{}}`

	bodyNotLoggedIn = `{"message":"you are not authorized. must be logged in."}`
	bodyBadBearer   = `{"message":"authorization token is not valid."}`
	bodyBadKey      = `{"message":"Invalid or expired API token"}`
)

// Transcripts #2, #3, #15, #21, #26–#31, #44 and spec 3.5: credential
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
		{"#3 no credentials", nil, 401, bodyNotLoggedIn},
		{"#2 cookie", cookie(sessionCookie), 200, meAdminAcme},
		{"cookie named token", header("Cookie", "token="+sessionCookie), 200, meAdminAcme},
		{"#15 bearer", bearer(access), 200, meAdminAcme},
		{"#44 regular user bearer", bearer(userAccess), 200, meUser},
		{"scheme is not checked", header("Authorization", "Token "+access), 200, meAdminAcme},
		{"#21 garbage bearer", bearer("not.a.jwt"), 401, bodyBadBearer},
		{"bearer without token", header("Authorization", "Bearer"), 500, typeErrorPage},
		{"bearer with an empty token", header("Authorization", "Bearer  "+access), 401, bodyNotLoggedIn},
		{"expired bearer", bearer(expiredAccess), 401, bodyBadBearer},
		{"#26 x-api-key", header("X-Api-Key", key), 200, meAdminPlain},
		{"#27 scoped x-api-key", header("x-api-key", scopedKey), 200, meAdminKeyWS},
		{"#30 unknown x-api-key", header("x-api-key", "ql_0000000000000000000000000000000000000000000000000000000000000000"), 401, bodyBadKey},
		{"expired x-api-key", header("x-api-key", expiredKey), 401, bodyBadKey},
		{"#31 bad x-api-key beats valid cookie", header("x-api-key", "nope", "Cookie", "qlt_0="+sessionCookie), 401, bodyBadKey},
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

func mustRefresh(t *testing.T, s *Server) string {
	t.Helper()
	_, r, err := s.IssuePair(AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// API-token use is recorded and shown in the list, twice per request as
// through the Qelos gateway.
func TestAPITokenUsageCounted(t *testing.T) {
	s := start(t, Options{})
	key, _ := s.IssueAPIToken(AdminEmail, "", time.Now().Add(time.Hour))
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil)
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil)
	access, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	r := call(t, s, "GET", "/api/me/api-tokens", bearer(access), nil)
	if !contains(r.body, `"usageCount":4`) || contains(r.body, `"lastUsedAt":null`) {
		t.Fatalf("usage not recorded: %s", r.body)
	}
}

// A scoped API token stops working when its user leaves the workspace (here:
// when it is scoped to a workspace the user never joined).
func TestScopedAPITokenOfNonMember(t *testing.T) {
	s := start(t, Options{})
	key, _ := s.IssueAPIToken(UserEmail, AcmeWorkspaceID, time.Now().Add(time.Hour))
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil).want(t, 401, bodyBadKey)
}

// Names with spaces are URI-encoded in claims and decoded by /api/me.
func TestMeDecodesNames(t *testing.T) {
	s := start(t, Options{
		Users:      []User{{ID: "u1", Email: "j@example.com", Password: "pw-123456", FirstName: "Jo Ann", LastName: "Lee-Smith", FullName: "Jo Ann Lee-Smith", Phone: "+1 555"}},
		Workspaces: []Workspace{{ID: "w1", Name: "R&D Team", Labels: []string{"x"}, Members: []Member{{UserID: "u1"}}}},
	})
	tok, err := s.IssueAccessToken("j@example.com", "w1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, tok)
	if c["firstName"] != "Jo%20Ann" || c["fullName"] != "Jo%20Ann%20Lee-Smith" || c["phone"] != "+1 555" {
		t.Fatalf("claims = %v", c)
	}
	r := call(t, s, "GET", "/api/me", bearer(tok), nil)
	if !contains(r.body, `"name":"Jo Ann Lee-Smith","firstName":"Jo Ann","lastName":"Lee-Smith","fullName":"Jo Ann Lee-Smith"`) ||
		!contains(r.body, `"workspace":{"_id":"w1","name":"R%26D%20Team","roles":["user"],"labels":["x"]}`) {
		t.Fatalf("me = %s", r.body)
	}
}

// typeErrorPage is Express's 500 page for the TypeError Qelos throws on
// "Authorization: Bearer" without a token.
const typeErrorPage = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>TypeError: Cannot read properties of undefined (reading &#39;trim&#39;)</pre>\n</body>\n</html>\n"
