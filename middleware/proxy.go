package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware/internal/proxy"
)

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
// see identityHeaders) are stripped.
//
// Credentials: a request carrying the app's cookie pair is sent with its
// access token as the bearer — refreshed first if it expired — and with no
// credential the browser sent: no Cookie header at all (the pair's
// cookies, a planted qlt_<tenant> or token cookie, the app's other
// cookies, none of which Qelos needs beside the bearer), no x-api-key and
// no Authorization of its own. Any other request keeps its Authorization
// and x-api-key, loses the pair's cookies, and loses Qelos's session
// cookies too unless Config.Proxy.Passthrough.
//
// Refusals, before anything is forwarded: a path longer than 8 KiB is 414;
// a path with a dot-segment at any depth of percent-encoding (%2e%2e,
// ..%2f, %252e%252e, …) is 400 {"code":"QELOS_PROXY_BAD_PATH"}; a
// WebSocket upgrade is 400 {"code":"QELOS_PROXY_UPGRADE_REFUSED"} (other
// Upgrade and Connection headers are dropped, so nothing is ever switched
// to another protocol).
//
// Answers: one that sets a cookie is made uncacheable when its headers
// are written (Cache-Control: private, no-store and Vary: Cookie, whatever
// Qelos or anyone else said). The JSON answers of the Qelos routes that
// can return a stored user document — POST /api/auth/callback (the social
// exchange, which returns the whole document) and /api/users with a
// "select" query (privileged callers choose the fields) — are relayed
// without any "password", "salt" or "tokens" field; see proxy.ScrubUserSecrets.
//
// Mount it before anything that reads request bodies. With Config.Proxy.Disable it
// answers 404. Errors: 502 {"code":"QELOS_PROXY_UPSTREAM_ERROR"} when Qelos
// cannot be reached (or answered something that could not be relayed
// safely); 503 {"code":"QELOS_UNAVAILABLE"} when the pair needed a refresh
// and Qelos could not give one.
func (m *Middleware) Proxy() http.Handler {
	if m.cfg.Proxy.Disable {
		return http.NotFoundHandler()
	}
	target, _ := url.Parse(m.target) // New checked it
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			st := pr.In.Context().Value(proxyKey{}).(*proxyState)
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.Host = target.Host
			h := pr.Out.Header
			proxy.StripIdentityHeaders(h)
			// ReverseProxy re-adds an upgrade the client asked for;
			// nothing is switched to another protocol here.
			delete(h, "Upgrade")
			delete(h, "Connection")
			if st.bearer != "" {
				// The middleware's credential, and no credential of the
				// browser's: Qelos prefers a cookie to a bearer and an
				// x-api-key to both, so any of them would win.
				delete(h, "Cookie")
				delete(h, "X-Api-Key")
				h.Set("Authorization", "Bearer "+st.bearer)
			} else {
				m.dropCookies(h)
			}
			if st.scrub {
				// The answer is read and rewritten: it must come as plain
				// JSON.
				delete(h, "Accept-Encoding")
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			m.proxiedAnswer(resp)
			st := resp.Request.Context().Value(proxyKey{}).(*proxyState)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return errProxyUpgrade
			}
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) > 0 {
				resp.Header.Del("Set-Cookie")
				for _, c := range cookies {
					resp.Header.Add("Set-Cookie", RewriteSetCookieDomain(c, st.host))
				}
				noStore(resp.Header)
			}
			if st.scrub {
				return proxy.ScrubUserSecrets(resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The details (addresses, ports, the transport's words) are
			// for the log; the browser gets the stable code.
			m.log.Warn("qelos proxy: upstream error", "method", r.Method, "path", r.URL.Path, "err", scrubURL(err))
			m.fail(w, r, &qelos.Error{Status: http.StatusBadGateway, Code: qelos.CodeProxyUpstreamError, Message: "Qelos could not be reached; try again shortly", Err: scrubURL(err)})
		},
		Transport: m.proxyTransport(),
		ErrorLog:  slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := proxy.Refuse(r); err != nil {
			m.fail(w, r, err)
			return
		}
		st := &proxyState{host: r.Host, scrub: proxy.UserDocumentRoute(r)}
		a, seen := m.seenBy(r)
		if !seen && len(r.Header["X-Api-Key"]) == 0 {
			// Mounted outside Handler (or under a skipped prefix): open
			// the pair here, within the same budgets.
			var sc cookieScan
			if err := m.admit(r, &sc); err != nil {
				m.refuseOverBudget(w, r, err)
				return
			}
			a, _ = m.session(w, r, sc.access, sc.refresh, m.now())
			a = bind(a, sc.access)
		}
		if a != nil && a.Mode == qelos.ModeCookiePair {
			if a.User == nil {
				m.fail(w, r, unavailableError(nil)) // a refresh was needed and Qelos could not give one
				return
			}
			st.bearer = a.AccessToken()
		}
		// A pair refreshed or cleared here, or a Set-Cookie of Qelos's:
		// the answer is made uncacheable when its headers are written.
		rp.ServeHTTP(cookieResponse(w), r.WithContext(context.WithValue(r.Context(), proxyKey{}, st)))
	})
}

// errProxyUpgrade is why an answer switching protocols is not relayed.
var errProxyUpgrade = errors.New("qelos proxy: Qelos answered 101 Switching Protocols, which is not relayed")

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

// proxyTransport is the configured transport, with Proxy.Timeout bounding
// the wait for Qelos's response headers.
func (m *Middleware) proxyTransport() http.RoundTripper {
	return proxy.HeaderTimeout(m.cfg.HTTPClient.Transport, m.cfg.Proxy.Timeout)
}

type proxyKey struct{}

// proxyState is what the proxy's hooks need to know of the inbound request.
type proxyState struct {
	host   string // inbound Host, for the Set-Cookie Domain rewrite
	bearer string // the pair's access token, if the request had a pair
	scrub  bool   // the answer may hold a user document: see proxy.ScrubUserSecrets
}

// dropCookies removes from a Cookie header bound for Qelos the app's own
// session cookies, which Qelos has no use for, and, unless
// Config.Proxy.Passthrough, Qelos's session cookies (qlt_*, token), which only
// passthrough lets the browser use. A name is compared trimmed and in any
// case, so no spelling Qelos's cookie parser might accept slips through.
func (m *Middleware) dropCookies(h http.Header) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			name = strings.TrimSpace(name)
			if part == "" || m.jar.pairCookie(name) || !m.cfg.Proxy.Passthrough && qelosSessionCookie(name) {
				continue
			}
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// qelosSessionCookie reports whether name, in any case, is one Qelos reads
// as its session: qlt_<tenant>, or the fallback "token". It is
// qelosCookieName widened to every spelling, for stripping: no variant a
// parser upstream might fold can pass beside an injected credential.
func qelosSessionCookie(name string) bool {
	return len(name) >= 4 && strings.EqualFold(name[:4], "qlt_") || strings.EqualFold(name, "token")
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
