package middleware

// The session's renewal: refresh an expiring pair (refreshSession,
// exchange, recheckWorkspace) and issue a pair (issue, the one step
// sign-in, refresh and workspace switch share; StartSession), sealing it
// into the cookies (writePair). Opening a session is in session.go.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/refresh"
)

// refreshSession exchanges the pair in the refresh cookie s for a new one,
// writes it back, and returns the refreshed Auth. current is the Auth from
// the expiring access cookie, if there was one (its session id already
// checked); legacyAccess is the access token of a pair sealed by an
// earlier version, if it came with one.
func (m *Middleware) refreshSession(w http.ResponseWriter, r *http.Request, s sealed, current *Auth, legacyAccess string, now time.Time) *Auth {
	if exp, err := m.tokens.readExpiry(s.Token); err != nil || (!exp.IsZero() && !m.valid(exp, now)) {
		m.reject(w, r, errors.Join(errors.New("refresh token expired or unreadable"), err))
		return nil
	}
	sid := s.Session
	if sid == "" {
		sid = legacySessionID(s.Token)
	}
	key := sessionRevocation(sid)
	if current == nil && m.refresher.RevokedKey(r.Context(), key, true) ||
		legacyAccess != "" && m.refresher.RevokedKey(r.Context(), legacySessionKey(legacyAccess, s.Token), true) {
		m.reject(w, r, errSignedOut)
		return nil
	}
	pair, t, err := m.exchange(r.Context(), s.Token, now, key)
	if errors.Is(err, qelos.ErrSessionTooLarge) {
		m.endTooLarge(w, r, current.userID())
		return nil
	}
	if err != nil {
		m.emit(qelos.Event{Kind: qelos.EventRefreshFailed, UserID: current.userID(), Err: err, Request: r})
		switch {
		case refresh.IsDefinitive(err):
			m.jar.clear(w, r)
			return nil
		case current != nil && m.valid(current.expires, now):
			return m.resolveWorkspace(r, current) // still valid: serve it, refresh next time
		}
		return &Auth{Mode: qelos.ModeCookiePair, Err: err, mw: m}
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
	a, err := m.issue(w, r, pair, *t, sealed{Session: sid, Workspace: ws, NoWorkspace: none, Email: s.Email}, now)
	switch {
	case errors.Is(err, qelos.ErrSessionTooLarge):
		m.endTooLarge(w, r, t.user.ID)
		return nil
	case err != nil:
		return &Auth{Mode: qelos.ModeCookiePair, Err: unavailable(err), mw: m}
	}
	m.emit(qelos.Event{Kind: qelos.EventRefreshed, UserID: a.User.ID, Request: r})
	return m.resolveWorkspace(r, a)
}

// endTooLarge ends a session whose refreshed pair does not fit in its
// cookies: the refresh token is spent and its successor cannot be kept,
// for a reason no retry changes.
func (m *Middleware) endTooLarge(w http.ResponseWriter, r *http.Request, userID string) {
	m.log.Error("qelos session: the refreshed session does not fit in its cookies (the user's names or picture URL in the access token are too large); signed out", "user", userID)
	m.jar.clear(w, r)
	m.emit(qelos.Event{Kind: qelos.EventRefreshFailed, UserID: userID, Err: rejected(qelos.ErrSessionTooLarge), Request: r})
}

// issue is the one step that starts or renews a session — sign-in,
// refresh and workspace switch all come here: it seals pair into the
// cookies on w, both carrying rec's session id and the refresh cookie
// rec's workspace and email (bounded), and caches and returns the
// session's Auth until it needs a refresh. t is the access token, read; r
// is the request being answered (nil: unknown), whose stale cookie chunks
// are cleared. A pair larger than maxSessionBytes is not written
// (qelos.ErrSessionTooLarge).
func (m *Middleware) issue(w http.ResponseWriter, r *http.Request, pair refresh.Pair, t accessToken, rec sealed, now time.Time) (*Auth, error) {
	refreshTok := rec
	refreshTok.Token = pair.RefreshToken
	refreshTok.Workspace, refreshTok.Email = boundWorkspace(rec.Workspace), boundEmail(rec.Email)
	a := m.newAuth(t, pair.AccessToken, refreshTok)
	sa, sr, err := m.writePair(w, r, pair.AccessToken, rec.Session, t, a.User, refreshTok, now)
	if err != nil {
		return nil, err
	}
	a.refreshToken, a.pairTag = pair.RefreshToken, strings.Clone(pairTag(sr))
	a.sid, a.session = rec.Session, sessionRevocation(rec.Session)
	// The cache keeps a copy without the tokens: the next requests bring
	// them in the access cookie just sealed (see bind). This request keeps
	// the new ones, which its cookies do not hold yet.
	cached := *a
	cached.accessToken, cached.refreshToken, cached.tokenInCookie = "", "", true
	m.cache.put(sa, &cached, m.refreshAt(t))
	return a, nil
}

// StartSession seals pair into the session cookies on w, recording ws (which
// may be nil) as the session's active workspace, and returns the new
// session's Auth. The sign-in handler uses it; use it too for pairs obtained
// another way (a custom sign-in form, an OAuth callback, a migration from
// another cookie format). It fails when the access token is unreadable,
// and with qelos.ErrSessionTooLarge when the pair cannot be kept within
// maxSessionBytes. Each call starts a new session, with an id of its own.
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
//
// An access token too large for the cookies is exchanged once: at sign-in
// Qelos puts the workspace's name and labels in it (a workspace renamed to
// thousands of characters), and its refresh answer names the workspace by
// id only. Only a token still too large after that is refused.
func (m *Middleware) startSessionFor(w http.ResponseWriter, r *http.Request, pair refresh.Pair, ws *Workspace, email string) (*Auth, error) {
	if ws != nil && ws.ID == "" {
		ws = nil
	}
	rec := sealed{Session: newSessionID(), Workspace: ws, Email: email}
	now := m.now()
	t, err := m.tokens.readAccess(pair.AccessToken)
	switch {
	case errors.Is(err, errTokenTooLarge):
	case err != nil:
		return nil, err
	default:
		a, err := m.issue(w, r, pair, t, rec.withEmailOf(t), now)
		if !errors.Is(err, qelos.ErrSessionTooLarge) {
			return a, err
		}
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	slim, st, err := m.exchange(ctx, pair.RefreshToken, now, sessionRevocation(rec.Session))
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return nil, errors.New("refreshed access token is unreadable")
	}
	return m.issue(w, r, slim, *st, rec.withEmailOf(*st), now)
}

// withEmailOf is rec without its email when the token t names one of its
// own: the token's wins, and nothing else need be sealed.
func (rec sealed) withEmailOf(t accessToken) sealed {
	if t.user.Email != "" {
		rec.Email = ""
	}
	return rec
}

// maxChain bounds how many recorded outcomes exchange follows: an outcome
// kept for the grace window may hold an access token that has expired
// since, and is then exchanged in turn.
const maxChain = 3

// exchange refreshes refreshToken, of the session whose revocation key is
// session, and returns the new pair and its access token, read. It never
// returns a pair whose access token has expired (it follows a stale
// recorded outcome to the next one) or that a sign-out revoked
// (ErrRejected): a recorded outcome is checked against the session's
// revocation, which may have come while this request waited, and against
// revocations recorded by earlier versions, which named a pair by its
// tokens. A nil token with a nil error means Qelos answered with an access
// token this app cannot read.
func (m *Middleware) exchange(ctx context.Context, refreshToken string, now time.Time, session string) (refresh.Pair, *accessToken, error) {
	for range maxChain {
		pair, recorded, err := m.exchangeWithin(ctx, refreshToken)
		if err != nil {
			return pair, nil, err
		}
		if recorded && (m.refresher.RevokedKey(ctx, session, false) ||
			m.refresher.RevokedKey(ctx, legacySessionKey(pair.AccessToken, pair.RefreshToken), false)) {
			return refresh.Pair{}, nil, classify(&refresh.Error{Kind: refresh.ErrRejected, Err: errSignedOut})
		}
		t, err := m.tokens.readAccess(pair.AccessToken)
		if errors.Is(err, errTokenTooLarge) {
			return refresh.Pair{}, nil, qelos.ErrSessionTooLarge
		}
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
// at most Limits.UpstreamTimeout: the refresh itself goes on detached, so a
// rotation Qelos completes late is still recorded for the next request.
func (m *Middleware) refreshWithin(ctx context.Context, refreshToken string) (refresh.Pair, error) {
	p, _, err := m.exchangeWithin(ctx, refreshToken)
	return p, err
}

// exchangeWithin is refreshWithin, also reporting whether the pair is a
// recorded outcome (see refresh.Coordinator.Exchange).
func (m *Middleware) exchangeWithin(ctx context.Context, refreshToken string) (refresh.Pair, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Limits.UpstreamTimeout)
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
		list, err := m.clientFor(&Auth{accessToken: accessToken}).Workspaces(ctx)
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
		m.rechecks.put(key, e, m.now().Add(m.cfg.Limits.IdentityTTL))
		return e, nil
	})
	return v.(recheck).ws
}

// recheck is the outcome of one workspace re-check.
type recheck struct{ ws *Workspace }

// writePair seals the session and sets the cookies, living as long as the
// refresh token: the refresh cookie refreshTok as JSON, the access cookie
// in the compact format (the token accessTok, read as t, the session's
// user u and the refresh cookie's digest; see cookieformat.go), or as
// JSON, its token alone, when that would not fit maxSessionBytes. It
// returns the sealed cookies. With Cookie.WriteLegacyFormat the access
// cookie is always the JSON one, which earlier versions read. r is the
// request being answered, whose stale cookie chunks are cleared (nil:
// unknown).
func (m *Middleware) writePair(w http.ResponseWriter, r *http.Request, accessTok, sid string, t accessToken, u *User, refreshTok sealed, now time.Time) (sa, sr string, err error) {
	if sr, err = m.jar.seal(m.jar.refresh, refreshTok); err != nil {
		return "", "", err
	}
	if !m.cfg.Cookie.WriteLegacyFormat {
		if sa, err = m.jar.sealBytes(m.jar.access, encodeCompact(nil, sid, accessTok, t, u, pairDigest(sr))); err != nil {
			return "", "", err
		}
	}
	if sa == "" || m.jar.pairSize(sa, sr) > maxSessionBytes {
		if sa, err = m.jar.seal(m.jar.access, sealed{Token: accessTok, Session: sid}); err != nil {
			return "", "", err
		}
	}
	expires, _ := m.tokens.readExpiry(refreshTok.Token)
	if expires.IsZero() {
		expires = now.Add(sessionLife)
	}
	if err := m.jar.write(w, r, sa, sr, expires, now); err != nil {
		return "", "", err
	}
	if r != nil && r.TLS == nil && m.jar.secure && !loopbackHost(r.Host) && r.Header.Get("X-Forwarded-Proto") != "https" {
		m.plainHTTP.Do(func() {
			m.log.Info("qelos session: Secure cookies were set on a plain-http request; a browser on http:// (other than localhost) drops them. Behind a TLS proxy all is well; for plain-http development set Cookie.Secure: SecureNever (QELOS_INSECURE_COOKIES=true)", "host", stripPort(r.Host))
		})
	}
	return sa, sr, nil
}

// reject clears a session whose cookies cannot be used.
func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, err error) {
	m.jar.clear(w, r)
	m.emit(qelos.Event{Kind: qelos.EventCookieRejected, Err: rejected(err), Request: r})
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

// newAuth builds the Auth of a cookie-pair session from its access token
// (read as t) and its refresh cookie s, which records the workspace (by
// sessionWorkspace) and, for a sign-up token, the email.
func (m *Middleware) newAuth(t accessToken, accessTok string, s sealed) *Auth {
	t.user.Workspace = sessionWorkspace(s, t.user.Workspace)
	if t.user.Email == "" {
		t.user.Email = s.Email
	}
	return &Auth{
		User:        t.user,
		Workspace:   t.user.Workspace,
		Mode:        qelos.ModeCookiePair,
		Privileged:  m.privileged(t.user),
		mw:          m,
		accessToken: accessTok,
		expires:     t.expires,
	}
}
