package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"golang.org/x/sync/singleflight"
)

// Middleware authenticates requests against Qelos. Create it once with
// [New] and wrap your router with [Middleware.Handler]. It is safe for
// concurrent use.
type Middleware struct {
	cfg          Config
	target       string   // where every call to Qelos goes: ResolveProxyTarget(AppURL)
	skipPaths    []string // Config.SkipPaths
	jar          *cookieJar
	tokens       *tokenReader
	refresher    *refresh.Coordinator
	cache        *expiring[*Auth] // opened cookies (and verified bearers), until they need a refresh
	identities   *identityCache
	rechecks     *expiring[recheck] // workspace re-checks, per refreshed access token
	recheckGroup singleflight.Group
	plainHTTP    sync.Once // the hint that Secure cookies need https off localhost
	log          *slog.Logger
	now          func() time.Time
	csrf         *http.CrossOriginProtection // nil with Config.DisableCrossOriginProtection
	anonymous    *Auth                       // the context mark of an anonymous request Handler saw
	skip         *Auth                       // the context mark of a request on a SkipPaths prefix
}

// New validates cfg, applies the defaults, and returns a Middleware. Its
// errors say which field to fix.
func New(cfg Config) (*Middleware, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Every cookie key opens the values a keyed shared store keeps, so
	// replicas mid-rotation (one sealing with the old key, one with the new)
	// share outcomes.
	if ks, ok := cfg.RefreshStore.(refresh.KeyedStore); ok {
		secrets := make([][]byte, len(cfg.CookieKeys))
		for i, k := range cfg.CookieKeys {
			secrets[i] = k.Hash
		}
		ks.AcceptSecrets(secrets...)
	}
	target := strings.TrimRight(ResolveProxyTarget(cfg.AppURL), "/")
	m := &Middleware{}
	// Every call to Qelos, the proxy's included, goes through one client
	// whose transport reports it to OnEvent.
	hc := *cfg.HTTPClient
	hc.Transport = observed{rt: hc.Transport, m: m}
	cfg.HTTPClient = &hc
	// Requests wait at most UpstreamTimeout for a refresh; the refresh itself
	// runs detached for up to refresh.DefaultCallTimeout, so that a rotation
	// Qelos completes late is recorded instead of burning the token.
	client := &refresh.Client{BaseURL: target, HTTPClient: cfg.HTTPClient, Timeout: refresh.DefaultCallTimeout}
	*m = Middleware{
		cfg:       cfg,
		target:    target,
		skipPaths: cfg.SkipPaths,
		jar:       newCookieJar(cfg.CookieKeys, &cfg),
		refresher: refresh.NewCoordinator(client, refresh.Options{
			Store:  cfg.RefreshStore,
			Grace:  cfg.RefreshGrace,
			Logger: cfg.Logger,
		}),
		cache:      newExpiring[*Auth](cfg.CacheSize),
		identities: &identityCache{expiring: newExpiring[identityEntry](cfg.CacheSize)},
		rechecks:   newExpiring[recheck](cfg.CacheSize),
		log:        cfg.Logger,
		now:        cfg.Now,
	}
	m.anonymous, m.skip = &Auth{mw: m}, &Auth{mw: m, skipped: true}
	for _, n := range []cookieName{m.jar.access, m.jar.refresh} {
		sessionCookies.add(n.wire)
		sessionCookies.add(n.chunks...)
	}
	m.tokens = newTokenReader(cfg.JWTSecret, cfg.Tenant, cfg.Leeway, func() time.Time { return m.now() })
	if !cfg.DisableCrossOriginProtection {
		m.csrf = http.NewCrossOriginProtection()
		for _, o := range cfg.TrustedOrigins {
			if err := m.csrf.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("middleware: TrustedOrigins: %w", err)
			}
		}
	}
	return m, nil
}

// CookieNames returns the names the session cookies have in the browser:
// the configured names, with the __Host- prefix unless
// Config.DisableCookieHostPrefix or the cookie attributes rule it out. A
// session too large for one cookie is sent as name_0, name_1, ….
func (m *Middleware) CookieNames() (access, refresh string) {
	return m.jar.access.wire, m.jar.refresh.wire
}

// Handler wraps next. For each request outside SkipPaths it opens the
// session cookies, refreshes an expiring pair (writing the new pair back),
// and attaches the [Auth] to the request context, where [UserFrom],
// [WorkspaceFrom] and [FromContext] find it. Only SkipPaths are skipped:
// the app's own /api/ routes get their user, and a [Middleware.Proxy]
// mounted inside uses the Auth found here.
//
// next receives the ResponseWriter Handler was given, unchanged (adapters
// rely on it), and the request with the Auth in its context. A multipart
// form next parses on that request is removed from disk when next returns
// (net/http cleans up only the request it created; Go issue 58809).
//
// State-changing cross-origin browser requests are refused with 403
// {"code":"CROSS_ORIGIN_REQUEST"} unless Config.DisableCrossOriginProtection.
//
// Client-sent X-Qelos-User-Id and X-Qelos-Workspace-Id headers, which other
// integrators use to pass identity downstream, are removed.
//
// A rejected cookie or a session Qelos ended is cleared and the request
// continues anonymous. When Qelos is unavailable the cookies are kept and
// the request continues with Auth.Err set; with RequireAuth it is answered
// 503, never 401.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Identity travels in the context, never in headers: drop any a
		// client made up, so no handler can be fooled by them.
		for _, h := range spoofable {
			//lint:ignore S1033 delete writes the map even for an absent key; the guard keeps the warm path read-only
			if _, ok := r.Header[h]; ok {
				delete(r.Header, h)
			}
		}
		if m.csrf != nil {
			if err := m.csrf.Check(r); err != nil {
				writeError(w, http.StatusForbidden, CodeCrossOrigin, "cross-origin request refused")
				return
			}
		}
		if !handlerServed.Load() {
			handlerServed.Store(true)
		}
		if m.skipped(r.URL.Path) {
			if m.carriesCredentials(r) {
				r = r.WithContext(NewContext(r.Context(), m.skip)) // so a guard here can say why it refuses
			}
			next.ServeHTTP(w, r)
			return
		}
		a := m.authenticate(w, r)
		switch {
		case a == nil && m.cfg.RequireAuth:
			Unauthorized(w)
		case a == nil && m.carriesCredentials(r):
			// Credentials Handler could not use: marked, so Proxy does not
			// try them again and a guard knows Handler saw them.
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), m.anonymous)))
		case a == nil:
			next.ServeHTTP(w, r) // the common anonymous request: nothing to allocate
		case a.User == nil && m.cfg.RequireAuth:
			Unavailable(w)
		default:
			r2 := r.WithContext(NewContext(r.Context(), a))
			defer removeMultipart(r, r2)
			next.ServeHTTP(w, r2)
		}
	})
}

// carriesCredentials reports whether r carries a credential Handler looks
// at: an x-api-key, an Authorization header, a session cookie, or a Qelos
// session cookie.
func (m *Middleware) carriesCredentials(r *http.Request) bool {
	if len(r.Header["X-Api-Key"]) > 0 || len(r.Header["Authorization"]) > 0 ||
		m.jar.value(r, m.jar.access) != "" || m.jar.value(r, m.jar.refresh) != "" {
		return true
	}
	_, ok, _ := m.passthroughCredential(r)
	return ok
}

// removeMultipart removes the temporary files of a multipart form parsed on
// the copy r2 of r: the server removes only those of r.
func removeMultipart(r, r2 *http.Request) {
	if f := r2.MultipartForm; f != nil && f != r.MultipartForm {
		f.RemoveAll()
	}
}

// spoofable are the identity headers other integrators pass downstream;
// Handler removes them from every request.
var spoofable = []string{"X-Qelos-User-Id", "X-Qelos-Workspace-Id"}

func (m *Middleware) skipped(path string) bool {
	for _, p := range m.skipPaths {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// authenticate identifies the request, and returns nil when it is
// anonymous. It follows Qelos's own precedence: an x-api-key, then cookies
// (the app's pair, else Qelos's session cookie), then a bearer token; a
// credential that fails does not fall through to the next. The warm path is
// a cache hit on the sealed access cookie.
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request) *Auth {
	if key := r.Header["X-Api-Key"]; len(key) > 0 && key[0] != "" {
		if !apiKeyShape(key[0]) {
			return nil // not a Qelos API key (ql_ and hex): Qelos would refuse it, so it is not asked
		}
		return m.identify(w, r, apiKeyCredential(key[0]))
	}
	access := m.jar.value(r, m.jar.access)
	now := m.now()
	if a, ok := m.cache.get(access, now); ok {
		if a.session != "" && m.refresher.RevokedKey(r.Context(), a.session, false) {
			m.cache.remove(access)
			m.reject(w, r, errSignedOut)
			return nil
		}
		return m.resolveWorkspace(r, a)
	}
	if refreshCookie := m.jar.value(r, m.jar.refresh); access != "" || refreshCookie != "" {
		return m.openSession(w, r, access, refreshCookie, now)
	}
	if cred, ok, checked := m.passthroughCredential(r); checked {
		return m.identify(w, r, cred)
	} else if ok {
		return nil // Qelos's cookie, but not one Qelos would accept: anonymous, as Qelos answers it
	}
	if authz := r.Header["Authorization"]; len(authz) > 0 && authz[0] != "" && len(authz[0]) <= maxCredentialSize {
		return m.bearer(w, r, authz[0])
	}
	return nil
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
			m.cache.put(access, current, refreshAt)
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
	return m.refresh(w, r, refreshCookie, current, now)
}

// refresh exchanges the pair in the refresh cookie for a new one, writes it
// back, and returns the refreshed Auth. current is the Auth from the
// expiring access cookie, if there was one.
func (m *Middleware) refresh(w http.ResponseWriter, r *http.Request, refreshCookie string, current *Auth, now time.Time) *Auth {
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
	ws, none := s.Workspace, s.NoWorkspace
	if ws == nil && !none {
		ws = t.user.Workspace // the one the token names: Qelos does not re-check it either
	}
	if ws != nil {
		ws = m.recheckWorkspace(r.Context(), pair.AccessToken, ws)
		none = ws == nil
	}
	fresh := sealed{Token: pair.AccessToken, Workspace: ws, NoWorkspace: none, Email: s.Email}
	sealedAccess, err := m.writePair(w, r, fresh, sealed{Token: pair.RefreshToken, Workspace: ws, NoWorkspace: none, Email: s.Email}, now)
	if err != nil {
		return &Auth{Mode: ModeCookiePair, Err: err, mw: m}
	}
	a := m.newAuth(*t, fresh)
	a.refreshToken = pair.RefreshToken
	a.session = sessionKey(pair.AccessToken, pair.RefreshToken)
	m.cache.put(sealedAccess, a, m.refreshAt(*t))
	m.emit(Event{Kind: EventRefreshed, UserID: a.User.ID, Request: r})
	return m.resolveWorkspace(r, a)
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
			return refresh.Pair{}, nil, &refresh.Error{Kind: refresh.ErrRejected, Err: errSignedOut}
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
	return refresh.Pair{}, nil, &refresh.Error{Kind: refresh.ErrUnavailable, Err: errors.New("every recorded pair has expired")}
}

// valid reports whether a token expiring at exp is still usable at now,
// with Config.Leeway for clock skew between Qelos and this app.
func (m *Middleware) valid(exp, now time.Time) bool {
	return now.Before(exp.Add(m.cfg.Leeway))
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
	return m.refresher.Exchange(ctx, refreshToken)
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
	v, _, _ := m.recheckGroup.Do(key, func() (any, error) {
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

// resolveWorkspace applies Config.ResolveWorkspace.
func (m *Middleware) resolveWorkspace(r *http.Request, a *Auth) *Auth {
	if m.cfg.ResolveWorkspace == nil || a.User == nil {
		return a
	}
	return a.withResolvedWorkspace(r, m.cfg.ResolveWorkspace)
}

// reject clears a session whose cookies cannot be used.
func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, err error) {
	m.jar.clear(w, r)
	m.emit(Event{Kind: EventCookieRejected, Err: err, Request: r})
}

// newAuth builds the Auth of a cookie-pair session. The workspace recorded
// in the session wins over the token's, which Qelos thins to an id after
// one refresh and drops after two.
func (m *Middleware) newAuth(t accessToken, s sealed) *Auth {
	switch {
	case s.NoWorkspace:
		t.user.Workspace = nil
	case s.Workspace != nil:
		t.user.Workspace = s.Workspace
	}
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

// privileged reports whether u holds one of Config.PrivilegedRoles.
func (m *Middleware) privileged(u *User) bool {
	for _, r := range m.cfg.PrivilegedRoles {
		if u.HasRole(r) {
			return true
		}
	}
	return false
}

func (a *Auth) userID() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.ID
}
