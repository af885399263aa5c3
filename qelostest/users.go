package qelostest

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
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

// privilegedRole is the Qelos default PRIVILEGED_ROLES.
const privilegedRole = "admin"

// userRecord is the server-side state of one user. It is guarded by
// Server.mu.
type userRecord struct {
	User
	tenant        string
	created       time.Time
	lastLogin     time.Time     // lastLogin.created; zero: never signed in
	lastWorkspace string        // lastLogin.workspace
	tokens        []tokenRecord // user.tokens
}

// displayName is the name the real server derives for "name"/"fullName".
func (u *User) displayName() string {
	if u.FullName != "" {
		return u.FullName
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// tokenKind tells a cookie session record from an OAuth refresh record.
type tokenKind int

const (
	kindCookie tokenKind = iota
	kindOAuth
)

// tokenRecord is one entry of user.tokens.
type tokenRecord struct {
	kind         tokenKind
	identifier   string
	relatedToken string // OAuth: the access JWT minted with the refresh JWT
	parent       string // OAuth: identifier of the refresh token spent to mint it
	workspace    string
	expiresAt    time.Time
}

// workspaceRecord is the server-side state of one workspace.
type workspaceRecord struct {
	id      string
	name    string
	logo    string
	labels  []string
	members []memberRecord
	invites []any
	created time.Time
}

type memberRecord struct {
	id      string
	userID  string
	roles   []string
	created time.Time
}

// member returns userID's membership of ws, or nil.
func (ws *workspaceRecord) member(userID string) *memberRecord {
	for i := range ws.members {
		if ws.members[i].userID == userID {
			return &ws.members[i]
		}
	}
	return nil
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

// userByLogin finds the user whose username or email equals login (case
// insensitively), for the Issue helpers. The caller holds s.mu.
func (t *tenantState) userByLogin(login string) *userRecord {
	if login == "" {
		return nil
	}
	for _, u := range t.users {
		if strings.EqualFold(u.Username, login) {
			return u
		}
	}
	for _, u := range t.users {
		if u.Email != "" && strings.EqualFold(u.Email, login) {
			return u
		}
	}
	return nil
}

// userBySignIn finds the user a sign-in names, as Qelos's getUser does:
// the user whose username equals login exactly, else the one whose email
// does. The caller holds s.mu.
func (t *tenantState) userBySignIn(login string) *userRecord {
	if login == "" {
		return nil
	}
	for _, u := range t.users {
		if u.Username == login {
			return u
		}
	}
	for _, u := range t.users {
		if u.Email == login {
			return u
		}
	}
	return nil
}

// userByID finds a user by id. The caller holds s.mu.
func (t *tenantState) userByID(id string) *userRecord {
	if t == nil {
		return nil
	}
	for _, u := range t.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

// workspaceByID finds a workspace by id. The caller holds s.mu.
func (t *tenantState) workspaceByID(id string) *workspaceRecord {
	if t == nil {
		return nil
	}
	for _, ws := range t.workspaces {
		if ws.id == id {
			return ws
		}
	}
	return nil
}

// firstMembership returns the first workspace userID belongs to, or nil.
// The caller holds s.mu.
func (t *tenantState) firstMembership(userID string) *workspaceRecord {
	for _, ws := range t.workspaces {
		if ws.member(userID) != nil {
			return ws
		}
	}
	return nil
}

// pushToken appends a token record to u, pruning expired ones first as the
// real server does after each sign-in. The caller holds s.mu.
func (s *Server) pushToken(u *userRecord, rec tokenRecord) {
	now := s.now()
	u.tokens = slices.DeleteFunc(u.tokens, func(t tokenRecord) bool {
		return !now.Before(t.expiresAt)
	})
	u.tokens = append(u.tokens, rec)
}

// tokenIndex returns the index of the record of kind with identifier in u,
// or -1. The caller holds s.mu.
func tokenIndex(u *userRecord, kind tokenKind, identifier string) int {
	if identifier == "" {
		return -1
	}
	return slices.IndexFunc(u.tokens, func(t tokenRecord) bool {
		return t.kind == kind && t.identifier == identifier
	})
}

var objectIDCounter atomic.Uint32

// newObjectID returns a fresh 24-hex-digit Mongo-style ObjectID: a 4-byte
// timestamp from the server clock, 5 random bytes and a 3-byte counter.
func (s *Server) newObjectID() string {
	var b [12]byte
	ts := uint32(s.now().Unix())
	b[0], b[1], b[2], b[3] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	_, _ = rand.Read(b[4:9])
	c := objectIDCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}
