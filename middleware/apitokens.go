package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
)

// APIToken describes one of the user's Qelos API tokens. The secret itself
// is only ever returned once, by CreateAPIToken.
type APIToken struct {
	ID          string     `json:"_id"`
	Nickname    string     `json:"nickname"`
	TokenPrefix string     `json:"tokenPrefix"` // the first characters, to recognise it
	ExpiresAt   time.Time  `json:"expiresAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
	Created     time.Time  `json:"created"`
	UsageCount  int        `json:"usageCount"`
	// Workspace is the workspace the token is scoped to, or nil.
	Workspace *Workspace `json:"workspace,omitempty"`
}

// UnmarshalJSON reads Qelos's token records, whose workspace is an id
// string when created and an {_id, name} object when listed.
func (t *APIToken) UnmarshalJSON(b []byte) error {
	type plain APIToken
	var raw struct {
		plain
		Workspace json.RawMessage `json:"workspace"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*t = APIToken(raw.plain)
	t.Workspace = nil
	var id string
	var ws Workspace
	switch {
	case json.Unmarshal(raw.Workspace, &id) == nil && id != "":
		t.Workspace = &Workspace{ID: id}
	case json.Unmarshal(raw.Workspace, &ws) == nil && ws.ID != "":
		t.Workspace = &ws
	}
	return nil
}

// NewAPIToken describes an API token to create.
type NewAPIToken struct {
	// Nickname names the token in lists. Required.
	Nickname string
	// ExpiresAt is when the token stops working; it must be in the future.
	// Required: Qelos issues no token that never expires.
	ExpiresAt time.Time
	// WorkspaceID, when set, scopes the token to that workspace: requests
	// made with it act in that workspace.
	WorkspaceID string
}

// APITokens lists the user's API tokens, newest first
// (GET /api/me/api-tokens).
func (c *Client) APITokens(ctx context.Context) ([]APIToken, error) {
	var list []APIToken
	if err := c.getJSON(ctx, "/api/me/api-tokens", &list); err != nil {
		return nil, tokenError(err)
	}
	return list, nil
}

// CreateAPIToken creates an API token for the user and returns its secret
// ("ql_…"), which Qelos shows only this once, and its record. Use the
// secret as the x-api-key header.
func (c *Client) CreateAPIToken(ctx context.Context, t NewAPIToken) (secret string, token *APIToken, err error) {
	if strings.TrimSpace(t.Nickname) == "" || t.ExpiresAt.IsZero() {
		return "", nil, &qelos.APIError{Status: http.StatusBadRequest, Message: "nickname and expiresAt are required"}
	}
	body := map[string]string{"nickname": t.Nickname, "expiresAt": t.ExpiresAt.UTC().Format(time.RFC3339Nano)}
	if t.WorkspaceID != "" {
		body["workspace"] = t.WorkspaceID
	}
	var answer struct {
		Token    string   `json:"token"`
		APIToken APIToken `json:"apiToken"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/api/me/api-tokens", body, &answer); err != nil {
		return "", nil, tokenError(err)
	}
	if !strings.HasPrefix(answer.Token, "ql_") {
		return "", nil, errors.Join(qelos.ErrUnavailable, errors.New("create API token: the answer holds no token"))
	}
	return answer.Token, &answer.APIToken, nil
}

// RevokeAPIToken revokes the user's API token with the given id. This
// replica refuses it at once (every cached API-key identity of the user is
// dropped, and each of the user's keys asked about again on its next use);
// the other replicas as soon as the refresh store tells them (with a
// refresh.Revoker such as refresh/redisstore: within a second), else
// within Config.Limits.IdentityTTL. An unknown id is qelos.ErrNotFound.
func (c *Client) RevokeAPIToken(ctx context.Context, id string) error {
	if err := c.callJSON(ctx, http.MethodDelete, "/api/me/api-tokens/"+url.PathEscape(id), nil, nil); err != nil {
		return tokenError(err)
	}
	c.revokedAPIToken(ctx)
	return nil
}

// revokedAPIToken is what follows a revocation of one of the user's API
// tokens at Qelos: see revokeAPIKeysOf.
func (c *Client) revokedAPIToken(ctx context.Context) {
	userID := ""
	if c.auth != nil && c.auth.User != nil {
		userID = c.auth.User.ID
	}
	c.mw.revokeAPIKeysOf(context.WithoutCancel(ctx), userID)
}

// tokenError adds the specific refusals Qelos words in its messages.
func tokenError(err error) error {
	var e *qelos.APIError
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Status == http.StatusBadRequest && strings.HasPrefix(e.Message, "Maximum"):
		return errors.Join(qelos.ErrTooManyTokens, err)
	case e.Status == http.StatusForbidden && strings.Contains(e.Message, "via token authentication"):
		return errors.Join(qelos.ErrTokenManagementByToken, err)
	}
	return err
}
