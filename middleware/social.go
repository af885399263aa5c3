package middleware

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// socialStateCookie holds the state of a social sign-in in flight, sealed.
const socialStateCookie = "q_social_state"

var providerName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// SocialLoginURL returns the same-origin path that starts a Qelos social
// sign-in with provider ("google", "github", "linkedin", "facebook")
// through the app's /api proxy, as the Qelos SDK's getSocialLoginUrl builds
// it: /api/auth/<provider>?state=…&returnUrl=…&redirectUrl=…. Qelos sends
// the browser back to returnURL with ?rt=<refreshToken>&state=<state>;
// redirectURL is the provider's callback, normally
// <app origin>/api/auth/<provider>/callback. Empty values are left out.
func SocialLoginURL(provider, state, returnURL, redirectURL string) string {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "returnUrl": returnURL, "redirectUrl": redirectURL} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := "/api/auth/" + url.PathEscape(provider)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// SocialLoginHandler returns a handler that starts a social sign-in with
// provider. It remembers a random state and the same-origin "returnTo" of
// the query (default "/") in a short-lived sealed cookie, then redirects
// the browser to Qelos (through Proxy) so that Qelos returns it to
// callbackPath, which must be served by SocialCallbackHandler.
func (m *Middleware) SocialLoginHandler(provider, callbackPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !providerName.MatchString(provider) || !SafeRedirect(callbackPath) {
			writeError(w, http.StatusInternalServerError, CodeInvalidInput, "SocialLoginHandler: provider must be a lower-case name and callbackPath a same-origin path")
			return
		}
		state, returnTo := randomHex(16), "/"
		if to := r.URL.Query().Get("returnTo"); SafeRedirect(to) {
			returnTo = to
		}
		sealedState, err := m.jar.seal(m.jar.social, sealed{Token: state + "\x00" + returnTo})
		if err != nil {
			Unavailable(w)
			return
		}
		c := m.jar.cookie(m.jar.social.wire, sealedState, int((10 * time.Minute).Seconds()))
		c.SameSite = http.SameSiteLaxMode // must survive the top-level redirect back from the provider
		http.SetCookie(w, c)
		// The app is served over https, but for local development over
		// plain http (on localhost, or anywhere with SecureNever).
		scheme := "https"
		if r.TLS == nil && (!m.jar.secure || loopbackHost(r.Host)) {
			scheme = "http"
		}
		redirect := scheme + "://" + r.Host + "/api/auth/" + provider + "/callback"
		http.Redirect(w, r, SocialLoginURL(provider, state, callbackPath, redirect), http.StatusFound)
	})
}

// SocialCallbackHandler returns the handler for the page Qelos sends the
// browser back to after a social sign-in, with ?rt=<refreshToken>&state=….
// It checks state against the one SocialLoginHandler remembered (so nobody
// can sign a victim in to their own account with a crafted link), exchanges
// the single-use refresh token for a pair, seals it into the session
// cookies, and answers 303 to the remembered same-origin returnTo — a URL
// without the refresh token in it.
//
// Errors: 400 {"code":"INVALID_INPUT"} without rt; 403
// {"code":"FORBIDDEN"} when the state does not match; 401
// {"code":"UNAUTHORIZED"} when Qelos rejects the token; 503
// {"code":"QELOS_UNAVAILABLE"} when Qelos cannot be reached.
func (m *Middleware) SocialCallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, state := r.URL.Query().Get("rt"), r.URL.Query().Get("state")
		if rt == "" {
			writeError(w, http.StatusBadRequest, CodeInvalidInput, "the sign-in callback has no rt parameter")
			return
		}
		s, err := m.jar.open(m.jar.social, cookieValue(r, m.jar.social.wire))
		remembered, returnTo, _ := cutNUL(s.Token)
		if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(remembered)) != 1 {
			writeError(w, http.StatusForbidden, CodeForbidden, "the sign-in state does not match; start the sign-in again")
			return
		}
		http.SetCookie(w, m.jar.cookie(m.jar.social.wire, "", -1))
		pair, err := m.refreshWithin(r.Context(), rt)
		switch {
		case refresh.IsDefinitive(err):
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, "the sign-in link is invalid or was already used")
			return
		case err != nil:
			m.log.Warn("qelos social sign-in: Qelos unavailable", "err", err)
			Unavailable(w)
			return
		}
		a, err := m.startSessionFor(w, r, pair, nil, "")
		if err != nil {
			m.log.Warn("qelos social sign-in: unusable token", "err", err)
			Unavailable(w)
			return
		}
		m.emit(Event{Kind: EventSignedIn, UserID: a.User.ID, Request: r})
		if !SafeRedirect(returnTo) {
			returnTo = "/"
		}
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	})
}

func cutNUL(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loopbackHost reports whether host (with or without a port) is localhost
// or a loopback address, where browsers treat plain http as secure.
func loopbackHost(host string) bool {
	h := stripPort(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
