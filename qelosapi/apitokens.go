package qelosapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
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
	Workspace *qelos.Workspace `json:"workspace,omitempty"`
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
	var records []wire.APIToken
	if err := c.callJSON(ctx, http.MethodGet, "/api/me/api-tokens", nil, &records); err != nil {
		return nil, tokenError(err)
	}
	list := make([]APIToken, len(records))
	for i, r := range records {
		list[i] = APIToken(r)
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
	var answer wire.CreatedAPIToken
	if err := c.callJSON(ctx, http.MethodPost, "/api/me/api-tokens", body, &answer); err != nil {
		return "", nil, tokenError(err)
	}
	if !strings.HasPrefix(answer.Token, "ql_") {
		return "", nil, errors.Join(qelos.ErrUnavailable, errors.New("create API token: the answer holds no token"))
	}
	record := APIToken(answer.APIToken)
	return answer.Token, &record, nil
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
	c.revoked(ctx)
	return nil
}

// revoked tells the middleware that one of the user's API tokens was
// revoked at Qelos, so that it drops the user's cached API-key identities
// here and on the other replicas.
func (c *Client) revoked(ctx context.Context) {
	c.state().Conn().RevokedAPIToken(context.WithoutCancel(ctx), c.state().UserID())
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
