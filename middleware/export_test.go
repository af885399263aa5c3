package middleware

import (
	"github.com/qelos-io/integrator-go/middleware/internal/account"
	"time"

	qelos "github.com/qelos-io/integrator-go"
)

// Test seams, visible to this package's tests only.

// SealPair seals tokens into session cookie values as the middleware
// would, as one new session: the access cookie in the compact format (or
// as JSON when its token is unreadable or the pair would not fit).
func SealPair(m *Middleware, access, refreshTok string, ws *Workspace) (accessCookie, refreshCookie string) {
	sid := newSessionID()
	rec := sealed{Token: refreshTok, Session: sid, Workspace: boundWorkspace(ws)}
	t, err := m.tokens.readAccess(access)
	if err != nil {
		return seal(m, sealed{Token: access, Session: sid}, rec)
	}
	a := m.newAuth(t, access, rec)
	sr, err := m.jar.seal(m.jar.refresh, rec)
	if err != nil {
		panic(err)
	}
	sa, err := m.jar.sealBytes(m.jar.access, encodeCompact(nil, sid, access, t, a.User, pairDigest(sr)))
	if err != nil {
		panic(err)
	}
	if m.jar.pairSize(sa, sr) > MaxSessionBytes {
		return seal(m, sealed{Token: access, Session: sid}, rec)
	}
	return sa, sr
}

// SealJSONPair seals tokens as the previous version did: both cookies as
// JSON, with a session id.
func SealJSONPair(m *Middleware, access, refreshTok string, ws *Workspace) (accessCookie, refreshCookie string) {
	sid := newSessionID()
	return seal(m, sealed{Token: access, Session: sid}, sealed{Token: refreshTok, Session: sid, Workspace: boundWorkspace(ws)})
}

// CompactCookie reports whether an access cookie value is sealed in the
// compact format.
func CompactCookie(m *Middleware, value string) bool {
	_, c, err := m.jar.openCompact(m.jar.access, value)
	return err == nil && c.auth != nil
}

// SealLegacyPair seals tokens as earlier versions did: no session id, the
// workspace in both cookies.
func SealLegacyPair(m *Middleware, access, refreshTok string, ws *Workspace) (accessCookie, refreshCookie string) {
	return seal(m, sealed{Token: access, Workspace: ws}, sealed{Token: refreshTok, Workspace: ws})
}

func seal(m *Middleware, access, refreshTok sealed) (string, string) {
	sa, err := m.jar.seal(m.jar.access, access)
	if err != nil {
		panic(err)
	}
	sr, err := m.jar.seal(m.jar.refresh, refreshTok)
	if err != nil {
		panic(err)
	}
	return sa, sr
}

// SessionID returns the session id sealed in a session cookie value.
func SessionID(m *Middleware, name, value string) string {
	n := m.jar.access
	if name == m.jar.refresh.wire || name == m.cfg.Cookie.RefreshName {
		n = m.jar.refresh
	}
	s, _ := m.jar.open(n, value)
	return s.Session
}

// OpenCookie opens a session cookie value.
func OpenCookie(m *Middleware, name, value string) (token string, ws *Workspace, err error) {
	n := m.jar.access
	if name == m.jar.refresh.wire || name == m.cfg.Cookie.RefreshName {
		n = m.jar.refresh
	}
	s, err := m.jar.open(n, value)
	return s.Token, s.Workspace, err
}

// SetClock replaces the middleware's clock.
func SetClock(m *Middleware, now func() time.Time) { m.now = now }

// CacheLen reports how many opened cookies are cached.
func CacheLen(m *Middleware) int { return m.cache.len() }

// PutOpened inserts an opened session into the opened-cookie cache, as the
// warm path would after opening cookie: the memory test measures the cache
// with it, without sealing a million real cookies.
func PutOpened(m *Middleware, cookie, accessToken string, u *User, refreshAt time.Time) {
	// As the handler caches it: without its token, which the request's
	// cookie holds (accessToken only sizes a real session's cookie).
	_ = accessToken
	a := &Auth{User: u, Workspace: u.Workspace, Mode: qelos.ModeCookiePair, mw: m, expires: refreshAt, tokenInCookie: true}
	m.cache.put(cookie, a, refreshAt)
}

// CachedToken reports whether the session cached for the sealed access
// cookie keeps an access token of its own.
func CachedToken(m *Middleware, cookie string) bool {
	a, ok := m.cache.getKey(sessionKeyOf(cookie), m.now())
	return !ok || a.accessToken != "" || a.lazy != nil
}

// PutIdentity inserts what /api/me said about a credential into the
// identity cache, as probe would.
func PutIdentity(m *Middleware, key string, u *User, expires time.Time) {
	m.identities.bearers.put(key, identityEntry{auth: &Auth{User: u, Workspace: u.Workspace, Mode: qelos.ModeBearer, mw: m}}, expires)
}

// IdentityCacheLen reports how many credentials the identity cache holds.
func IdentityCacheLen(m *Middleware) int { return m.identities.len() }

// CacheMemory reports the bytes the caches hold together, as
// Limits.CacheBytes counts them.
func CacheMemory(m *Middleware) int64 {
	return m.cache.memory() + m.bearers.memory() + m.identities.apiKeys.memory() + m.identities.bearers.memory() +
		m.identities.passthrough.memory() + m.workspaces.memory() + m.rechecks.memory()
}

// The defaults, for the tests.
const (
	DefaultAccessCookieName   = defaultAccessCookieName
	DefaultCacheBytes         = defaultCacheBytes
	DefaultCacheSize          = defaultCacheSize
	DefaultIdentityTTL        = defaultIdentityTTL
	DefaultMaxCookieBytes     = defaultMaxCookieBytes
	DefaultMaxCookies         = defaultMaxCookies
	DefaultMaxCredentialBytes = defaultMaxCredentialBytes
	DefaultMaxIdentityLookups = defaultMaxIdentityLookups
	DefaultMaxQelosCookies    = defaultMaxQelosCookies
	DefaultProxyTimeout       = defaultProxyTimeout
	DefaultReadyTimeout       = defaultReadyTimeout
	DefaultRefreshCookieName  = defaultRefreshCookieName
	DefaultRefreshMargin      = defaultRefreshMargin
	DefaultSignInMaxKeys      = defaultSignInMaxKeys
	DefaultSignInPerClient    = defaultSignInPerClient
	DefaultSignInPerUser      = defaultSignInPerUser
	DefaultSignInWindow       = defaultSignInWindow
	DefaultTenant             = defaultTenant
	DefaultUpstreamTimeout    = defaultUpstreamTimeout
)

// Names the package keeps to itself, for its tests.
const (
	HostPrefix      = hostPrefix
	MaxSessionBytes = maxSessionBytes
)

var (
	RewriteSetCookieDomain = rewriteSetCookieDomain
	SafeRedirect           = account.SafeRedirect
	SocialLoginURL         = account.LoginURL
)
