package middleware

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/refresh"
)

// socialStateCookie holds the state of a social sign-in in flight, sealed.
const socialStateCookie = "q_social_state"

// socialStateTTL is how long a social sign-in may take: the state cookie's
// Max-Age, and the expiry sealed in it.
const socialStateTTL = 10 * time.Minute

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
			m.fail(w, r, &qelos.Error{Status: http.StatusInternalServerError, Code: qelos.CodeInvalidInput, Message: "SocialLoginHandler: provider must be a lower-case name and callbackPath a same-origin path"})
			return
		}
		state, returnTo := randomHex(16), "/"
		if to := r.URL.Query().Get("returnTo"); SafeRedirect(to) {
			returnTo = to
		}
		expires := m.now().Add(socialStateTTL).Unix()
		sealedState, err := m.jar.seal(m.jar.social, sealed{Token: state + "\x00" + returnTo + "\x00" + strconv.FormatInt(expires, 10)})
		if err != nil {
			m.fail(w, r, unavailableError(nil))
			return
		}
		w = cookieResponse(w) // sets the state cookie: never cacheable
		c := m.jar.cookie(m.jar.social.wire, sealedState, int(socialStateTTL.Seconds()))
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
// A state is good for one sign-in, within 10 minutes of its start: its
// expiry is sealed in the state cookie, and a state that signed someone in
// is remembered as used until it expires (at most maxUsedStates of them,
// about 2 MiB), so a kept pair of state and state cookie cannot be
// replayed. A state whose refresh token Qelos refused is not used up.
//
// Errors: 400 {"code":"INVALID_INPUT"} without rt; 403
// {"code":"FORBIDDEN"} when the state does not match, has expired or was
// used; 401 {"code":"UNAUTHORIZED"} when Qelos rejects the token; 503
// {"code":"QELOS_UNAVAILABLE"} when Qelos cannot be reached, or while
// maxUsedStates sign-ins are remembered.
func (m *Middleware) SocialCallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = cookieResponse(w) // clears the state cookie, sets the pair: never cacheable
		rt, state := r.URL.Query().Get("rt"), r.URL.Query().Get("state")
		if rt == "" {
			m.fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "the sign-in callback has no rt parameter"})
			return
		}
		now := m.now()
		s, err := m.jar.open(m.jar.social, cookieValue(r, m.jar.social.wire))
		remembered, returnTo, expires, ok := parseSocialState(s.Token)
		if err != nil || !ok || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(remembered)) != 1 || !now.Before(expires) {
			m.fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "the sign-in state does not match; start the sign-in again"})
			return
		}
		switch m.socialStates.claim(remembered, expires, now) {
		case stateUsed:
			m.fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "the sign-in state was used already; start the sign-in again"})
			return
		case stateLedgerFull:
			m.log.Warn("qelos social sign-in: too many sign-ins remembered; refusing until some expire", "max", maxUsedStates)
			m.fail(w, r, unavailableError(nil))
			return
		}
		http.SetCookie(w, m.jar.cookie(m.jar.social.wire, "", -1))
		pair, err := m.refreshWithin(r.Context(), rt)
		switch {
		case refresh.IsDefinitive(err):
			m.socialStates.release(remembered) // no sign-in came of it
			m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized, Message: "the sign-in link is invalid or was already used"})
			return
		case err != nil:
			m.log.Warn("qelos social sign-in: Qelos unavailable", "err", err)
			m.fail(w, r, unavailableError(nil))
			return
		}
		a, err := m.startSessionFor(w, r, pair, nil, "")
		if err != nil {
			m.log.Warn("qelos social sign-in: unusable token", "err", err)
			m.fail(w, r, unavailableError(nil))
			return
		}
		m.emit(Event{Kind: EventSignedIn, UserID: a.User.ID, Request: r})
		if !SafeRedirect(returnTo) {
			returnTo = "/"
		}
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	})
}

// parseSocialState reads the sealed state "state\x00returnTo\x00expiry".
func parseSocialState(token string) (state, returnTo string, expires time.Time, ok bool) {
	rest, exp, found := strings.Cut(token, "\x00")
	if !found {
		return "", "", time.Time{}, false
	}
	state = rest
	i := strings.LastIndexByte(exp, 0)
	if i < 0 {
		return "", "", time.Time{}, false
	}
	returnTo, exp = exp[:i], exp[i+1:]
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", "", time.Time{}, false
	}
	return state, returnTo, time.Unix(sec, 0), true
}

// maxUsedStates bounds how many used social states are remembered: each
// costs a 16-byte key, its expiry and the map's overhead, under 64 bytes,
// so at most about 2 MiB. Only sign-ins that Qelos did not refuse are
// remembered, for at most socialStateTTL each.
const maxUsedStates = 1 << 15

// stateLedger remembers the social states that were used, until they
// expire.
type stateLedger struct {
	mu   sync.Mutex
	used map[[16]byte]time.Time
}

type claimResult int

const (
	stateClaimed claimResult = iota
	stateUsed
	stateLedgerFull
)

// claim records state as used until expires, unless it was used already
// or the ledger is full of states that have not expired yet.
func (l *stateLedger) claim(state string, expires, now time.Time) claimResult {
	k, ok := stateKey(state)
	if !ok {
		return stateUsed // not a state this app makes
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if exp, ok := l.used[k]; ok && now.Before(exp) {
		return stateUsed
	}
	if len(l.used) >= maxUsedStates {
		for k, exp := range l.used {
			if !now.Before(exp) {
				delete(l.used, k)
			}
		}
		if len(l.used) >= maxUsedStates {
			return stateLedgerFull
		}
	}
	if l.used == nil {
		l.used = make(map[[16]byte]time.Time)
	}
	l.used[k] = expires
	return stateClaimed
}

// release forgets a claimed state.
func (l *stateLedger) release(state string) {
	if k, ok := stateKey(state); ok {
		l.mu.Lock()
		delete(l.used, k)
		l.mu.Unlock()
	}
}

// stateKey is a state (randomHex(16)) as 16 bytes.
func stateKey(state string) (k [16]byte, ok bool) {
	if len(state) != 32 {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(state))
	return k, err == nil
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
