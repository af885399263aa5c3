package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
	"golang.org/x/sync/singleflight"
)

// A credential is what identifies a request that does not carry the app's
// own cookie pair: an API key, a Qelos session cookie, or a bearer token.
// Such a request is identified by Qelos's GET /api/me, once per credential
// per Config.Limits.IdentityTTL.
type credential struct {
	mode qelos.Mode
	// key names the credential in its mode's identity cache: the
	// credential as sent (never logged), which the cached Auth holds anyway
	// to call Qelos for the user.
	key string
	// header is what the probe sends: x-api-key, the Authorization header,
	// or Qelos's session cookies (only those) and the Authorization header.
	header http.Header
	// expires is when the credential expires, if it says (a JWT's exp).
	expires time.Time
	// pinned is what key keeps alive beyond itself (see cacheKey).
	pinned int64
}

// identityCache remembers what /api/me said about each credential, good or
// bad, and lets concurrent misses for one credential share one call.
type identityCache struct {
	apiKeys, bearers, passthrough *expiring[string, identityEntry] // one per mode: keys of different modes never meet
	group                         singleflight.Group
}

// newIdentityCache returns the identity caches, each of at most size
// entries and bytes bytes.
func newIdentityCache(size int, bytes int64, now func() time.Time) *identityCache {
	return &identityCache{
		apiKeys:     newExpiring(size, bytes, stringKeySize(identitySize), now).withRecent(stringSlot),
		bearers:     newExpiring(size, bytes, stringKeySize(identitySize), now).withRecent(stringSlot),
		passthrough: newExpiring(size, bytes, stringKeySize(identitySize), now).withRecent(stringSlot),
	}
}

// errLookupsBusy is why a credential went unidentified while
// Limits.MaxIdentityLookups lookups were in flight.
var errLookupsBusy = errors.New("too many identity lookups in flight (Config.Limits.MaxIdentityLookups); try again shortly")

// of returns the cache of one mode.
func (c *identityCache) of(mode qelos.Mode) *expiring[string, identityEntry] {
	switch mode {
	case qelos.ModeAPIToken:
		return c.apiKeys
	case qelos.ModeBearer:
		return c.bearers
	}
	return c.passthrough
}

func (c *identityCache) len() int { return c.apiKeys.len() + c.bearers.len() + c.passthrough.len() }

type identityEntry struct {
	auth    *Auth // nil: Qelos rejected the credential (anonymous)
	cookies []string
}

// forget drops the cached identities of one user in one mode.
func (c *identityCache) forget(mode qelos.Mode, userID string) {
	c.of(mode).removeIf(func(e identityEntry) bool { return e.auth != nil && e.auth.Mode == mode && e.auth.User.ID == userID })
}

// identify returns what Qelos says about cred, from the cache when it can,
// else from one /api/me call shared by every concurrent request with the
// same credential. Set-Cookie headers Qelos sent with the answer (a rotated
// Qelos session) are relayed to w, Domain rewritten to the request's host.
func (m *Middleware) identify(w http.ResponseWriter, r *http.Request, cred credential) *Auth {
	cache := m.identities.of(cred.mode)
	e, ok := cache.get(cred.key, m.now())
	if !ok {
		v, err, _ := m.identities.group.Do(cred.mode.String()+"\x00"+cred.key, func() (any, error) {
			if e, ok := cache.get(cred.key, m.now()); ok {
				return e, nil // filled while this call queued
			}
			select {
			case m.lookups <- struct{}{}:
				defer func() { <-m.lookups }()
			default:
				return nil, errLookupsBusy
			}
			return m.probe(r.Context(), cred)
		})
		if err != nil {
			if errors.Is(err, errLookupsBusy) {
				// A flood, most likely: one record per request would be
				// a flood of the log too.
				m.log.Debug("qelos identity: lookup refused", "mode", cred.mode.String(), "err", err)
			} else {
				m.log.Warn("qelos identity: Qelos unavailable", "mode", cred.mode.String(), "err", err)
			}
			err = unavailable(err)
			m.emit(qelos.Event{Kind: qelos.EventIdentityFailed, Mode: cred.mode, Err: err, Request: r})
			return &Auth{Mode: cred.mode, Err: err, mw: m}
		}
		e = v.(identityEntry)
	}
	return m.identified(w, r, cred.mode, e)
}

// cachedIdentity is the warm path of identify: the answer kept for the
// credential named k, looked up before the credential is parsed.
func (m *Middleware) cachedIdentity(w http.ResponseWriter, r *http.Request, mode qelos.Mode, k string, now time.Time) (*Auth, bool) {
	e, ok := m.identities.of(mode).lookup(k, now)
	if !ok {
		return nil, false
	}
	return m.identified(w, r, mode, e), true
}

// identified applies what Qelos said about a credential to the request.
func (m *Middleware) identified(w http.ResponseWriter, r *http.Request, mode qelos.Mode, e identityEntry) *Auth {
	m.relayCookies(w, r, e.cookies)
	if e.auth == nil {
		m.emit(qelos.Event{Kind: qelos.EventIdentityFailed, Mode: mode, Err: errIdentityRefused, Request: r})
		return nil
	}
	return m.resolveWorkspace(r, e.auth)
}

// probe asks Qelos who cred belongs to. A 401 or 403 is an answer (the
// credential is no good) and is cached like a success; anything else that
// is not a user is a transient error.
func (m *Middleware) probe(ctx context.Context, cred credential) (identityEntry, error) {
	// Detached from the request that happened to go first: its waiters
	// must not fail because it left.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.Limits.UpstreamTimeout)
	defer cancel()
	resp, err := m.send(ctx, http.MethodGet, "/api/me", nil, cred.header)
	if err != nil {
		return identityEntry{}, err
	}
	e := identityEntry{cookies: resp.Header.Values("Set-Cookie")}
	cache := m.identities.of(cred.mode)
	until := m.now().Add(m.cfg.Limits.IdentityTTL)
	if !cred.expires.IsZero() && cred.expires.Before(until) {
		until = cred.expires
	}
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		cache.putPinned(cred.key, e, until, cred.pinned)
		return e, nil
	case resp.Status < 200 || resp.Status > 299:
		return identityEntry{}, wire.APIError(resp.Status, resp.Body)
	}
	var u User
	if err := json.Unmarshal(resp.Body, &u); err != nil || u.ID == "" {
		return identityEntry{}, errors.Join(qelos.ErrUnavailable, errors.New("GET /api/me: answer is not a user"))
	}
	if u.Tenant != m.cfg.Tenant {
		// A user of another tenant (another Qelos app on the same
		// install): not a user of this app. Cached like a refusal.
		m.log.Warn("qelos identity: refused a user of another tenant", "mode", cred.mode.String(), "tenant", u.Tenant)
		cache.putPinned(cred.key, e, until, cred.pinned)
		return e, nil
	}
	wire.NormalizeUser(&u)
	e.auth = &Auth{User: &u, Workspace: u.Workspace, Mode: cred.mode, Privileged: m.privileged(&u), mw: m, expires: cred.expires, cred: cred.header}
	cache.putPinned(cred.key, e, until, cred.pinned)
	return e, nil
}

// A credKey names what the workspace caches keep by its SHA-256: a kind
// byte and the hash of the parts, so keys stay small.
type credKey [1 + sha256.Size]byte

// hashKey is the credKey of several parts, each ended by a NUL.
func hashKey(kind byte, parts ...string) credKey {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	k := credKey{kind}
	copy(k[1:], h.Sum(nil))
	return k
}

// apiKeyShape reports whether key looks like a Qelos API token: "ql_" and
// hex digits (Qelos issues "ql_" + 64). Anything else Qelos refuses, so it
// is refused here without asking.
func apiKeyShape(key string) bool {
	if len(key) < 3+32 || len(key) > 3+128 || key[:3] != "ql_" {
		return false
	}
	for i := 3; i < len(key); i++ {
		if c := key[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// jwtShape reports whether tok looks like a JWT: three non-empty dot-separated
// base64url segments. The algorithm and expiry are checked by readExpiry.
func jwtShape(tok string) bool {
	if len(tok) > maxTokenSize || strings.Count(tok, ".") != 2 {
		return false
	}
	for _, seg := range strings.Split(tok, ".") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
				return false
			}
		}
	}
	return true
}

// apiKeyCredential is an inbound x-api-key.
func apiKeyCredential(key string) credential {
	return credential{mode: qelos.ModeAPIToken, key: key, header: http.Header{"X-Api-Key": {key}}}
}

// bearerCredential is an inbound Authorization header.
func (m *Middleware) bearerCredential(authorization string) credential {
	c := credential{mode: qelos.ModeBearer, key: authorization, header: http.Header{"Authorization": {authorization}}}
	if _, tok, ok := strings.Cut(authorization, " "); ok {
		c.expires, _ = m.tokens.readExpiry(strings.TrimSpace(tok))
	}
	return c
}

// passthroughCredential is the Qelos session cookies (qlt_<tenant> or
// token) admit found (sc), named key in the passthrough identity cache. The probe sends
// Qelos those cookies only — each a JWT within Limits.MaxCredentialBytes,
// none of the app's other cookies — and the Authorization header. ok is
// false when none is shaped like a Qelos session, unexpired and, with
// JWTSecret, signed by Qelos: asking Qelos would be wasted. admit has
// bounded the cookies, so this is one pass over at most
// Limits.MaxCookieBytes.
func (m *Middleware) passthroughCredential(sc *cookieScan, key string) (cred credential, ok bool) {
	var cookies strings.Builder
	var expires time.Time
	now := m.now()
	for _, line := range sc.cookies {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, _ := strings.Cut(textproto.TrimString(part), "=")
			if !qelosCookieName(name) || !jwtShape(value) {
				continue
			}
			exp, err := m.qelosTokenExpiry(value)
			if err != nil || !exp.IsZero() && !now.Before(exp.Add(m.cfg.Refresh.Leeway)) {
				continue
			}
			if !exp.IsZero() && (expires.IsZero() || exp.Before(expires)) {
				expires = exp
			}
			if cookies.Len() > 0 {
				cookies.WriteString("; ")
			}
			cookies.WriteString(name)
			cookies.WriteByte('=')
			cookies.WriteString(value)
		}
	}
	if cookies.Len() == 0 {
		return credential{}, false
	}
	h := http.Header{"Cookie": {cookies.String()}}
	if a := sc.authz; len(a) > 0 {
		h["Authorization"] = a[:1:1]
	}
	c := credential{mode: qelos.ModePassthrough, key: key, header: h, expires: expires}
	if sc.qelosCount == 1 && len(sc.authz) == 0 { // key is cut from the Cookie header
		c.key, c.pinned = cacheKey(key, sc.cookies)
	}
	return c, true
}

// qelosTokenExpiry reads the expiry of a Qelos session cookie's token.
// With JWTSecret the token must be signed by Qelos and of the app's
// tenant, so a forged one is refused without asking Qelos; without it only
// the algorithm is pinned and Qelos decides.
func (m *Middleware) qelosTokenExpiry(tok string) (time.Time, error) {
	if m.tokens.secret == nil {
		return m.tokens.readExpiry(tok)
	}
	t, err := m.tokens.readAccess(tok)
	return t.expires, err
}

// passthroughKey names the Qelos session cookies admit found (sc) and the
// Authorization header in the passthrough identity cache,
// without parsing them: the warm path looks the request up before
// passthroughCredential checks the cookies. The usual request, one Qelos
// cookie and no Authorization, is named by that cookie as sent (a
// substring of its Cookie header: the lookup allocates nothing, and the
// cache copies the key when it keeps it); any other by a NUL and the
// SHA-256 of the cookies and the header, which no cookie as sent can
// equal (a cookie starts with its name).
func passthroughKey(sc *cookieScan) string {
	authz := sc.authz
	if sc.qelosCount == 1 && len(authz) == 0 {
		return sc.qelos
	}
	h := sha256.New()
	for _, line := range sc.cookies {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if name, _, _ := strings.Cut(part, "="); qelosCookieName(name) {
				io.WriteString(h, part)
				h.Write([]byte{';'})
			}
		}
	}
	if len(authz) > 0 {
		h.Write([]byte{0})
		io.WriteString(h, authz[0])
	}
	return "\x00" + string(h.Sum(nil))
}

// qelosCookieName reports whether a cookie is Qelos's session cookie, by
// the exact name Qelos reads: what passthrough identifies a request by.
// The proxy strips a wider set when it injects a credential
// (internal/proxy's qelosSessionCookie, any case): stripping more is always safe.
func qelosCookieName(name string) bool { return strings.HasPrefix(name, "qlt_") || name == "token" }

// relayCookies appends Qelos's Set-Cookie headers to w, with Domain
// rewritten to the request's host and, when configured, Path=/api widened
// to Path=/.
func (m *Middleware) relayCookies(w http.ResponseWriter, r *http.Request, cookies []string) {
	for _, c := range cookies {
		c = rewriteSetCookieDomain(c, r.Host)
		if m.cfg.Proxy.PassthroughCookiePath {
			c = rewriteSetCookiePath(c)
		}
		w.Header().Add("Set-Cookie", c)
	}
}

// bearer identifies a request by its Authorization header. With JWTSecret
// set, a Qelos access token is verified here with no upstream call;
// otherwise Qelos's /api/me decides. Bearer tokens are never refreshed:
// their client owns the pair.
func (m *Middleware) bearer(w http.ResponseWriter, r *http.Request, authorization string, now time.Time) *Auth {
	key := authorization
	if m.tokens.secret != nil {
		// Verified tokens are kept by the raw header, looked up before
		// anything is parsed.
		if a, ok := m.bearers.lookup(key, now); ok {
			return m.resolveWorkspace(r, a)
		}
		scheme, tok, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil
		}
		t, err := m.tokens.readAccess(strings.TrimSpace(tok))
		if err == nil && !now.Before(t.expires.Add(m.cfg.Refresh.Leeway)) {
			err = errTokenExpired
		}
		if err != nil {
			m.emit(qelos.Event{Kind: qelos.EventIdentityFailed, Mode: qelos.ModeBearer, Err: rejected(err), Request: r})
			return nil
		}
		a := &Auth{User: t.user, Workspace: t.user.Workspace, Mode: qelos.ModeBearer, Privileged: m.privileged(t.user),
			mw: m, expires: t.expires, cred: http.Header{"Authorization": {authorization}}}
		m.bearers.put(key, a, t.expires.Add(m.cfg.Refresh.Leeway))
		return m.resolveWorkspace(r, a)
	}
	if a, ok := m.cachedIdentity(w, r, qelos.ModeBearer, key, now); ok {
		return a
	}
	scheme, tok, _ := strings.Cut(authorization, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || !jwtShape(tok) {
		// Not a Qelos access token: Qelos would refuse it, so it is not asked.
		m.emit(qelos.Event{Kind: qelos.EventIdentityFailed, Mode: qelos.ModeBearer, Err: errNotAToken, Request: r})
		return nil
	}
	if exp, err := m.tokens.readExpiry(tok); err != nil || exp.IsZero() || !now.Before(exp.Add(m.cfg.Refresh.Leeway)) {
		// Another algorithm, no exp, or expired: refused without asking.
		m.emit(qelos.Event{Kind: qelos.EventIdentityFailed, Mode: qelos.ModeBearer, Err: rejected(errors.Join(errTokenExpired, err)), Request: r})
		return nil
	}
	return m.identify(w, r, m.bearerCredential(authorization))
}
