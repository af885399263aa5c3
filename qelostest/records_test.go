package qelostest

import (
	"reflect"
	"testing"
)

// TestMembership: the workspace a sign-in answer shows a member, as the
// server holds it now, and the refusals IssuePair gives.
func TestMembership(t *testing.T) {
	s := NewHandler(Options{Workspaces: []Workspace{{ID: AcmeWorkspaceID, Name: "Acme Team", Labels: []string{"paid"},
		Members: []Member{{UserID: AdminID, Roles: []string{"admin", "user"}}, {UserID: UserID}}}}})
	defer s.Close()
	tests := []struct {
		name, login, workspace string
		want                   Workspace
		wantErr                string
	}{
		{"admin", AdminEmail, AcmeWorkspaceID, Workspace{ID: AcmeWorkspaceID, Name: "Acme Team", Labels: []string{"paid"},
			Members: []Member{{UserID: AdminID, Roles: []string{"admin", "user"}}}}, ""},
		{"default member roles", UserEmail, AcmeWorkspaceID, Workspace{ID: AcmeWorkspaceID, Name: "Acme Team", Labels: []string{"paid"},
			Members: []Member{{UserID: UserID, Roles: []string{"user"}}}}, ""},
		{"unknown user", "nobody@example.com", AcmeWorkspaceID, Workspace{}, `unknown user "nobody@example.com"`},
		{"unknown workspace", AdminEmail, BetaWorkspaceID, Workspace{}, `unknown workspace "` + BetaWorkspaceID + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Membership(tt.login, tt.workspace)
			if tt.wantErr != "" {
				if err == nil || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	nonMember := NewHandler(Options{})
	defer nonMember.Close()
	if _, err := nonMember.Membership(UserEmail, AcmeWorkspaceID); err == nil || !contains(err.Error(), "not a member") {
		t.Fatalf("non-member: %v", err)
	}
	got, _ := s.Membership(AdminEmail, AcmeWorkspaceID)
	got.Labels[0], got.Members[0].Roles[0] = "changed", "changed"
	if again, _ := s.Membership(AdminEmail, AcmeWorkspaceID); again.Labels[0] != "paid" || again.Members[0].Roles[0] != "admin" {
		t.Fatalf("Membership shares the server's slices: %+v", again)
	}
}
