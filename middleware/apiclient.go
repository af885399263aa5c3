package middleware

import (
	"context"
	"net/http"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
	"github.com/qelos-io/integrator-go/qelosapi"
	"golang.org/x/sync/singleflight"
)

// ClientFrom returns the request-scoped client of a request the middleware
// identified, and false for an anonymous request or one it did not see.
// For calls on behalf of the app itself use Middleware.ServiceClient.
func ClientFrom(ctx context.Context) (*qelosapi.Client, bool) {
	a, ok := FromContext(ctx)
	if !ok || a.mw == nil || a.User == nil {
		return nil, false
	}
	return a.mw.clientFor(a), true
}

// ServiceClient returns a client that calls Qelos with Config.APIToken (or
// with no credential when there is none).
func (m *Middleware) ServiceClient() *qelosapi.Client { return m.clientFor(nil) }

// clientFor returns the client that calls Qelos as a identifies its user
// to Qelos, or as the app when a is nil.
func (m *Middleware) clientFor(a *Auth) *qelosapi.Client {
	userID := ""
	if a != nil && a.User != nil {
		userID = a.User.ID
	}
	return (*qelosapi.Client)(upstream.NewClient(apiConn{m}, m.credentials(a), userID))
}

// credentials returns the headers that identify a's user to Qelos: the
// access token in force (a cached session's is opened from the request's
// cookie), else the request's own credential. Only the app's own client
// (a nil) calls with Config.APIToken: a user's client never falls back to
// the app's credential.
func (m *Middleware) credentials(a *Auth) http.Header {
	if a == nil {
		if m.cfg.APIToken == "" {
			return nil
		}
		return http.Header{"X-Api-Key": {m.cfg.APIToken}}
	}
	if tok := a.AccessToken(); tok != "" {
		return http.Header{"Authorization": {"Bearer " + tok}}
	}
	return a.cred
}

// apiConn is the middleware's upstream.Conn: the qelosapi.Client calls
// Qelos with the middleware's HTTP client, timeout and workspace cache.
type apiConn struct{ m *Middleware }

func (c apiConn) Target() string { return c.m.target }

func (c apiConn) Send(ctx context.Context, method, path string, body any, header http.Header) (*upstream.Answer, error) {
	return c.m.send(ctx, method, path, body, header)
}

func (c apiConn) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.m.cfg.HTTPClient.Do(req)
	return resp, unavailable(err)
}

func (c apiConn) RevokedAPIToken(ctx context.Context, userID string) {
	c.m.revokeAPIKeysOf(ctx, userID)
}

// Workspaces keeps GET /api/workspaces per credential for
// Config.Limits.IdentityTTL.
func (c apiConn) Workspaces(ctx context.Context, header http.Header, load func(context.Context) ([]qelos.Workspace, error)) ([]qelos.Workspace, error) {
	m := c.m
	key := credentialKey(header)
	now := m.now()
	if list, ok := m.workspaces.get(key, now); ok {
		return list, nil
	}
	v, err, _ := m.workspaces.group.Do(string(key[:]), func() (any, error) {
		list, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		m.workspaces.put(key, list, now.Add(m.cfg.Limits.IdentityTTL))
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]qelos.Workspace), nil
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
