package middleware

// The cookie-pair session: open it (session, openSession), refresh it
// (refreshSession, exchange, recheckWorkspace), and issue it (issue, the one
// step sign-in, refresh and workspace switch share). The handlers that
// start and end sessions are in signin.go.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// session authenticates r by the app's cookie pair, whose sealed values
// admit found: from the cache when its sealed access cookie was opened
// before (the warm path), else by opening the pair and refreshing it when
// it is due. ok is false when r carries neither cookie; a nil Auth with ok
// is a rejected (now cleared) session. Handler and Proxy both come here.
func (m *Middleware) session(w http.ResponseWriter, r *http.Request, access, refreshCookie string) (a *Auth, ok bool) {
	var now time.Time
	if access != "" {
		now = m.now()
		if a, ok := m.cache.get(access, now); ok {
			if a.session != "" && m.refresher.RevokedKey(r.Context(), a.session, false) {
				m.cache.remove(access)
				m.reject(w, r, errSignedOut)
				return nil, true
			}
			return m.resolveWorkspace(r, a), true
		}
	}
	if access == "" && refreshCookie == "" {
		return nil, false
	}
	if now.IsZero() {
		now = m.now()
	}
	return m.openSession(w, r, access, refreshCookie, now), true
}

// openSession opens the cookie pair, refreshing it when the access token is
// missing or expiring.
func (m *Middleware) openSession(w http.ResponseWriter, r *http.Request, access, refreshCookie string, now time.Time) *Auth {
	var current *Auth
	if access != "" {
		s, err := m.jar.open(m.jar.access, access)
		if err != nil {
			m.reject(w, r, err)
			return nil
		}
		t, err := m.tokens.readAccess(s.Token)
		if err != nil {
			m.reject(w, r, err)
			return nil
		}
		// A session signed out on another replica is known here through
		// the shared store: in memory at once when this replica was running
		// (the store tells it), else by asking, once per cookie, before it
		// is cached. An expiring session is checked when it is exchanged.
		current = m.newAuth(t, s)
		if refreshAt := m.refreshAt(t); now.Before(refreshAt) {
			var refreshTok string
			if rs, err := m.jar.open(m.jar.refresh, refreshCookie); err == nil {
				refreshTok = rs.Token
			}
			current.session = sessionKey(s.Token, refreshTok)
			if m.refresher.RevokedKey(r.Context(), current.session, true) {
				m.reject(w, r, errSignedOut)
				return nil
			}
			k, pinned := cacheKey(access, r.Header["Cookie"])
			m.cache.putPinned(k, current, refreshAt, pinned)
			return m.resolveWorkspace(r, current)
		}
	}
	if refreshCookie == "" {
		if current != nil && m.valid(current.expires, now) {
			return m.resolveWorkspace(r, current) // expiring, but nothing to refresh with yet
		}
		m.reject(w, r, errors.New("access token expired and no refresh cookie"))
		return nil
	}
	return m.refreshSession(w, r, refreshCookie, current, now)
}

// refreshSession exchanges the pair in the refresh cookie for a new one, writes it
// back, and returns the refreshed Auth. current is the Auth from the
// expiring access cookie, if there was one.
func (m *Middleware) refreshSession(w http.ResponseWriter, r *http.Request, refreshCookie string, current *Auth, now time.Time) *Auth {
	s, err := m.jar.open(m.jar.refresh, refreshCookie)
	if err != nil {
		m.reject(w, r, err)
		return nil
	}
	if exp, err := m.tokens.readExpiry(s.Token); err != nil || (!exp.IsZero() && !m.valid(exp, now)) {
		m.reject(w, r, errors.Join(errors.New("refresh token expired or unreadable"), err))
		return nil
	}
	pair, t, err := m.exchange(r.Context(), s.Token, now)
	if err != nil {
		m.emit(Event{Kind: EventRefreshFailed, UserID: current.userID(), Err: err, Request: r})
		switch {
		case refresh.IsDefinitive(err):
			m.jar.clear(w, r)
			return nil
		case current != nil && m.valid(current.expires, now):
			return m.resolveWorkspace(r, current) // still valid: serve it, refresh next time
		}
		return &Auth{Mode: ModeCookiePair, Err: err, mw: m}
	}
	if t == nil {
		// Qelos answered with a token this app cannot read: a configuration
		// error (JWTSecret? Tenant?) that no retry will fix.
		m.reject(w, r, errors.New("refreshed access token is unreadable"))
		return nil
	}
	ws := sessionWorkspace(s, t.user.Workspace)
	none := ws == nil
	if ws != nil {
		ws = m.recheckWorkspace(r.Context(), pair.AccessToken, ws)
		none = ws == nil
	}
	a, err := m.issue(w, r, pair, *t, sealed{Workspace: ws, NoWorkspace: none, Email: s.Email}, now)
	if err != nil {
		return &Auth{Mode: ModeCookiePair, Err: unavailable(err), mw: m}
	}
	m.emit(Event{Kind: EventRefreshed, UserID: a.User.ID, Request: r})
	return m.resolveWorkspace(r, a)
}

// issue is the one step that starts or renews a session — sign-in,
// refresh and workspace switch all come here: it seals pair into the
// cookies on w, each carrying rec's workspace and email, and caches and
// returns the session's Auth until it needs a refresh. t is the access
// token, read; r is the request being answered (nil: unknown), whose stale
// cookie chunks are cleared.
func (m *Middleware) issue(w http.ResponseWriter, r *http.Request, pair refresh.Pair, t accessToken, rec sealed, now time.Time) (*Auth, error) {
	access, refreshTok := rec, rec
	access.Token, refreshTok.Token = pair.AccessToken, pair.RefreshToken
	sa, err := m.writePair(w, r, access, refreshTok, now)
	if err != nil {
		return nil, err
	}
	a := m.newAuth(t, access)
	a.refreshToken = pair.RefreshToken
	a.session = sessionKey(pair.AccessToken, pair.RefreshToken)
	m.cache.put(sa, a, m.refreshAt(t))
	return a, nil
}

// StartSession seals pair into the session cookies on w, recording ws (which
// may be nil) as the session's active workspace, and returns the new
// session's Auth. The sign-in handler uses it; use it too for pairs obtained
// another way (a custom sign-in form, an OAuth callback, a migration from
// another cookie format). It fails when the access token is unreadable.
//
// The returned Auth has a working Client (ClientFrom finds it once the Auth
// is in a context with NewContext), which makes it the way to build an Auth
// for unit-testing a handler that calls Qelos; qelostest.Kit does this.
func (m *Middleware) StartSession(w http.ResponseWriter, pair refresh.Pair, ws *Workspace) (*Auth, error) {
	return m.startSessionFor(w, nil, pair, ws, "")
}

// startSessionFor is StartSession answering r, whose stale cookie chunks it
// clears (nil: unknown), with email standing in for a token that names
// none.
func (m *Middleware) startSessionFor(w http.ResponseWriter, r *http.Request, pair refresh.Pair, ws *Workspace, email string) (*Auth, error) {
	if ws != nil && ws.ID == "" {
		ws = nil
	}
	t, err := m.tokens.readAccess(pair.AccessToken)
	if err != nil {
		return nil, err
	}
	if t.user.Email != "" {
		email = "" // the token's own wins, and nothing else need be sealed
	}
	return m.issue(w, r, pair, t, sealed{Workspace: ws, Email: email}, m.now())
}

// sessionKey names a cookie-pair session for revocation: its pair of tokens,
// hashed. Not the access token alone: Qelos issues byte-identical access
// tokens to one user within one second, so a sign-in right after a sign-out
// would otherwise be refused. A pair seen without its refresh cookie is
// named with an empty refresh token, which sign-out revokes too.
func sessionKey(access, refreshTok string) string {
	return refresh.Key(access + "\x00" + refreshTok)
}

// errSignedOut is why a revoked session is refused.
var errSignedOut = errors.New("session was signed out")

// maxChain bounds how many recorded outcomes exchange follows: an outcome
// kept for the grace window may hold an access token that has expired
// since, and is then exchanged in turn.
const maxChain = 3

// exchange refreshes refreshToken and returns the new pair and its access
// token, read. It never returns a pair whose access token has expired (it
// follows a stale recorded outcome to the next one) or was revoked by a
// sign-out (ErrRejected). A nil token with a nil error means Qelos answered
// with an access token this app cannot read.
func (m *Middleware) exchange(ctx context.Context, refreshToken string, now time.Time) (refresh.Pair, *accessToken, error) {
	for range maxChain {
		pair, recorded, err := m.exchangeWithin(ctx, refreshToken)
		if err != nil {
			return pair, nil, err
		}
		if m.refresher.RevokedKey(ctx, sessionKey(pair.AccessToken, pair.RefreshToken), false) { // a recorded outcome that was signed out
			return refresh.Pair{}, nil, classify(&refresh.Error{Kind: refresh.ErrRejected, Err: errSignedOut})
		}
		t, err := m.tokens.readAccess(pair.AccessToken)
		if err != nil {
			m.log.Error("qelos session: refreshed access token is unreadable; check Config.JWTSecret and Config.Tenant", "err", err)
			return pair, nil, nil
		}
		if !recorded || now.Before(t.expires) {
			// A pair Qelos just issued is taken as it is, even if this app's
			// clock runs ahead of its expiry (that is Leeway's business).
			return pair, &t, nil
		}
		refreshToken = pair.RefreshToken // a recorded outcome gone stale: exchange it in turn
	}
	return refresh.Pair{}, nil, classify(&refresh.Error{Kind: refresh.ErrUnavailable, Err: errors.New("every recorded pair has expired")})
}

// refreshWithin exchanges a refresh token through the coordinator, waiting
// at most UpstreamTimeout: the refresh itself goes on detached, so a
// rotation Qelos completes late is still recorded for the next request.
func (m *Middleware) refreshWithin(ctx context.Context, refreshToken string) (refresh.Pair, error) {
	p, _, err := m.exchangeWithin(ctx, refreshToken)
	return p, err
}

// exchangeWithin is refreshWithin, also reporting whether the pair is a
// recorded outcome (see refresh.Coordinator.Exchange).
func (m *Middleware) exchangeWithin(ctx context.Context, refreshToken string) (refresh.Pair, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.UpstreamTimeout)
	defer cancel()
	p, recorded, err := m.refresher.Exchange(ctx, refreshToken)
	return p, recorded, classify(err)
}

// recheckWorkspace checks the workspace recorded in a session against the
// user's memberships as Qelos lists them now (GET /api/workspaces with the
// fresh access token), so roles follow a demotion and a removed member
// loses the workspace within one access-token lifetime. It runs once per
// refresh: concurrent requests carrying the same pair share one call, and
// its answer is kept per token. When Qelos cannot answer, the recorded
// workspace is kept: a transient fault never changes a session.
func (m *Middleware) recheckWorkspace(ctx context.Context, accessToken string, ws *Workspace) *Workspace {
	key := hashKey('r', accessToken, ws.ID)
	if e, ok := m.rechecks.get(key, m.now()); ok {
		return e.ws
	}
	v, _, _ := m.recheckGroup.Do(string(key[:]), func() (any, error) {
		if e, ok := m.rechecks.get(key, m.now()); ok {
			return e, nil
		}
		e := recheck{ws: ws} // kept when Qelos cannot answer
		list, err := (&Client{mw: m, auth: &Auth{accessToken: accessToken}}).Workspaces(ctx)
		switch {
		case err != nil:
			m.log.Warn("qelos session: could not re-check the workspace at refresh; keeping the recorded one", "err", err)
		default:
			e.ws = nil
			for i := range list {
				if list[i].ID == ws.ID {
					fresh := list[i]
					e.ws = &fresh
				}
			}
			if e.ws == nil {
				m.log.Info("qelos session: the user is no longer a member of the recorded workspace; dropped it", "workspace", ws.ID)
			}
		}
		// Failures too are remembered, so the requests sharing this refresh
		// make one call between them.
		m.rechecks.put(key, e, m.now().Add(m.cfg.IdentityTTL))
		return e, nil
	})
	return v.(recheck).ws
}

// recheck is the outcome of one workspace re-check.
type recheck struct{ ws *Workspace }

// writePair seals both tokens and sets the cookies, living as long as the
// refresh token. It returns the sealed access cookie. r is the request
// being answered, whose stale cookie chunks are cleared (nil: unknown).
func (m *Middleware) writePair(w http.ResponseWriter, r *http.Request, access, refreshTok sealed, now time.Time) (string, error) {
	sa, err := m.jar.seal(m.jar.access, access)
	if err != nil {
		return "", err
	}
	sr, err := m.jar.seal(m.jar.refresh, refreshTok)
	if err != nil {
		return "", err
	}
	expires, _ := m.tokens.readExpiry(refreshTok.Token)
	if expires.IsZero() {
		expires = now.Add(30 * 24 * time.Hour) // Qelos's refresh lifetime
	}
	if err := m.jar.write(w, r, sa, sr, expires, now); err != nil {
		return "", err
	}
	if r != nil && r.TLS == nil && m.jar.secure && !loopbackHost(r.Host) && r.Header.Get("X-Forwarded-Proto") != "https" {
		m.plainHTTP.Do(func() {
			m.log.Info("qelos session: Secure cookies were set on a plain-http request; a browser on http:// (other than localhost) drops them. Behind a TLS proxy all is well; for plain-http development set CookieSecure: SecureNever (QELOS_INSECURE_COOKIES=true)", "host", stripPort(r.Host))
		})
	}
	return sa, nil
}

// refreshAt is when a session needs a refresh: RefreshMargin before the
// access token expires, but never sooner than halfway through its life, so
// a short-lived token is not refreshed on every request.
func (m *Middleware) refreshAt(t accessToken) time.Time {
	margin := m.cfg.RefreshMargin
	if !t.issued.IsZero() {
		if half := t.expires.Sub(t.issued) / 2; half < margin {
			margin = half
		}
	}
	return t.expires.Add(-margin)
}

// reject clears a session whose cookies cannot be used.
func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, err error) {
	m.jar.clear(w, r)
	m.emit(Event{Kind: EventCookieRejected, Err: rejected(err), Request: r})
}

// sessionWorkspace is the workspace of a cookie-pair session, by the rule
// documented on Workspace: the one recorded in the session (none
// included), else the one the token names — which Qelos thins to an id
// after one refresh and drops after two, hence the recording.
func sessionWorkspace(s sealed, token *Workspace) *Workspace {
	switch {
	case s.NoWorkspace:
		return nil
	case s.Workspace != nil:
		return s.Workspace
	}
	return token
}

// newAuth builds the Auth of a cookie-pair session, its workspace by
// sessionWorkspace.
func (m *Middleware) newAuth(t accessToken, s sealed) *Auth {
	t.user.Workspace = sessionWorkspace(s, t.user.Workspace)
	if t.user.Email == "" {
		t.user.Email = s.Email
	}
	return &Auth{
		User:        t.user,
		Workspace:   t.user.Workspace,
		Mode:        ModeCookiePair,
		Privileged:  m.privileged(t.user),
		mw:          m,
		accessToken: s.Token,
		expires:     t.expires,
	}
}
