package qelos

import (
	"slices"
	"strings"
)

// User is the signed-in Qelos user, shaped like Qelos's GET /api/me answer.
// In cookie-pair mode it is read from the access token's claims, which carry
// everything /api/me does except Metadata and BirthDate.
//
// A *User reached through the request context is shared by every request
// of the same session: treat it as read-only.
type User struct {
	ID           string         `json:"_id"`
	Tenant       string         `json:"tenant,omitempty"`
	Username     string         `json:"username,omitempty"`
	Email        string         `json:"email,omitempty"`
	Phone        string         `json:"phone,omitempty"`
	Name         string         `json:"name,omitempty"`
	FirstName    string         `json:"firstName,omitempty"`
	LastName     string         `json:"lastName,omitempty"`
	FullName     string         `json:"fullName,omitempty"`
	ProfileImage string         `json:"profileImage,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Roles        []string       `json:"roles"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	// Workspace is the session's workspace by rules 2 and 3 of the rule
	// documented on Workspace; the request's active one (Auth.Workspace,
	// WorkspaceFrom) may differ by rule 1.
	Workspace *Workspace `json:"workspace,omitempty"`
}

// HasRole reports whether the user holds the tenant role.
func (u *User) HasRole(role string) bool { return u != nil && slices.Contains(u.Roles, role) }

// DisplayName is the best human name Qelos gave the user: FullName, else
// first and last name, else Name, else Username, else Email.
func (u *User) DisplayName() string {
	switch {
	case u == nil:
		return ""
	case u.FullName != "":
		return u.FullName
	case u.FirstName != "" || u.LastName != "":
		return strings.TrimSpace(u.FirstName + " " + u.LastName)
	case u.Name != "":
		return u.Name
	case u.Username != "":
		return u.Username
	}
	return u.Email
}

// Workspace is a Qelos workspace as it appears in a session: its id, its
// name, and the roles the user holds in it.
//
// Which workspace is active is decided by one rule, first match wins:
//
//  1. Config.ResolveWorkspace, when set, chooses per request (and
//     SelectWorkspace per route): its choice is Auth.Workspace.
//  2. Otherwise, in cookie-pair mode, the workspace recorded in the
//     session: the one chosen at sign-in or by the last
//     SwitchWorkspaceHandler call, re-checked against the user's
//     memberships at each refresh — and none when that check found the
//     user is no longer a member.
//  3. Otherwise the one the credential names: the access token's claim
//     (cookie pair before anything was recorded, bearer), or GET /api/me's
//     answer (API key, Qelos session cookie).
//
// Never simply the first of the user's workspaces.
type Workspace struct {
	ID     string   `json:"_id"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles,omitempty"`
	Labels []string `json:"labels,omitempty"`
}

// HasRole reports whether the user holds the role in this workspace.
func (w *Workspace) HasRole(role string) bool { return w != nil && slices.Contains(w.Roles, role) }

// WorkspaceAdminRole is the workspace role Qelos calls privileged.
const WorkspaceAdminRole = "admin"

// Privileged reports Qelos's isPrivilegedUser for this workspace: whether
// the user's roles in it hold "admin" (WorkspaceAdminRole). Qelos computes
// it so in GET /api/workspaces from the caller's membership, whatever the
// caller's tenant roles; it is not Auth.Privileged, which is about tenant
// roles (Config.PrivilegedRoles). Guard on it with
// HasWorkspaceRole(WorkspaceAdminRole).
func (w *Workspace) Privileged() bool { return w.HasRole(WorkspaceAdminRole) }
