package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
	"golang.org/x/sync/singleflight"
)

func newAPIError(resp *upstreamResponse) *qelos.APIError {
	e := &qelos.APIError{Status: resp.Status, Body: resp.Body}
	e.Message = wire.ErrorMessage(resp.Body)
	return e
}

// Client calls Qelos with the credentials of one request: the (refreshed)
// access token of a cookie-pair session, the request's own bearer token, API
// key or Qelos session cookie, or the app's Config.APIToken when the request
// carries none. Get one with ClientFrom or Middleware.ServiceClient. A
// Client is cheap, safe for concurrent use, and may outlive its request, but
// a cookie-pair token it holds is not refreshed after the request ends.
type Client struct {
	mw   *Middleware
	auth *Auth // nil for a service client
}

// ClientFrom returns the request-scoped client of a request the middleware
// identified, and false for an anonymous request or one it did not see.
// For calls on behalf of the app itself use Middleware.ServiceClient.
func ClientFrom(ctx context.Context) (*Client, bool) {
	a, ok := FromContext(ctx)
	if !ok || a.mw == nil || a.User == nil {
		return nil, false
	}
	return &Client{mw: a.mw, auth: a}, true
}

// ServiceClient returns a client that calls Qelos with Config.APIToken (or
// with no credential when there is none).
func (m *Middleware) ServiceClient() *Client { return &Client{mw: m} }

// credentials returns the headers that identify the client's user to Qelos.
func (c *Client) credentials() http.Header {
	switch {
	case c.auth != nil && c.auth.AccessToken() != "":
		return http.Header{"Authorization": {"Bearer " + c.auth.AccessToken()}}
	case c.auth != nil && c.auth.cred != nil:
		return c.auth.cred
	case c.mw.cfg.APIToken != "":
		return http.Header{"X-Api-Key": {c.mw.cfg.APIToken}}
	}
	return nil
}

// Do sends a copy of req to Qelos with the client's credentials; req itself
// is not changed. req.URL may be a path such as "/api/blueprints": it is
// resolved against the Qelos URL. The caller closes the response body. No
// redirect is followed. A transport error matches qelos.ErrUnavailable; an
// answer of any status is returned as it is. A successful
// DELETE /api/me/api-tokens/{id} is followed as RevokeAPIToken is.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if req.URL.Host == "" {
		u, err := req.URL.Parse(c.mw.target + req.URL.RequestURI())
		if err != nil {
			return nil, err
		}
		req.URL, req.Host = u, u.Host
	}
	for k, v := range c.credentials() {
		req.Header[k] = v
	}
	resp, err := c.mw.cfg.HTTPClient.Do(req)
	if err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 && revokesAPIToken(req.Method, req.URL.Path) {
		c.revokedAPIToken(req.Context())
	}
	return resp, unavailable(err)
}

// getJSON GETs path from Qelos with the client's credentials and decodes a
// 2xx JSON answer into v; any other answer is an *qelos.APIError.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	return c.callJSON(ctx, http.MethodGet, path, nil, v)
}

// callJSON is getJSON for any method, with body (when not nil) sent as
// JSON; v may be nil when the answer's body does not matter.
func (c *Client) callJSON(ctx context.Context, method, path string, body, v any) error {
	resp, err := c.mw.send(ctx, method, path, body, c.credentials())
	if err != nil {
		return errors.Join(qelos.ErrUnavailable, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return newAPIError(resp)
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
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	if err := c.getJSON(ctx, "/api/me", &u); err != nil {
		return nil, err
	}
	normalizeUser(&u)
	return &u, nil
}

// Workspaces returns the workspaces the user belongs to, each with the
// roles the user holds in it (GET /api/workspaces). The answer is kept for
// Config.Limits.IdentityTTL per credential, so calling it on every request costs
// one upstream call per session per TTL; it is loaded only when called,
// never on every request.
func (c *Client) Workspaces(ctx context.Context) ([]Workspace, error) {
	key := credentialKey(c.credentials())
	now := c.mw.now()
	if list, ok := c.mw.workspaces.get(key, now); ok {
		return list, nil
	}
	v, err, _ := c.mw.workspaces.group.Do(string(key[:]), func() (any, error) {
		var doc wire.WorkspaceList
		if err := c.getJSON(context.WithoutCancel(ctx), "/api/workspaces", &doc); err != nil {
			return nil, err
		}
		list := []Workspace(doc)
		c.mw.workspaces.put(key, list, now.Add(c.mw.cfg.Limits.IdentityTTL))
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]Workspace), nil
}

// workspaceCache keeps GET /api/workspaces per credential, and lets
// concurrent misses for one credential share one call.
type workspaceCache struct {
	*expiring[credKey, []Workspace]
	group singleflight.Group
}

// credentialKey names the workspaces of a set of credential headers in the
// workspace cache.
func credentialKey(h http.Header) credKey {
	var parts []string
	for _, k := range []string{"Authorization", "X-Api-Key", "Cookie"} {
		parts = append(parts, k)
		parts = append(parts, h[k]...)
	}
	return hashKey('w', parts...)
}
