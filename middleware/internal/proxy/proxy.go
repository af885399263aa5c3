// Package proxy is the middleware's /api/** reverse proxy to Qelos: the
// handler itself (New), which request headers never reach Qelos, which
// paths and upgrades are refused, the wait for Qelos's response headers,
// and the user documents scrubbed of secrets. What it needs of the
// sessions (the pair's access token, which cookies are the app's own, the
// revocation hook, the error handler) it is given in Options by
// Middleware.Proxy, its entry point.
package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
)

// identityHeaders are request headers a client must never send Qelos,
// because Qelos's gateway or its services read them as identity or routing:
//
//   - Tenant: the gateway honours a client's tenant on its default host;
//   - Tenanthost: the host the auth service builds cookies and redirects for;
//   - User: the gateway's base64 user for the services behind it;
//   - X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-For, Forwarded,
//     X-Real-Ip: the gateway takes the forwarded host as the tenant host,
//     services build URLs from the forwarded scheme and log client IPs;
//   - every X-Qelos-* header (X-Qelos-User-Id, X-Qelos-Workspace-Id,
//     X-Qelos-Tenant, X-Qelos-User, X-Qelos-Roles…): identity as other
//     integrators pass it downstream, or as Qelos answers it.
//
// The credential headers (Authorization, X-Api-Key, Qelos's session cookie)
// and X-Impersonate-* (honoured by Qelos for privileged callers only) pass.
var identityHeaders = []string{"Tenant", "Tenanthost", "User", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-For", "Forwarded", "X-Real-Ip"}

// StripIdentityHeaders removes identityHeaders and every X-Qelos-* header.
func StripIdentityHeaders(h http.Header) {
	for _, k := range identityHeaders {
		delete(h, k)
	}
	for k := range h {
		if len(k) >= 8 && strings.EqualFold(k[:8], "X-Qelos-") {
			delete(h, k)
		}
	}
}

// maxPath bounds the escaped path of a proxied request, checked
// before anything else: Qelos (Node) refuses a request line longer than its
// 16 KiB header limit anyway.
const maxPath = 8 << 10

// maxPathDecodes bounds how many rounds of percent-decoding dotSegment
// undoes. No honest path is encoded that many times over; one that is still
// changing after them is refused as if it held a dot-segment.
const maxPathDecodes = 8

// dotSegment reports whether an escaped path holds a dot-segment ("." or
// "..", between slashes or backslashes) at any depth of percent-encoding
// ("%2e%2e", ".%2e", "..%2f", "%252e%252e", "%2525252e%2525252e", …),
// which a server behind Qelos might decode and resolve after the proxy
// forwarded it. The path is decoded until it stops changing, at most
// maxPathDecodes times; one still encoded after that counts as a
// dot-segment. A plain "/../" is caught too, for a Proxy mounted where no
// router has cleaned the path.
//
// Decoding to a fixed point, rather than refusing every "%25", keeps honest
// paths that hold a literal '%' (an id or a file name "100%25.pdf")
// working; the work is bounded by maxPath × maxPathDecodes.
func dotSegment(escaped string) bool {
	p := escaped
	for i := 0; ; i++ {
		if hasdotSegment(p) {
			return true
		}
		d := percentDecode(p)
		if d == p {
			return false
		}
		if i == maxPathDecodes {
			return true
		}
		p = d
	}
}

// hasDotSegment reports whether p, split at '/' and '\\', has a "." or ".."
// segment.
func hasdotSegment(p string) bool {
	for len(p) > 0 {
		i := strings.IndexAny(p, "/\\")
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// percentDecode undoes one round of percent-encoding, leaving a '%' that
// is not followed by two hex digits as it is.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// websocketUpgrade reports whether h asks to switch to WebSocket.
func websocketUpgrade(h http.Header) bool {
	for _, v := range h["Upgrade"] {
		if strings.Contains(strings.ToLower(v), "websocket") {
			return true
		}
	}
	return false
}

// Refuse returns the refusal of a request the proxy must not forward, or
// nil: 414 qelos.CodeProxyBadPath for an escaped path longer than 8 KiB,
// 400 qelos.CodeProxyBadPath for a dot-segment at any depth of
// percent-encoding, 400 qelos.CodeProxyUpgradeRefused for a WebSocket
// upgrade.
func Refuse(r *http.Request) error {
	escaped := r.URL.EscapedPath()
	switch {
	case len(escaped) > maxPath:
		return &qelos.Error{Status: http.StatusRequestURITooLong, Code: qelos.CodeProxyBadPath, Message: "the path is longer than 8 KiB"}
	case dotSegment(escaped):
		return &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeProxyBadPath, Message: "the path holds a dot-segment"}
	case websocketUpgrade(r.Header):
		return &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeProxyUpgradeRefused, Message: "the Qelos proxy does not switch protocols"}
	}
	return nil
}

// HeaderTimeout returns rt (http.DefaultTransport when nil) giving up a
// round trip whose response headers take longer than d; the body then
// streams for as long as it takes.
func HeaderTimeout(rt http.RoundTripper, d time.Duration) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return headerTimeout{rt: rt, d: d}
}

// headerTimeout gives up a round trip whose response headers take longer
// than d; once they have come, the body streams for as long as it takes.
// It wraps any RoundTripper and shares its connections.
type headerTimeout struct {
	rt http.RoundTripper
	d  time.Duration
}

var errTimeout = errors.New("qelos proxy: no answer within Config.Proxy.Timeout")

func (h headerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(h.d, func() { cancel(errTimeout) })
	resp, err := h.rt.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		if context.Cause(ctx) == errTimeout {
			err = errTimeout
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a proxied round trip's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}
