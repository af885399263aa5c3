package qelostest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// maxAPITokens is the real server's per-user limit. Expired tokens count
// towards it until they are removed.
const maxAPITokens = 10

// apiTokenRecord is one stored API token. Only the SHA-256 of the raw
// token is kept, as on the real server.
type apiTokenRecord struct {
	id          string
	userID      string
	workspaceID string
	nickname    string
	hash        string
	prefix      string
	expiresAt   time.Time
	lastUsedAt  time.Time // zero: never used
	usageCount  int
	created     time.Time
}

// IssueAPIToken creates an API token for the user whose email or username
// is userEmail, exactly as POST /api/me/api-tokens would, and returns the raw
// "ql_" + 64 hex digits value to send as x-api-key. A non-empty workspaceID
// scopes the token to that workspace; as on the real server membership is
// not checked here, but a scoped token of a non-member fails to
// authenticate. Unlike the endpoint, IssueAPIToken accepts an expiry in the
// past (to test expired keys) and ignores the limit of 10 tokens per user.
func (s *Server) IssueAPIToken(userEmail, workspaceID string, expires time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByLogin(userEmail)
	if u == nil {
		return "", fmt.Errorf("qelostest: unknown user %q", userEmail)
	}
	raw, _ := s.createAPIToken(s.tenantState, u.ID, workspaceID, "qelostest", expires)
	return raw, nil
}

// createAPIToken stores a new token in tenant t and returns its raw value.
// The caller holds s.mu.
func (s *Server) createAPIToken(t *tenantState, userID, workspaceID, nickname string, expires time.Time) (string, *apiTokenRecord) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	raw := "ql_" + hex.EncodeToString(b[:])
	rec := &apiTokenRecord{
		id:          s.newObjectID(),
		userID:      userID,
		workspaceID: workspaceID,
		nickname:    nickname,
		hash:        hashAPIToken(raw),
		prefix:      raw[:8],
		expiresAt:   expires,
		created:     s.now(),
	}
	t.apiTokens = append(t.apiTokens, rec)
	return raw, rec
}

func hashAPIToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// gatewayAuthentications is how many times one request through the Qelos
// gateway authenticates: the gateway's own /api/me pre-check runs for every
// /api path that carries a credential, auth routes included, and then the
// service authenticates again.
const gatewayAuthentications = 2

// apiKeyIdentity authenticates an x-api-key value in tenant t, or returns
// nil when it is malformed, unknown, expired, or scoped to a workspace its
// user has left. As on Qelos, every use of a known, unexpired key updates
// lastUsedAt and usageCount, before the user and workspace are checked (a
// refused scoped key is counted too), and counts twice (see
// gatewayAuthentications).
func (s *Server) apiKeyIdentity(t *tenantState, key string) *identity {
	if !strings.HasPrefix(key, "ql_") {
		return nil
	}
	hash := hashAPIToken(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(t.apiTokens, func(t *apiTokenRecord) bool { return t.hash == hash })
	if i < 0 {
		return nil
	}
	tok := t.apiTokens[i]
	now := s.now()
	if !now.Before(tok.expiresAt) {
		return nil
	}
	tok.lastUsedAt = now
	tok.usageCount += gatewayAuthentications
	u := t.userByID(tok.userID)
	if u == nil {
		return nil
	}
	id := &identity{cred: credAPIKey, tenant: t, user: snapshot(u), known: true}
	if tok.workspaceID != "" {
		ws := t.workspaceByID(tok.workspaceID)
		if ws == nil {
			return nil
		}
		m := ws.member(u.ID)
		if m == nil {
			return nil
		}
		id.workspace, _ = marshal(membershipDocument(ws, m.roles))
	}
	return id
}

// tokenManager authenticates an API-token management request: any session
// except an API token may manage its own tokens.
func (s *Server) tokenManager(w http.ResponseWriter, r *http.Request) *identity {
	id := s.requireUser(w, r)
	if id == nil {
		return nil
	}
	if id.cred == credAPIKey {
		writeMessage(w, http.StatusForbidden, msgTokenManagement)
		return nil
	}
	return id
}

// handleListAPITokens serves GET /api/me/api-tokens: the caller's tokens,
// newest first.
func (s *Server) handleListAPITokens(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	list := apiTokenList(id.tenant, id.userID())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// handleCreateAPIToken serves POST /api/me/api-tokens
// {nickname, expiresAt, workspace?}.
func (s *Server) handleCreateAPIToken(w http.ResponseWriter, r *http.Request, id *identity) {
	var body struct {
		Nickname  any `json:"nickname"`
		ExpiresAt any `json:"expiresAt"`
		Workspace any `json:"workspace"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	nickname, _ := body.Nickname.(string)
	if nickname == "" || !truthy(body.ExpiresAt) {
		writeMessage(w, http.StatusBadRequest, "nickname and expiresAt are required")
		return
	}
	expires, err := parseJSDate(body.ExpiresAt)
	if err != nil || !expires.After(s.now()) {
		writeMessage(w, http.StatusBadRequest, "expiresAt must be a valid future date")
		return
	}
	workspaceID, _ := body.Workspace.(string)

	s.mu.Lock()
	n := 0
	for _, t := range id.tenant.apiTokens {
		if t.userID == id.userID() {
			n++
		}
	}
	if n >= maxAPITokens {
		s.mu.Unlock()
		writeMessage(w, http.StatusBadRequest, fmt.Sprintf("Maximum %d active tokens allowed per user", maxAPITokens))
		return
	}
	raw, t := s.createAPIToken(id.tenant, id.userID(), workspaceID, nickname, expires)
	resp := object{{"token", raw}, {"apiToken", createdAPITokenDocument(t, id.tenant.id)}}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

// handleDeleteAPIToken serves DELETE /api/me/api-tokens/{id}. An id that
// is not an ObjectId fails the database cast on Qelos: 500.
func (s *Server) handleDeleteAPIToken(w http.ResponseWriter, r *http.Request, id *identity) {
	tokenID := r.PathValue("id")
	if !isObjectID(tokenID) {
		writeMessage(w, http.StatusInternalServerError, "Failed to delete API token")
		return
	}
	s.mu.Lock()
	n := len(id.tenant.apiTokens)
	id.tenant.apiTokens = slices.DeleteFunc(id.tenant.apiTokens, func(t *apiTokenRecord) bool {
		return t.id == tokenID && t.userID == id.userID()
	})
	found := len(id.tenant.apiTokens) < n
	s.mu.Unlock()
	if !found {
		writeMessage(w, http.StatusNotFound, "Token not found")
		return
	}
	writeMessage(w, http.StatusOK, "Token revoked")
}

// truthy reports whether v is truthy in JavaScript terms.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case float64:
		return v != 0
	}
	return true
}

var errBadDate = errors.New("qelostest: invalid date")

var objectIDRE = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)

// isObjectID reports whether id would cast to a Mongo ObjectId.
func isObjectID(id string) bool { return objectIDRE.MatchString(id) }

// parseJSDate reads a date the way `new Date(v)` would for the usual
// inputs: an ISO 8601 string (date-only and offset-less forms are UTC) or a
// number of milliseconds since the epoch.
func parseJSDate(v any) (time.Time, error) {
	switch v := v.(type) {
	case float64:
		return time.UnixMilli(int64(v)), nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, errBadDate
}
