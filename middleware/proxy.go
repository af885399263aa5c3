package middleware

import (
	"net/http"
	"net/url"

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
	return proxy.New(proxy.Options{
		Target:        target,
		Transport:     proxy.HeaderTimeout(m.cfg.HTTPClient.Transport, m.cfg.Proxy.Timeout), // Proxy.Timeout bounds the wait for Qelos's headers
		Passthrough:   m.cfg.Proxy.Passthrough,
		Logger:        m.log,
		Bearer:        m.proxyBearer,
		PairCookie:    m.jar.pairCookie,
		Answered:      m.proxiedAnswer,
		Fail:          m.fail,
		NoStore:       cookieResponse,
		NoStoreHeader: noStore,
		RewriteDomain: rewriteSetCookieDomain,
	})
}

// proxyBearer is the proxy's Bearer: the access token of the request's
// cookie pair. It uses the Auth Handler found; mounted outside Handler (or
// under a skipped prefix) the proxy opens the pair here, within the same
// budgets. It answers, and returns false, when the request is over budget
// or its pair needed a refresh that Qelos could not give.
func (m *Middleware) proxyBearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	a, seen := m.seenBy(r)
	if !seen && len(r.Header["X-Api-Key"]) == 0 {
		var sc cookieScan
		if err := m.admit(r, &sc); err != nil {
			m.refuseOverBudget(w, r, err)
			return "", false
		}
		a, _ = m.session(w, r, sc.access, sc.refresh, m.now())
		a = bind(a, sc.access)
	}
	if a == nil || a.Mode != qelos.ModeCookiePair {
		return "", true
	}
	if a.User == nil {
		m.fail(w, r, unavailableError(nil)) // a refresh was needed and Qelos could not give one
		return "", false
	}
	return a.AccessToken(), true
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
