package middleware

import (
	"time"
)

// Test seams, visible to this package's tests only.

// SealPair seals tokens into session cookie values as the middleware would.
func SealPair(m *Middleware, access, refreshTok string, ws *Workspace) (accessCookie, refreshCookie string) {
	sa, err := m.jar.seal(m.cfg.AccessCookieName, sealed{Token: access, Workspace: ws})
	if err != nil {
		panic(err)
	}
	sr, err := m.jar.seal(m.cfg.RefreshCookieName, sealed{Token: refreshTok, Workspace: ws})
	if err != nil {
		panic(err)
	}
	return sa, sr
}

// OpenCookie opens a session cookie value.
func OpenCookie(m *Middleware, name, value string) (token string, ws *Workspace, err error) {
	s, err := m.jar.open(name, value)
	return s.Token, s.Workspace, err
}

// SetClock replaces the middleware's clock.
func SetClock(m *Middleware, now func() time.Time) { m.now = now }

// CacheLen reports how many opened cookies are cached.
func CacheLen(m *Middleware) int { return m.cache.len() }
