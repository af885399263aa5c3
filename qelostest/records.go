package qelostest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

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

// userByLogin finds the user whose username or email equals login (case
// insensitively), for the Issue helpers. The caller holds s.mu.
func (t *tenantState) userByLogin(login string) *userRecord {
	if login == "" {
		return nil
	}
	if u := find(t.users, func(u *userRecord) bool { return strings.EqualFold(u.Username, login) }); u != nil {
		return u
	}
	return find(t.users, func(u *userRecord) bool { return u.Email != "" && strings.EqualFold(u.Email, login) })
}

// find returns the first element of list that match accepts, or nil.
func find[T any](list []*T, match func(*T) bool) *T {
	if i := slices.IndexFunc(list, match); i >= 0 {
		return list[i]
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
	if u := find(t.users, func(u *userRecord) bool { return u.Username == login }); u != nil {
		return u
	}
	return find(t.users, func(u *userRecord) bool { return u.Email == login })
}

// userByID finds a user by id. The caller holds s.mu.
func (t *tenantState) userByID(id string) *userRecord {
	if t == nil {
		return nil
	}
	return find(t.users, func(u *userRecord) bool { return u.ID == id })
}

// workspaceByID finds a workspace by id. The caller holds s.mu.
func (t *tenantState) workspaceByID(id string) *workspaceRecord {
	if t == nil {
		return nil
	}
	return find(t.workspaces, func(ws *workspaceRecord) bool { return ws.id == id })
}

// firstMembership returns the first workspace userID belongs to, or nil.
// The caller holds s.mu.
func (t *tenantState) firstMembership(userID string) *workspaceRecord {
	return find(t.workspaces, func(ws *workspaceRecord) bool { return ws.member(userID) != nil })
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

// membership finds the user whose email or username is login, the
// workspace workspaceID and the user's membership of it, or says which is
// missing. The caller holds s.mu.
func (s *Server) membership(login, workspaceID string) (*userRecord, *workspaceRecord, *memberRecord, error) {
	u := s.userByLogin(login)
	if u == nil {
		return nil, nil, nil, fmt.Errorf("qelostest: unknown user %q", login)
	}
	ws := s.workspaceByID(workspaceID)
	if ws == nil {
		return nil, nil, nil, fmt.Errorf("qelostest: unknown workspace %q", workspaceID)
	}
	m := ws.member(u.ID)
	if m == nil {
		return nil, nil, nil, fmt.Errorf("qelostest: user %q is not a member of workspace %q", login, workspaceID)
	}
	return u, ws, m, nil
}

// Membership returns the workspace workspaceID as a sign-in answer shows
// it to the user whose email or username is login: its ID, Name and
// Labels, with Members holding only that user's membership (the roles
// the user holds there). It fails as [Server.IssuePair] does: unknown
// user, unknown workspace, or a user who is not a member.
func (s *Server) Membership(login, workspaceID string) (Workspace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ws, m, err := s.membership(login, workspaceID)
	if err != nil {
		return Workspace{}, err
	}
	return Workspace{ID: ws.id, Name: ws.name, Labels: slices.Clone(ws.labels), Members: []Member{{UserID: u.ID, Roles: slices.Clone(m.roles)}}}, nil
}
