package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
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

// socialStateTTL is how long a social sign-in may take: the state cookie's
// Max-Age, and the expiry sealed in it.
const socialStateTTL = 10 * time.Minute

var providerName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// LoginURL is middleware.SocialLoginURL: the same-origin path that starts
// a Qelos social sign-in, as the Qelos SDK's getSocialLoginUrl builds it.
func LoginURL(provider, state, returnURL, redirectURL string) string {
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

// SocialLogin is Middleware.SocialLoginHandler: it remembers a random
// state and the same-origin "returnTo" in a short-lived sealed cookie and
// sends the browser to Qelos.
func (h *Handlers) SocialLogin(provider, callbackPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !providerName.MatchString(provider) || !SafeRedirect(callbackPath) {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusInternalServerError, Code: qelos.CodeInvalidInput, Message: "SocialLoginHandler: provider must be a lower-case name and callbackPath a same-origin path"})
			return
		}
		state, returnTo := randomHex(16), "/"
		if to := r.URL.Query().Get("returnTo"); SafeRedirect(to) {
			returnTo = to
		}
		expires := h.core.Now().Add(socialStateTTL).Unix()
		sealedState, err := h.core.Seal(state + "\x00" + returnTo + "\x00" + strconv.FormatInt(expires, 10))
		if err != nil {
			h.core.Fail(w, r, unavailableError())
			return
		}
		w = h.core.NoStore(w) // sets the state cookie: never cacheable
		c := h.core.StateCookie(sealedState, int(socialStateTTL.Seconds()))
		c.SameSite = http.SameSiteLaxMode // must survive the top-level redirect back from the provider
		http.SetCookie(w, c)
		// The app is served over https, but for local development over
		// plain http (on localhost, or anywhere with SecureNever).
		redirect := h.core.Scheme(r) + "://" + r.Host + "/api/auth/" + provider + "/callback"
		http.Redirect(w, r, LoginURL(provider, state, callbackPath, redirect), http.StatusFound)
	})
}

// SocialCallback is Middleware.SocialCallbackHandler: it checks the state
// once, redeems the refresh token Qelos sent and starts the session.
func (h *Handlers) SocialCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = h.core.NoStore(w) // clears the state cookie, sets the pair: never cacheable
		rt, state := r.URL.Query().Get("rt"), r.URL.Query().Get("state")
		if rt == "" {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "the sign-in callback has no rt parameter"})
			return
		}
		now := h.core.Now()
		s, err := h.core.Open(r)
		remembered, returnTo, expires, ok := parseSocialState(s)
		if err != nil || !ok || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(remembered)) != 1 || !now.Before(expires) {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "the sign-in state does not match; start the sign-in again"})
			return
		}
		switch h.states.claim(remembered, expires, now) {
		case stateUsed:
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "the sign-in state was used already; start the sign-in again"})
			return
		case stateLedgerFull:
			h.core.Logger().Warn("qelos social sign-in: too many sign-ins remembered; refusing until some expire", "max", maxUsedStates)
			h.core.Fail(w, r, unavailableError())
			return
		}
		http.SetCookie(w, h.core.StateCookie("", -1))
		pair, err := h.core.Redeem(r.Context(), rt)
		switch {
		case refresh.IsDefinitive(err):
			h.states.release(remembered) // no sign-in came of it
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized, Message: "the sign-in link is invalid or was already used"})
			return
		case err != nil:
			h.core.Logger().Warn("qelos social sign-in: Qelos unavailable", "err", err)
			h.core.Fail(w, r, unavailableError())
			return
		}
		u, _, err := h.core.Start(w, r, pair, nil, "")
		if err != nil {
			h.core.Logger().Warn("qelos social sign-in: unusable token", "err", err)
			h.core.Fail(w, r, unavailableError())
			return
		}
		h.core.Emit(r, true, u.ID)
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
