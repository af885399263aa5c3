package qelostest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"
)

// Transcripts 23–33: create, use, list, refuse and revoke API tokens.
func TestAPITokenLifecycle(t *testing.T) {
	clk := NewClock(time.Date(2026, 11, 27, 2, 40, 5, 501e6, time.UTC))
	s := start(t, Options{Now: clk.Now})
	sess, _ := s.IssueCookie(AdminEmail, AcmeWorkspaceID)
	access, _, _ := s.IssuePair(AdminEmail, "")

	// transcript 23: create from a cookie session.
	r := call(t, s, "POST", "/api/me/api-tokens", cookie(sess), map[string]any{"nickname": "go-client-test", "expiresAt": "2026-12-27T02:40:05.000Z"})
	var created struct {
		Token    string `json:"token"`
		APIToken struct {
			ID    string `json:"_id"`
			Token string `json:"token"`
		} `json:"apiToken"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if !regexp.MustCompile(`^ql_[0-9a-f]{64}$`).MatchString(created.Token) {
		t.Fatalf("token = %q", created.Token)
	}
	r.want(t, 201, fmt.Sprintf(`{"token":%q,"apiToken":{"tenant":"0","user":"6b08ed3053ba253bfa2e98e9","workspace":null,"nickname":"go-client-test","token":%q,"tokenPrefix":%q,"expiresAt":"2026-12-27T02:40:05.000Z","lastUsedAt":null,"usageCount":0,"_id":%q,"created":"2026-11-27T02:40:05.501Z","__v":0}}`,
		created.Token, hashAPIToken(created.Token), created.Token[:8], created.APIToken.ID))
	key := created.Token

	// transcript 24: scoped, from a bearer session.
	clk.Advance(340 * time.Millisecond)
	r = call(t, s, "POST", "/api/me/api-tokens", bearer(access), map[string]any{"nickname": "ws-scoped", "workspace": AcmeWorkspaceID, "expiresAt": "2026-12-27T02:40:05.000Z"})
	if r.status != 201 || !contains(r.body, `"workspace":"6b08ed31a15f3cecd2836587","nickname":"ws-scoped"`) {
		t.Fatalf("scoped create: %d %s", r.status, r.body)
	}
	var scoped struct {
		Token    string `json:"token"`
		APIToken struct {
			ID string `json:"_id"`
		} `json:"apiToken"`
	}
	_ = json.Unmarshal([]byte(r.body), &scoped)

	// transcript 25 and the other 400s.
	bad := []struct {
		name string
		body any
		msg  string
	}{
		{"transcript 25: past expiry", map[string]any{"nickname": "old", "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt must be a valid future date"},
		{"unparsable expiry", map[string]any{"nickname": "x", "expiresAt": "soon"}, "expiresAt must be a valid future date"},
		{"no nickname", map[string]any{"expiresAt": "2026-12-27T02:40:05.000Z"}, "nickname and expiresAt are required"},
		{"no expiry", map[string]any{"nickname": "x"}, "nickname and expiresAt are required"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/me/api-tokens", cookie(sess), tt.body).want(t, 400, `{"message":"`+tt.msg+`"}`)
		})
	}

	// transcripts 26, 27: use.
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil).want(t, 200, meAdminPlain)
	call(t, s, "GET", "/api/me", header("x-api-key", scoped.Token), nil).want(t, 200, meAdminKeyWS)

	// transcript 28: list, newest first. Each use counted twice, as through the
	// Qelos gateway (its /api/me pre-check authenticates too).
	r = call(t, s, "GET", "/api/me/api-tokens", cookie(sess), nil)
	r.want(t, 200, fmt.Sprintf(`[{"_id":%q,"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team"},"nickname":"ws-scoped","tokenPrefix":%q,"expiresAt":"2026-12-27T02:40:05.000Z","lastUsedAt":"2026-11-27T02:40:05.841Z","usageCount":2,"created":"2026-11-27T02:40:05.841Z"},{"_id":%q,"workspace":null,"nickname":"go-client-test","tokenPrefix":%q,"expiresAt":"2026-12-27T02:40:05.000Z","lastUsedAt":"2026-11-27T02:40:05.841Z","usageCount":2,"created":"2026-11-27T02:40:05.501Z"}]`,
		scoped.APIToken.ID, scoped.Token[:8], created.APIToken.ID, key[:8]))
	// Other users see none of them.
	userTok, _ := s.IssueAccessToken(UserEmail, "", time.Hour)
	call(t, s, "GET", "/api/me/api-tokens", bearer(userTok), nil).want(t, 200, `[]`)

	// transcript 29: managing tokens with a token is forbidden, on every route.
	const forbidden = `{"message":"API token management is not allowed via token authentication"}`
	call(t, s, "GET", "/api/me/api-tokens", header("x-api-key", key), nil).want(t, 403, forbidden)
	call(t, s, "POST", "/api/me/api-tokens", header("x-api-key", key), map[string]any{"nickname": "n", "expiresAt": "2027-01-01"}).want(t, 403, forbidden)
	call(t, s, "DELETE", "/api/me/api-tokens/"+created.APIToken.ID, header("x-api-key", key), nil).want(t, 403, forbidden)
	call(t, s, "GET", "/api/me/api-tokens", nil, nil).want(t, 401, bodyNotLoggedIn)

	// transcripts 32, 33: revoke, then the key fails at once.
	call(t, s, "DELETE", "/api/me/api-tokens/"+created.APIToken.ID, bearer(userTok), nil).want(t, 404, `{"message":"Token not found"}`)
	call(t, s, "DELETE", "/api/me/api-tokens/"+created.APIToken.ID, cookie(sess), nil).want(t, 200, `{"message":"Token revoked"}`)
	call(t, s, "GET", "/api/me", header("x-api-key", key), nil).want(t, 401, bodyBadKey)
	call(t, s, "DELETE", "/api/me/api-tokens/"+created.APIToken.ID, cookie(sess), nil).want(t, 404, `{"message":"Token not found"}`)
}

// At most 10 tokens per user, expired ones included.
func TestAPITokenLimit(t *testing.T) {
	s := start(t, Options{})
	access, _ := s.IssueAccessToken(AdminEmail, "", time.Hour)
	if _, err := s.IssueAPIToken(AdminEmail, "", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"nickname": "n", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	for i := range 9 {
		if r := call(t, s, "POST", "/api/me/api-tokens", bearer(access), body); r.status != 201 {
			t.Fatalf("token %d: %d %s", i+2, r.status, r.body)
		}
	}
	call(t, s, "POST", "/api/me/api-tokens", bearer(access), body).want(t, 400, `{"message":"Maximum 10 active tokens allowed per user"}`)
}

func TestIssueAPITokenUnknownUser(t *testing.T) {
	s := start(t, Options{})
	if _, err := s.IssueAPIToken("nobody@example.com", "", time.Now()); err == nil {
		t.Fatal("no error")
	}
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
