package qelostest

import (
	"maps"
	"slices"
	"strings"
)

// Demo credentials seeded by [DefaultUsers]. They are the ones the real
// Qelos stack used when the reference transcripts were captured.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "Admin-Pass-123"
	UserEmail     = "user@example.com"
	UserPassword  = "User-Pass-123"
)

// IDs of the seeded users and workspaces, equal to the ones in the reference
// transcripts.
const (
	AdminID         = "6b08ed3053ba253bfa2e98e9"
	UserID          = "6b08ed31a15f3cecd283657c"
	AcmeWorkspaceID = "6b08ed31a15f3cecd2836587"
	BetaWorkspaceID = "6b08ed31a15f3cecd2836599"
)

// User is a user the server knows. Only Email (or Username) and Password are
// required; everything else has a default.
type User struct {
	// ID is the user's id (the JWT "sub" claim). Default: a fresh
	// Mongo-style ObjectID.
	ID string
	// Username is what sign-in matches first, exactly. It is stored
	// trimmed and lower-cased, as Qelos stores usernames. Default: Email.
	Username string
	// Email is what sign-in matches when Username does not. Default:
	// Username, when it contains an "@".
	Email string
	// Password is compared verbatim (no hashing: this is a test server).
	Password string

	// FirstName and LastName are stored verbatim and URI-encoded in tokens
	// when they need it (a space becomes %20).
	FirstName, LastName string
	// FullName is put in tokens (URI-encoded) only when set. When empty,
	// responses that show a display name ("name" and "fullName" of /api/me,
	// "name" of sign-in) use FirstName + " " + LastName, which is what the
	// real server does for its init-created admin.
	FullName string
	// Phone, ProfileImage and BirthDate are optional profile fields.
	Phone, ProfileImage, BirthDate string
	// Roles are the tenant roles. Default: ["user"]. The role "admin" is
	// privileged.
	Roles []string
	// Metadata is returned by /api/me. Default: {}.
	Metadata map[string]any
}

// Workspace is a workspace the server knows.
type Workspace struct {
	// ID is the workspace id. Default: a fresh Mongo-style ObjectID.
	ID string
	// Name is the display name, stored and answered verbatim; inside JWTs it
	// is URI-encoded ("Acme Team" becomes "Acme%20Team").
	Name string
	// Labels default to [].
	Labels []string
	// Members lists who belongs to the workspace and with which roles.
	Members []Member
}

// Member is one membership of a [Workspace].
type Member struct {
	// UserID is the [User.ID] of the member.
	UserID string
	// Roles are the member's workspace roles. Default: ["user"].
	Roles []string
}

// DefaultUsers returns the users seeded when [Options.Users] is nil: the
// privileged admin (Ada Admin, roles ["admin"]) and a regular user (Uma User,
// roles ["user"], member of no workspace). Each call returns fresh values.
func DefaultUsers() []User {
	return []User{
		{
			ID:        AdminID,
			Username:  AdminEmail,
			Email:     AdminEmail,
			Password:  AdminPassword,
			FirstName: "Ada",
			LastName:  "Admin",
			Roles:     []string{"admin"},
		},
		{
			ID:        UserID,
			Username:  UserEmail,
			Email:     UserEmail,
			Password:  UserPassword,
			FirstName: "Uma",
			LastName:  "User",
			FullName:  "Uma User",
			Roles:     []string{"user"},
		},
	}
}

// DefaultWorkspaces returns the workspaces seeded when [Options.Workspaces]
// is nil: "Acme Team", where the admin has roles ["admin","user"], and
// "Beta Lab", where the admin has roles ["user"]. The regular user belongs to
// neither. Each call returns fresh values.
func DefaultWorkspaces() []Workspace {
	return []Workspace{
		{
			ID:      AcmeWorkspaceID,
			Name:    "Acme Team",
			Members: []Member{{UserID: AdminID, Roles: []string{"admin", "user"}}},
		},
		{
			ID:      BetaWorkspaceID,
			Name:    "Beta Lab",
			Members: []Member{{UserID: AdminID, Roles: []string{"user"}}},
		},
	}
}

// seed copies users and workspaces into fresh records of tenant t.
func (s *Server) seed(t *tenantState, users []User, workspaces []Workspace) {
	now := s.now()
	for _, u := range users {
		r := &userRecord{User: u, tenant: t.id, created: now}
		if r.ID == "" {
			r.ID = s.newObjectID()
		}
		if r.Username == "" {
			r.Username = r.Email
		}
		r.Username = strings.ToLower(strings.TrimSpace(r.Username))
		if r.Email == "" && strings.Contains(r.Username, "@") {
			r.Email = r.Username
		}
		r.Roles = cloneOr(u.Roles, "user")
		r.Metadata = maps.Clone(u.Metadata)
		if r.Metadata == nil {
			r.Metadata = map[string]any{}
		}
		t.users = append(t.users, r)
	}
	for _, w := range workspaces {
		r := &workspaceRecord{id: w.ID, name: w.Name, labels: slices.Clone(w.Labels), created: now}
		if r.id == "" {
			r.id = s.newObjectID()
		}
		if r.labels == nil {
			r.labels = []string{}
		}
		for _, m := range w.Members {
			r.members = append(r.members, memberRecord{
				id:      s.newObjectID(),
				userID:  m.UserID,
				roles:   cloneOr(m.Roles, "user"),
				created: now,
			})
		}
		t.workspaces = append(t.workspaces, r)
	}
}

// cloneOr copies roles, or returns [def] when roles is empty.
func cloneOr(roles []string, def string) []string {
	if len(roles) == 0 {
		return []string{def}
	}
	return slices.Clone(roles)
}
