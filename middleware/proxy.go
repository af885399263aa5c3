package middleware

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// CodeProxyUpstreamError is the code of the proxy's 502 when Qelos could
// not be reached.
const CodeProxyUpstreamError = "QELOS_PROXY_UPSTREAM_ERROR"

// CodeProxyBadPath is the code of a proxied path refused for its
// encoded dot-segments.
const CodeProxyBadPath = "QELOS_PROXY_BAD_PATH"

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

// stripIdentityHeaders removes identityHeaders and every X-Qelos-* header.
func stripIdentityHeaders(h http.Header) {
	for _, k := range identityHeaders {
		delete(h, k)
	}
	for k := range h {
		if len(k) >= 8 && strings.EqualFold(k[:8], "X-Qelos-") {
			delete(h, k)
		}
	}
}

// encodedDotSegment reports whether an escaped path holds a dot-segment
// written with percent-encoding ("%2e%2e", ".%2e", "..%2f", "%2e%2e%5c",
// or double-encoded), which a server behind Qelos might decode and resolve
// after the proxy forwarded it. A plain "/../" never gets here: net/http's
// router redirects it to the cleaned path first.
func encodedDotSegment(escaped string) bool {
	if !strings.Contains(escaped, "%") {
		return false
	}
	p := strings.ToLower(escaped)
	for range 3 { // undo up to triple encoding
		p = strings.NewReplacer("%25", "%", "%2e", ".", "%2f", "/", "%5c", "/").Replace(p)
	}
	p = strings.ReplaceAll(p, "\\", "/")
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return true
		}
	}
	return false
}

// Proxy returns the same-origin reverse proxy to Qelos, for the browser's
// /api/** calls, so a single-page app talks only to this app's origin:
//
//	mux.Handle("/api/", mw.Proxy())
//
// Mount it inside Handler, where it uses the Auth Handler found (the
// request's pair, refreshed if it expired), or outside it, or under a
// SkipPaths prefix, where it opens the pair itself. The examples mount it
// inside:
//
//	mux.Handle("/api/", mw.Proxy())
//	http.ListenAndServe(addr, mw.Handler(mux))
//
// It forwards the method, the full path and raw query and the streamed body
// to the Qelos target, and copies the answer back with every Set-Cookie's
// Domain rewritten to this app's host. Hop-by-hop headers are dropped, no
// X-Forwarded-* header is added, and client-sent identity and routing
// headers (tenant, user, tenanthost, x-qelos-*, x-forwarded-*, x-real-ip;
// see identityHeaders) are stripped. A path with encoded dot-segments
// (%2e%2e, ..%2f) is refused with 400 {"code":"QELOS_PROXY_BAD_PATH"}
// instead of forwarded. A request carrying the
// app's cookie pair is sent with its access token as the bearer — refreshed
// first if it expired — and without the pair's cookies.
//
// Mount it before anything that reads request bodies. With DisableProxy it
// answers 404. Errors: 502 {"code":"QELOS_PROXY_UPSTREAM_ERROR"} when Qelos
// cannot be reached; 503 {"code":"QELOS_UNAVAILABLE"} when the pair needed a
// refresh and Qelos could not give one.
func (m *Middleware) Proxy() http.Handler {
	if m.cfg.DisableProxy {
		return http.NotFoundHandler()
	}
	target, _ := url.Parse(m.target) // New checked it
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			st := pr.In.Context().Value(proxyKey{}).(*proxyState)
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.Host = target.Host
			stripIdentityHeaders(pr.Out.Header)
			// The pair is this app's: Qelos gets its access token as the
			// bearer, never the sealed cookies (readable without a block key).
			m.dropPairCookies(pr.Out.Header)
			if st.bearer != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+st.bearer)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			st := resp.Request.Context().Value(proxyKey{}).(*proxyState)
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) > 0 {
				resp.Header.Del("Set-Cookie")
				for _, c := range cookies {
					resp.Header.Add("Set-Cookie", RewriteSetCookieDomain(c, st.host))
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The details (addresses, ports, the transport's words) are
			// for the log; the browser gets the stable code.
			m.log.Warn("qelos proxy: upstream error", "method", r.Method, "path", r.URL.Path, "err", scrubURL(err))
			writeError(w, http.StatusBadGateway, CodeProxyUpstreamError, "Qelos could not be reached; try again shortly")
		},
		Transport: m.proxyTransport(),
		ErrorLog:  slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if encodedDotSegment(r.URL.EscapedPath()) {
			writeError(w, http.StatusBadRequest, CodeProxyBadPath, "the path holds an encoded dot-segment")
			return
		}
		st := &proxyState{host: r.Host}
		a, seen := m.seenBy(r)
		if !seen && len(r.Header["X-Api-Key"]) == 0 {
			// Mounted outside Handler (or under a skipped prefix): open
			// the pair here, within the same budgets.
			var sc cookieScan
			if err := m.admit(r, &sc); err != nil {
				m.refuseOverBudget(w, r, err)
				return
			}
			a, _ = m.session(w, r, sc.access, sc.refresh)
		}
		if a != nil && a.Mode == ModeCookiePair {
			if a.User == nil {
				m.fail(w, r, http.StatusServiceUnavailable, CodeQelosUnavailable, msgUnavailable) // a refresh was needed and Qelos could not give one
				return
			}
			st.bearer = a.accessToken
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyKey{}, st)))
	})
}

// seenBy returns the Auth Handler attached to r, and whether this
// Middleware's Handler authenticated r (rather than skipping it, or never
// seeing it). The Auth is nil for an anonymous request.
func (m *Middleware) seenBy(r *http.Request) (*Auth, bool) {
	a, _ := r.Context().Value(contextKey{}).(*Auth)
	if a == nil || a.mw != m || a.skipped {
		return nil, false
	}
	if a.mark() {
		return nil, true
	}
	return a, true
}

// proxyTransport is the configured transport, with ProxyTimeout bounding
// the wait for Qelos's response headers.
func (m *Middleware) proxyTransport() http.RoundTripper {
	rt := m.cfg.HTTPClient.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return headerTimeout{rt: rt, d: m.cfg.ProxyTimeout}
}

// headerTimeout gives up a round trip whose response headers take longer
// than d; once they have come, the body streams for as long as it takes.
// It wraps any RoundTripper and shares its connections.
type headerTimeout struct {
	rt http.RoundTripper
	d  time.Duration
}

var errProxyTimeout = errors.New("qelos proxy: no answer within Config.ProxyTimeout")

func (h headerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(h.d, func() { cancel(errProxyTimeout) })
	resp, err := h.rt.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		if context.Cause(ctx) == errProxyTimeout {
			err = errProxyTimeout
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

type proxyKey struct{}

// proxyState is what the proxy's hooks need to know of the inbound request.
type proxyState struct {
	host   string // inbound Host, for the Set-Cookie Domain rewrite
	bearer string // the pair's access token, if the request had a pair
}

// dropPairCookies removes the app's own session cookies from a Cookie
// header bound for Qelos, which has no use for them.
func (m *Middleware) dropPairCookies(h http.Header) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if !m.jar.pairCookie(name) && strings.TrimSpace(part) != "" {
				kept = append(kept, strings.TrimSpace(part))
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h.Set("Cookie", strings.Join(kept, "; "))
}

// scrubURL drops the URL from a transport error: its query may hold a
// credential (a social callback's rt).
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return err
}
