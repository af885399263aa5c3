package qelostest

import (
	"strings"
	"testing"
)

// TestRolesAndInvites: GET /api/roles lists the tenant's roles to
// privileged callers only; a workspace invite by email is listed by
// GET /api/invites and accepted by POST /api/invites.
func TestRolesAndInvites(t *testing.T) {
	s := New(Options{})
	t.Cleanup(s.Close)
	admin, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	user, _ := oauthPair(t, s, UserEmail, UserPassword)
	call(t, s, "GET", "/api/roles", bearer(admin), nil).want(t, 200, `["admin","user"]`)
	call(t, s, "GET", "/api/roles", bearer(user), nil).want(t, 401, `{"message":"you are not privileged."}`)
	call(t, s, "GET", "/api/roles", nil, nil).want(t, 401, `{"message":"you are not authorized. must be logged in."}`)

	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[]`)
	r := call(t, s, "PUT", "/api/workspaces/"+BetaWorkspaceID, bearer(admin), map[string]any{"invites": []any{map[string]any{"email": UserEmail}}})
	if r.status != 200 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[{"_id":"`+BetaWorkspaceID+`","name":"Beta Lab"}]`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{}).want(t, 400, `{"message":"missing workspaceId"}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": BetaWorkspaceID, "kind": "maybe"}).
		want(t, 400, `{"message":"respond kind should be either \"accept\" or \"decline\""}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": AcmeWorkspaceID, "kind": "accept"}).
		want(t, 404, `{"message":"workspace not found","email":"`+UserEmail+`","workspaceId":"`+AcmeWorkspaceID+`"}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": BetaWorkspaceID, "kind": "accept"}).want(t, 200, `{"success":true}`)
	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[]`)
	if r := call(t, s, "GET", "/api/workspaces", bearer(user), nil); r.status != 200 || !strings.Contains(r.body, `"roles":["user"]`) || !strings.Contains(r.body, BetaWorkspaceID) {
		t.Fatalf("after accepting: %d %s", r.status, r.body)
	}
}
