// Package upstream is the seam between the Qelos API client (package
// qelosapi) and the middleware that owns the connection to Qelos: its
// HTTP client and timeouts, the workspace cache and what follows a
// revoked API token. The client calls Qelos through a Conn; the
// middleware provides one.
package upstream

import (
	"context"
	"net/http"
	"strings"

	"github.com/qelos-io/integrator-go"
)

// Answer is a fully read Qelos answer.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Conn is the middleware's connection to Qelos as the API client uses it.
type Conn interface {
	// Target is Qelos's base URL, without a trailing slash.
	Target() string
	// Send sends one call to Qelos with the credential headers (body, when
	// not nil, as JSON) within the upstream timeout and reads the whole
	// answer; a transport failure matches qelos.ErrUnavailable.
	Send(ctx context.Context, method, path string, body any, header http.Header) (*Answer, error)
	// Do sends req, an absolute request, with the configured HTTP client;
	// a transport failure matches qelos.ErrUnavailable.
	Do(req *http.Request) (*http.Response, error)
	// Workspaces returns the workspaces of the credential headers from
	// the cache, or load's answer, which it keeps; concurrent misses for
	// one credential share one load.
	Workspaces(ctx context.Context, header http.Header, load func(context.Context) ([]qelos.Workspace, error)) ([]qelos.Workspace, error)
	// RevokedAPIToken is told that one of the user's API tokens was
	// revoked at Qelos; userID is "" when the user is unknown.
	RevokedAPIToken(ctx context.Context, userID string)
}

// Client is the state of a qelosapi.Client, whose type is defined on it:
// the middleware makes one with NewClient and converts it
// ((*qelosapi.Client)(c)), so applications get a client only from the
// middleware and never see what it holds.
type Client struct {
	conn   Conn
	header http.Header
	userID string
}

// NewClient returns the state of a client that calls Qelos through conn
// with the credential headers header, on behalf of userID ("" for the
// app itself).
func NewClient(conn Conn, header http.Header, userID string) *Client {
	return &Client{conn: conn, header: header, userID: userID}
}

// Conn is the connection the client calls Qelos through.
func (c *Client) Conn() Conn { return c.conn }

// Header is the credential headers that identify the client's user to
// Qelos.
func (c *Client) Header() http.Header { return c.header }

// UserID is the id of the client's user, "" for the app itself.
func (c *Client) UserID() string { return c.userID }

// RevokesAPIToken reports whether a request revokes one of the user's API
// tokens at Qelos (DELETE /api/me/api-tokens/{id}). The match is
// deliberately loose (Qelos's router ignores case and a trailing slash),
// since revoking too often only costs a lookup.
func RevokesAPIToken(method, path string) bool {
	return method == http.MethodDelete && strings.Contains(strings.ToLower(path), "/api-tokens/")
}
