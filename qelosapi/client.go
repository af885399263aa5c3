// Package qelosapi calls the Qelos API on behalf of a request's user or of
// the app: the user as Qelos describes it now, their workspaces and
// memberships, and their API tokens. Get a [Client] from
// middleware.ClientFrom (the request's user) or
// Middleware.ServiceClient (the app's Config.APIToken); Qelos's JSON
// documents are read in internal/wire.
package qelosapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
	"github.com/qelos-io/integrator-go/internal/wire"
)

// Client calls Qelos with the credentials of one request: the (refreshed)
// access token of a cookie-pair session, the request's own bearer token, API
// key or Qelos session cookie, or the app's Config.APIToken when the request
// carries none. Get one with middleware.ClientFrom or
// Middleware.ServiceClient; only the middleware makes one. A Client is
// cheap, safe for concurrent use, and may outlive its request, but a
// cookie-pair token it holds is not refreshed after the request ends.
type Client upstream.Client

// state is what c holds: the connection, the credentials and the user.
func (c *Client) state() *upstream.Client { return (*upstream.Client)(c) }

// Do sends a copy of req to Qelos with the client's credentials; req itself
// is not changed. req.URL may be a path such as "/api/blueprints": it is
// resolved against the Qelos URL. The caller closes the response body. No
// redirect is followed. A transport error matches qelos.ErrUnavailable; an
// answer of any status is returned as it is. A successful
// DELETE /api/me/api-tokens/{id} is followed as RevokeAPIToken is.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if req.URL.Host == "" {
		u, err := req.URL.Parse(c.state().Conn().Target() + req.URL.RequestURI())
		if err != nil {
			return nil, err
		}
		req.URL, req.Host = u, u.Host
	}
	for k, v := range c.state().Header() {
		req.Header[k] = v
	}
	resp, err := c.state().Conn().Do(req)
	if err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 && upstream.RevokesAPIToken(req.Method, req.URL.Path) {
		c.revoked(req.Context())
	}
	return resp, err
}

// callJSON sends method path to Qelos with the client's credentials, body
// (when not nil) as JSON, and decodes a 2xx JSON answer into v (when not
// nil); any other answer is a *qelos.APIError.
func (c *Client) callJSON(ctx context.Context, method, path string, body, v any) error {
	resp, err := c.state().Conn().Send(ctx, method, path, body, c.state().Header())
	if err != nil {
		return errors.Join(qelos.ErrUnavailable, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return wire.APIError(resp.Status, resp.Body)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return errors.Join(qelos.ErrUnavailable, fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, path, err))
	}
	return nil
}

// Me returns the user as Qelos's GET /api/me describes it now, metadata and
// birth date included.
func (c *Client) Me(ctx context.Context) (*qelos.User, error) {
	var u qelos.User
	if err := c.callJSON(ctx, http.MethodGet, "/api/me", nil, &u); err != nil {
		return nil, err
	}
	wire.NormalizeUser(&u)
	return &u, nil
}

// Workspaces returns the workspaces the user belongs to, each with the
// roles the user holds in it (GET /api/workspaces). The answer is kept for
// Config.Limits.IdentityTTL per credential, so calling it on every request
// costs one upstream call per session per TTL; it is loaded only when
// called, never on every request.
func (c *Client) Workspaces(ctx context.Context) ([]qelos.Workspace, error) {
	return c.state().Conn().Workspaces(ctx, c.state().Header(), func(ctx context.Context) ([]qelos.Workspace, error) {
		var doc wire.WorkspaceList
		if err := c.callJSON(ctx, http.MethodGet, "/api/workspaces", nil, &doc); err != nil {
			return nil, err
		}
		return []qelos.Workspace(doc), nil
	})
}

// Membership returns the workspace id among the user's memberships, with
// the roles the user holds there, or nil when the user does not belong to
// it (or id is empty). It reads c.Workspaces (cached for
// Config.Limits.IdentityTTL), so a WorkspaceResolver may call it on every
// request; an error means Qelos could not be asked.
func (c *Client) Membership(ctx context.Context, id string) (*qelos.Workspace, error) {
	if id == "" {
		return nil, nil
	}
	list, err := c.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(list, func(w qelos.Workspace) bool { return w.ID == id }); i >= 0 {
		ws := list[i]
		return &ws, nil
	}
	return nil, nil
}
