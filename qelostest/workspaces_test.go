package qelostest

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

// Transcript 10: the caller's workspaces with only the caller's
// membership.
func TestWorkspacesList(t *testing.T) {
	clk := NewClock(time.Date(2026, 11, 27, 2, 38, 41, 914e6, time.UTC))
	s := start(t, Options{Now: clk.Now})
	tok, _ := s.IssueCookie(AdminEmail, AcmeWorkspaceID)
	r := call(t, s, "GET", "/api/workspaces", cookie(tok), nil)
	re := regexp.MustCompile(`^\[\{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","tenant":"0","members":\[\{"_id":"[0-9a-f]{24}","user":"6b08ed3053ba253bfa2e98e9","roles":\["admin","user"\],"created":"2026-11-27T02:38:41.914Z"\}\],"isPrivilegedUser":true\},` +
		`\{"_id":"6b08ed31a15f3cecd2836599","name":"Beta Lab","tenant":"0","members":\[\{"_id":"[0-9a-f]{24}","user":"6b08ed3053ba253bfa2e98e9","roles":\["user"\],"created":"2026-11-27T02:38:41.914Z"\}\],"isPrivilegedUser":false\}\]$`)
	if r.status != 200 || !re.MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	userTok, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	call(t, s, "GET", "/api/workspaces", bearer(userTok), nil).want(t, 200, `[]`)
	call(t, s, "GET", "/api/workspaces", nil, nil).want(t, 401, bodyNotLoggedIn)
}

// Transcript 11 and spec 3.7: one workspace.
func TestWorkspaceGet(t *testing.T) {
	s := start(t, Options{})
	admin, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	user, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	r := call(t, s, "GET", "/api/workspaces/"+AcmeWorkspaceID, bearer(admin), nil)
	if !regexp.MustCompile(`^\{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","labels":\[\],"members":\[\{"_id":"[0-9a-f]{24}","user":"6b08ed3053ba253bfa2e98e9","roles":\["admin","user"\],"created":"[^"]+"\}\],"invites":\[\]\}$`).MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	call(t, s, "GET", "/api/workspaces/"+AcmeWorkspaceID, bearer(user), nil).want(t, 404, `{"message":"workspace not found","from":"get-workspace"}`)
}

// Transcripts 12, 13 and 22: activation re-issues the cookie; bearer
// callers get 500.
func TestActivate(t *testing.T) {
	s := start(t, Options{RouteCookieRefresh: true})
	tok := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	r := call(t, s, "POST", "/api/workspaces/"+AcmeWorkspaceID+"/activate", cookie(tok), nil)
	r.want(t, 200, `{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","labels":[]}`)
	act := cookieValue(t, r)
	if got := keyOrder(t, act); !slices.Equal(got, []string{"workspace", "sub", "tenant", "email", "firstName", "lastName", "roles", "tokenIdentifier", "iat", "exp"}) {
		t.Errorf("activation claims = %v", got)
	}
	// transcript 13: privileged users get roles ["admin"]; no username any more.
	call(t, s, "GET", "/api/me", cookie(act), nil).want(t, 200,
		`{"_id":"6b08ed3053ba253bfa2e98e9","tenant":"0","email":"admin@example.com","name":"Ada Admin","firstName":"Ada","lastName":"Admin","fullName":"Ada Admin","roles":["admin"],"metadata":{},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme%20Team","roles":["admin"],"labels":[]}}`)

	// The activated workspace is remembered for the next sign-in.
	r = call(t, s, "POST", "/api/workspaces/"+BetaWorkspaceID+"/activate", cookie(act), nil)
	if r.status != 200 {
		t.Fatalf("activate beta: %d", r.status)
	}
	if r := call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}); !contains(r.body, BetaWorkspaceID) {
		t.Errorf("activated workspace not remembered: %s", r.body)
	}
	// And the activated cookie can be refreshed (its record exists).
	if r := call(t, s, "POST", "/api/cookie/refresh", cookie(cookieValue(t, r)), nil); r.status != 200 {
		t.Errorf("cookie refresh after activation: %d", r.status)
	}

	// transcript 22: bearer.
	access, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	call(t, s, "POST", "/api/workspaces/"+AcmeWorkspaceID+"/activate", bearer(access), nil).want(t, 500, `{"message":"failed to activate workspace"}`)
	call(t, s, "POST", "/api/workspaces/"+AcmeWorkspaceID+"/activate", nil, nil).want(t, 401, bodyNotLoggedIn)

	// Non-members.
	userCookie, _ := s.IssueCookie(UserEmail, "")
	call(t, s, "POST", "/api/workspaces/"+AcmeWorkspaceID+"/activate", cookie(userCookie), nil).want(t, 404, `{"message":"workspace not found","from":"get-workspace"}`)
	call(t, s, "POST", "/api/workspaces/000000000000000000000000/activate", cookie(tok), nil).want(t, 404, `{"message":"workspace not found","from":"get-workspace"}`)
}

// A regular member gets its member roles on activation.
func TestActivateMemberRoles(t *testing.T) {
	s := start(t, Options{
		Users:      []User{{ID: "u1", Email: "m@example.com", Password: "pw"}},
		Workspaces: []Workspace{{ID: "w1", Name: "Team", Labels: []string{"pro"}, Members: []Member{{UserID: "u1", Roles: []string{"editor"}}}}},
	})
	tok, _ := s.IssueCookie("m@example.com", "")
	r := call(t, s, "POST", "/api/workspaces/w1/activate", cookie(tok), nil)
	if !regexp.MustCompile(`^\{"_id":"w1","name":"Team","members":\[\{"_id":"[0-9a-f]{24}","user":"u1","roles":\["editor"\],"created":"[^"]+"\}\],"labels":\["pro"\]\}$`).MatchString(r.body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := string(rawPayload(t, cookieValue(t, r))); !contains(got, `{"workspace":{"_id":"w1","name":"Team","roles":["editor"],"labels":["pro"]},"sub":"u1"`) {
		t.Fatalf("claims = %s", got)
	}
}
