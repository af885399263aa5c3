package qelostest

import (
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

func mustRefresh(t *testing.T, s *Server) string {
	t.Helper()
	_, r, err := s.IssuePair(AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
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
