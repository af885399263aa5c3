package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware/internal/account"
	"github.com/qelos-io/integrator-go/middleware/internal/signinlimit"
	"github.com/qelos-io/integrator-go/refresh"
	"golang.org/x/sync/singleflight"
)

// Middleware authenticates requests against Qelos. Create it once with
// [New] and wrap your router with [Middleware.Handler]. It is safe for
// concurrent use.
type Middleware struct {
	cfg          Config
	target       string   // where every call to Qelos goes: Config.Proxy.Target, else AppURL
	skipPaths    []string // Config.SkipPaths
	jar          *cookieJar
	tokens       *tokenReader
	refresher    *refresh.Coordinator
	cache        *sessionCache               // opened cookie pairs, by sealed access cookie, until they need a refresh
	bearers      *expiring[string, *Auth]    // bearer tokens verified with JWTSecret, by header, until they expire
	identities   *identityCache              // what /api/me said about a credential
	workspaces   *workspaceCache             // GET /api/workspaces, per credential
	rechecks     *expiring[credKey, recheck] // workspace re-checks, per refreshed access token
	recheckGroup singleflight.Group
	lookups      chan struct{} // a slot per identity lookup in flight, Limits.MaxIdentityLookups of them
	plainHTTP    sync.Once     // the hint that Secure cookies need https off localhost
	log          *slog.Logger
	now          func() time.Time
	csrf         *http.CrossOriginProtection // nil with Config.CrossOrigin.Disable
	anonymous    *Auth                       // the context mark of an anonymous request Handler saw
	skip         *Auth                       // the context mark of a request on a SkipPaths prefix
	skippedGuard sync.Once                   // Deny has logged a guard on a SkipPaths prefix
	signIns      *signinlimit.Limiter        // nil with SignInLimit.Disable

	account     *account.Handlers // the session handlers
	apiKeyNames apiKeyNames       // for API-key revocations (apikeyrevocation.go)
}

// New validates cfg, applies the defaults, and returns a Middleware. Its
// errors say which field to fix.
func New(cfg Config) (*Middleware, error) {
	systemClock := cfg.Now == nil
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Every cookie key opens the values a keyed shared store keeps, so
	// replicas mid-rotation (one sealing with the old key, one with the new)
	// share outcomes.
	if ks, ok := cfg.Refresh.Store.(refresh.KeyedStore); ok {
		secrets := make([][]byte, len(cfg.CookieKeys))
		for i, k := range cfg.CookieKeys {
			secrets[i] = k.Hash
		}
		ks.AcceptSecrets(secrets...)
	}
	target := cfg.AppURL
	if cfg.Proxy.Target != "" {
		target = cfg.Proxy.Target
	}
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
			Store:  cfg.Refresh.Store,
			Grace:  cfg.Refresh.Grace,
			Logger: cfg.Logger,
			Now:    cfg.Now, // the grace window follows a test's clock too
		}),
		log: cfg.Logger,
		now: cfg.Now,
	}
	if systemClock {
		m.now = coarseClock()
	}
	clock := func() time.Time { return m.now() }
	// Limits.CacheBytes: half for the opened sessions (the warm path of
	// every signed-in browser), a twelfth for each of the six others.
	share := cfg.Limits.CacheBytes / 12
	m.cache = newSessionCache(cfg.Limits.CacheSize, cfg.Limits.CacheBytes/2, clock)
	m.bearers = newExpiring(cfg.Limits.CacheSize, share, stringKeySize(authSize), clock).withRecent(stringSlot)
	m.identities = newIdentityCache(cfg.Limits.CacheSize, share, clock)
	m.workspaces = &workspaceCache{expiring: newExpiring(cfg.Limits.CacheSize, share, credKeySize(workspacesSize), clock)}
	m.rechecks = newExpiring(cfg.Limits.CacheSize, share, credKeySize(recheckSize), clock)
	m.lookups = make(chan struct{}, cfg.Limits.MaxIdentityLookups)
	m.anonymous, m.skip = &Auth{mw: m}, &Auth{mw: m, skipped: true}
	m.signIns = newSignInLimiter(cfg, cfg.Logger)
	m.account = account.New(accountCore{m})
	m.refresher.OnRevoke(m.revokedRemotely)
	m.tokens = newTokenReader(cfg.JWTSecret, cfg.Tenant, cfg.Refresh.Leeway, func() time.Time { return m.now() })
	switch {
	case cfg.CrossOrigin.Disable:
	case cfg.CrossOrigin.Protection != nil:
		m.csrf = cfg.CrossOrigin.Protection
	default:
		m.csrf = http.NewCrossOriginProtection()
		for _, o := range cfg.CrossOrigin.TrustedOrigins {
			if err := m.csrf.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("middleware: Config.CrossOrigin.TrustedOrigins: %w", err)
			}
		}
	}
	return m, nil
}

// coarseClock is time.Now at half its cost on the request path: the wall
// clock read once a second, and the monotonic clock (one read, not two)
// in between. After the wall clock is stepped, or the machine slept (the
// monotonic clock stops), it follows within a second.
func coarseClock() func() time.Time {
	var anchor atomic.Pointer[time.Time]
	t := time.Now()
	anchor.Store(&t)
	return func() time.Time {
		a := anchor.Load()
		if d := time.Since(*a); d >= 0 && d < time.Second {
			return a.Add(d)
		}
		n := time.Now()
		anchor.Store(&n)
		return n
	}
}

// CookieNames returns the names the session cookies have in the browser:
// the configured names, with the __Host- prefix unless
// Config.Cookie.DisableHostPrefix or the cookie attributes rule it out.
// Sessions sealed by earlier versions may also come as chunks name_0,
// name_1, …, which are read and cleared.
func (m *Middleware) CookieNames() (access, refresh string) {
	return m.jar.access.wire, m.jar.refresh.wire
}

// Handler wraps next with Authenticate: for each request outside SkipPaths
// it opens the session cookies, refreshes an expiring pair (writing the new
// pair back), and attaches the [Auth] to the request context, where
// [UserFrom], [WorkspaceFrom] and [FromContext] find it. Only SkipPaths are
// skipped: the app's own /api/ routes get their user, and a
// [Middleware.Proxy] mounted inside uses the Auth found here. A multipart
// form next parses on the request it receives is removed from disk when
// next returns (net/http cleans up only the request it created; see
// https://go.dev/issue/58809).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		before := len(h)
		r2, ok := m.Authenticate(w, r)
		if !ok {
			return
		}
		// A refreshed, cleared or relayed cookie: no handler can make
		// this answer cacheable. Nothing is wrapped, or even looked up,
		// on the warm path: Authenticate added no header to an empty set.
		if before > 0 || len(h) != before {
			if cw, ok := guardCookies(w).(*cookieWriter); ok {
				w = cw
				defer cw.finish()
			}
		}
		if r2 != r {
			defer removeMultipart(r, r2)
		}
		next.ServeHTTP(w, r2)
	})
}

// Authenticate is Handler's work on one request, for frameworks with a
// chain of their own (the gin and echo adapters are built on it). It
// returns the request the next handler must see — a copy whose context
// holds the Auth; r itself for the common anonymous request; or, when the
// request carried credentials Handler could not use, lies on a SkipPaths
// prefix, or Config.ErrorHandler is set, a copy holding only Handler's
// mark, which FromContext does not report but which tells the guards
// Handler ran — and false when it answered the request itself (a refusal, through
// Config.ErrorHandler), in which case the chain must stop. It may set
// cookies on w. A multipart form parsed on the returned request is the
// caller's to remove when it differs from r, as Handler does.
//
// State-changing cross-origin browser requests are refused with 403
// qelos.CodeCrossOrigin unless Config.CrossOrigin.Disable. A request
// over one of Config.Limits' request budgets is refused with 431
// qelos.CodeHeadersTooLarge before any other work.
//
// Client-sent X-Qelos-User-Id and X-Qelos-Workspace-Id headers, which other
// integrators use to pass identity downstream, are removed.
//
// A rejected cookie or a session Qelos ended is cleared and the request
// continues anonymous. When Qelos is unavailable the cookies are kept and
// the request continues with Auth.Err set; with RequireAuth it is answered
// 503, never 401.
func (m *Middleware) Authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
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
			m.fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeCrossOrigin, Message: "cross-origin request refused"})
			return r, false
		}
	}
	if m.skipped(r.URL.Path) {
		if m.carriesCredentials(r) {
			r = r.WithContext(NewContext(r.Context(), m.skip)) // so a guard here can say why it refuses
		}
		return r, true
	}
	var sc cookieScan
	if err := m.admit(r, &sc); err != nil {
		m.refuseOverBudget(w, r, err)
		return r, false
	}
	a, carried, err := m.authenticate(w, r, &sc)
	if err != nil {
		m.refuseOverBudget(w, r, err)
		return r, false
	}
	switch {
	case a == nil && m.cfg.RequireAuth:
		m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
		return r, false
	case a == nil && (carried || m.cfg.ErrorHandler != nil):
		// Credentials Handler could not use: marked, so Proxy does not
		// try them again and a guard knows Handler saw them. With a
		// Config.ErrorHandler every anonymous request is marked, so the
		// guards answer through it.
		return r.WithContext(NewContext(r.Context(), m.anonymous)), true
	case a == nil:
		return r, true // the common anonymous request: nothing to allocate
	case a.User == nil && m.cfg.RequireAuth:
		m.fail(w, r, unavailableError(a.Err))
		return r, false
	}
	return withAuth(r, a, sc.access), true
}

// removeMultipart removes the temporary files of a multipart form parsed on
// the copy r2 of r: the server removes only those of r.
func removeMultipart(r, r2 *http.Request) {
	if f := r2.MultipartForm; f != nil && f != r.MultipartForm {
		f.RemoveAll()
	}
}

// carriesCredentials reports whether r carries a credential Handler would
// look at: an x-api-key or Authorization header, a cookie of the pair (or
// its first chunk), or with passthrough Qelos's own session cookie. It runs
// on SkipPaths, where no budget was checked: one pass over the cookie
// names, allocating nothing, and a Cookie header over
// Limits.MaxCookieBytes is taken as carrying one without being read.
func (m *Middleware) carriesCredentials(r *http.Request) bool {
	if len(r.Header["X-Api-Key"]) > 0 || len(r.Header["Authorization"]) > 0 {
		return true
	}
	lines := r.Header["Cookie"]
	size := 0
	for _, line := range lines {
		if size += len(line); size > m.cfg.Limits.MaxCookieBytes {
			return true
		}
	}
	j := m.jar
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, _, _ := strings.Cut(textproto.TrimString(part), "=")
			switch {
			case name == j.access.wire, name == j.refresh.wire, name == j.access.chunks[0], name == j.refresh.chunks[0]:
				return true
			case m.cfg.Proxy.Passthrough && qelosCookieName(name):
				return true
			}
		}
	}
	return false
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
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request, sc *cookieScan) (a *Auth, carried bool, err error) {
	now := m.now() // the one clock read of a request
	if key := sc.apiKey; len(key) > 0 && key[0] != "" {
		// Only a key of Qelos's shape is ever cached: a hit needs no
		// second look at it.
		if a, ok := m.cachedIdentity(w, r, qelos.ModeAPIToken, key[0], now); ok {
			return a, true, nil
		}
		if !apiKeyShape(key[0]) {
			return nil, true, nil // not a Qelos API key (ql_ and hex): Qelos would refuse it, so it is not asked
		}
		return m.identify(w, r, apiKeyCredential(key[0])), true, nil
	}
	if len(sc.cookies) > 0 {
		if a, ok := m.session(w, r, sc.access, sc.refresh, now); ok {
			return a, true, nil
		}
		if sc.qelosCount > 0 { // counted only with passthrough on
			if err := m.admitAuthorization(r, sc); err != nil { // part of the passthrough credential
				return nil, true, err
			}
			k := passthroughKey(sc)
			if a, ok := m.cachedIdentity(w, r, qelos.ModePassthrough, k, now); ok {
				return a, true, nil
			}
			if cred, ok := m.passthroughCredential(sc, k); ok {
				return m.identify(w, r, cred), true, nil
			}
			return nil, true, nil // Qelos's cookie, but not one Qelos would accept: anonymous, as Qelos answers it
		}
	}
	if err := m.admitAuthorization(r, sc); err != nil {
		return nil, true, err
	}
	if authz := sc.authz; len(authz) > 0 && authz[0] != "" {
		return m.bearer(w, r, authz[0], now), true, nil
	}
	// Without Config.Proxy.Passthrough a Qelos session cookie is ignored, and
	// the request is marked as looked at, so the guards do not take it
	// for one Handler never saw.
	return nil, len(sc.authz) > 0 || len(sc.apiKey) > 0 || sc.qelosIgnored, nil
}

// valid reports whether a token expiring at exp is still usable at now,
// with Config.Refresh.Leeway for clock skew between Qelos and this app.
func (m *Middleware) valid(exp, now time.Time) bool {
	return now.Before(exp.Add(m.cfg.Refresh.Leeway))
}

func (a *Auth) userID() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.ID
}

// The request budgets of Config.Limits: every attacker-sized input is
// measured here, before any other work, and a request over budget is
// refused whole (431) rather than read in part.

var (
	errTooManyCookies      = errors.New("more cookies than Config.Limits.MaxCookies")
	errCookiesTooLarge     = errors.New("cookie headers larger than Config.Limits.MaxCookieBytes")
	errTooManyQelosCookies = errors.New("more Qelos session cookies than Config.Limits.MaxQelosCookies")
	errCredentialTooLarge  = errors.New("a credential larger than Config.Limits.MaxCredentialBytes")
)

// cookieScan is what admit found: the credential headers (looked up once
// for the whole request) and what one pass over the Cookie headers finds.
type cookieScan struct {
	apiKey, authz, cookies []string // the X-Api-Key, Authorization (once admitAuthorization ran) and Cookie headers
	// access and refresh are the sealed values of the session pair, as
	// cookieJar.value would find each.
	access, refresh string
	// qelos is the first of Qelos's session cookies ("qlt_0=…"), as sent,
	// and qelosCount how many there are; both are left empty when
	// passthrough is off.
	qelos      string
	qelosCount int
	// qelosIgnored is whether a Qelos session cookie was sent and ignored,
	// passthrough being off.
	qelosIgnored bool
}

// admit checks r against the request budgets and scans its cookies, in
// one pass that stops where a budget is exceeded: the lengths of the
// credential headers and of the Cookie headers first (no parsing), then
// the count of cookies, of Qelos cookies and each Qelos cookie's length.
// A request with an x-api-key is identified by the key alone, so only the
// key is judged (and the other fields of the scan are left empty); the
// Authorization header is judged by admitAuthorization when a request
// that the session pair did not identify comes to read it.
func (m *Middleware) admit(r *http.Request, s *cookieScan) error {
	lim := &m.cfg.Limits
	h := r.Header
	s.apiKey = h["X-Api-Key"]
	if len(s.apiKey) > 0 && s.apiKey[0] != "" {
		// The key alone identifies the request (Qelos's precedence):
		// nothing else is read, so nothing else is judged.
		if len(s.apiKey[0]) > lim.MaxCredentialBytes {
			return errCredentialTooLarge
		}
		return nil
	}
	s.cookies = h["Cookie"]
	if len(s.cookies) == 0 {
		return nil
	}
	if len(s.cookies) > lim.MaxCookies {
		return errTooManyCookies
	}
	size := 0
	for _, line := range s.cookies {
		if size += len(line); size > lim.MaxCookieBytes {
			return errCookiesTooLarge
		}
	}
	return m.scanCookies(s)
}

// admitAuthorization looks up r's Authorization header into s, checking
// it against Limits.MaxCredentialBytes before anything reads it.
func (m *Middleware) admitAuthorization(r *http.Request, s *cookieScan) error {
	s.authz = r.Header["Authorization"]
	if len(s.authz) > 0 && len(s.authz[0]) > m.cfg.Limits.MaxCredentialBytes {
		return errCredentialTooLarge
	}
	return nil
}

// scanCookies is admit's pass over the Cookie headers, which must already
// be within Limits.MaxCookieBytes.
func (m *Middleware) scanCookies(s *cookieScan) error {
	lim := &m.cfg.Limits
	j := m.jar
	lines := s.cookies
	passthrough := m.cfg.Proxy.Passthrough
	n, chunked := 0, false
	for _, line := range lines {
		for line != "" {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			if n++; n > lim.MaxCookies {
				return errTooManyCookies
			}
			part = textproto.TrimString(part)
			// The names are matched on the cookie as sent (a valid cookie
			// name holds no '='), so a value is never searched for one.
			if strings.HasPrefix(part, "qlt_") || strings.HasPrefix(part, "token") && (len(part) == 5 || part[5] == '=') {
				if !passthrough {
					s.qelosIgnored = true // looked at, and ignored: see Config.Proxy.Passthrough
					continue
				}
				if s.qelosCount++; s.qelosCount > lim.MaxQelosCookies {
					return errTooManyQelosCookies
				}
				if _, v, _ := strings.Cut(part, "="); len(v) > lim.MaxCredentialBytes {
					return errCredentialTooLarge
				}
				if s.qelos == "" {
					s.qelos = part
				}
				continue
			}
			if v, ok := cookieNamed(part, j.access.wire); ok {
				if s.access == "" {
					s.access = unquoteCookie(v)
				}
			} else if v, ok := cookieNamed(part, j.refresh.wire); ok {
				if s.refresh == "" {
					s.refresh = unquoteCookie(v)
				}
			} else if _, ok := cookieNamed(part, j.access.chunks[0]); ok {
				chunked = true
			} else if _, ok := cookieNamed(part, j.refresh.chunks[0]); ok {
				chunked = true
			}
		}
	}
	if chunked {
		if s.access == "" {
			s.access = j.valueIn(lines, j.access)
		}
		if s.refresh == "" {
			s.refresh = j.valueIn(lines, j.refresh)
		}
	}
	return nil
}

// cookieNamed returns the value of the cookie part ("name=value", trimmed)
// when it is named name, a valid cookie name.
func cookieNamed(part, name string) (string, bool) {
	if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
		return "", false
	}
	return part[len(name)+1:], true
}

// unquoteCookie drops the double quotes around a cookie value.
func unquoteCookie(v string) string {
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// refuseOverBudget answers a request over one of the request budgets:
// 431, through Config.ErrorHandler, its cookies untouched.
func (m *Middleware) refuseOverBudget(w http.ResponseWriter, r *http.Request, err error) {
	m.log.Debug("qelos limits: request refused", "err", err, "path", r.URL.Path)
	m.fail(w, r, &qelos.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Code: qelos.CodeHeadersTooLarge, Message: "the request carries more or larger cookies or credentials than this app accepts; clear this site's cookies and try again"})
}

// contextKey is unexported and unique: only this package can set the Auth.
// Its value is the Auth bound to the request (see bind); rawKey's is the
// Auth as Handler found it, which may be shared by a session's requests.
type contextKey struct{}

type rawKey struct{}

// authContext is the context Handler gives a request: its parent, the Auth
// and the request's sealed access cookie, one allocation (as
// context.WithValue's). The Auth bound to the cookie (bind) is made only
// when asked for (FromContext), so a request whose handler reads only
// its user allocates nothing more.
type authContext struct {
	context.Context
	a      *Auth
	access string
	bound  atomic.Pointer[Auth]
}

func (c *authContext) Value(key any) any {
	switch key.(type) {
	case contextKey:
		return c.auth()
	case rawKey:
		return c.a
	}
	return c.Context.Value(key)
}

// auth is c.a bound to the request's access cookie, made once.
func (c *authContext) auth() *Auth {
	if c.access == "" || c.a == nil || !c.a.tokenInCookie {
		return c.a
	}
	if b := c.bound.Load(); b != nil {
		return b
	}
	c.bound.CompareAndSwap(nil, bind(c.a, c.access))
	return c.bound.Load()
}

func (c *authContext) String() string { return "middleware.authContext" }

// withAuth returns a copy of r whose context carries a, for a request
// whose sealed access cookie is access (empty: none), where a cached
// session's token is. The copy and its context are one allocation:
// WithContext's own copy is inlined and does not escape.
func withAuth(r *http.Request, a *Auth, access string) *http.Request {
	ar := &authRequest{ctx: authContext{Context: r.Context(), a: a, access: access}}
	ar.req = *r.WithContext(&ar.ctx)
	return &ar.req
}

// authRequest is a request and the context Handler gives it, allocated
// together.
type authRequest struct {
	req http.Request
	ctx authContext
}
