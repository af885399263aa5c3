package middleware

import (
	"errors"
	"fmt"
	qelos "github.com/qelos-io/integrator-go"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// The defaults New applies to zero fields, each documented on its field.
const (
	defaultAccessCookieName   = "q_access_token"
	defaultRefreshCookieName  = "q_refresh_token"
	defaultRefreshMargin      = 10 * time.Second
	defaultUpstreamTimeout    = 5 * time.Second
	defaultCacheSize          = 10_000
	defaultIdentityTTL        = 30 * time.Second
	defaultProxyTimeout       = 60 * time.Second
	defaultMaxCookies         = 300
	defaultMaxCookieBytes     = 64 << 10
	defaultMaxQelosCookies    = 8
	defaultMaxCredentialBytes = 8 << 10
	defaultCacheBytes         = 64 << 20
	defaultMaxIdentityLookups = 32
	defaultTenant             = "0" // the tenant of a default Qelos install (BASIC_TENANT)
)

// Limits bound the work and the memory an attacker-controlled input can
// cost, checked before any other work on a request. A request over one of
// the request budgets (the Max… fields but MaxIdentityLookups) is refused
// with 431 {"code":"REQUEST_HEADERS_TOO_LARGE"} (qelos.CodeHeadersTooLarge,
// through Config.ErrorHandler) at the cost of reading its headers' lengths
// and at most one pass over MaxCookieBytes of cookies: no cookie is
// opened, no credential parsed, nothing is cached and Qelos is not asked.
// Its cookies are left as they are. What is not read is not judged: a
// request identified by its x-api-key is judged by the key alone, one
// identified by the session pair by its cookies alone. Handler does not
// judge requests on SkipPaths; Proxy judges those it authenticates itself.
// Zero fields take the defaults; negative Max… fields and CacheBytes are
// an error.
type Limits struct {
	// MaxCookies is how many cookies a request's Cookie headers may
	// carry. Browsers keep at most about 180 cookies per site (Chrome and
	// Firefox); the session pair takes 2 (up to 16 chunks for a very large
	// profile). Default: 300.
	MaxCookies int
	// MaxCookieBytes is how many bytes a request's Cookie headers may hold
	// together. The session pair seals to about 2–4 KiB (at most 2 × 24 KiB
	// for a profile with names thousands of characters long); common
	// reverse proxies refuse a header line over 8 KiB (nginx) or 16 KiB
	// anyway. Go's own limit is the whole header block, 1 MiB. Default:
	// 64 KiB.
	MaxCookieBytes int
	// MaxQelosCookies is how many of Qelos's own session cookies (qlt_…,
	// token) a request may carry when passthrough is on. Qelos sets one
	// per tenant (two when its Path was widened, see
	// PassthroughCookiePath). Default: 8.
	MaxQelosCookies int
	// MaxCredentialBytes is the longest credential read: the x-api-key
	// and Authorization headers, and each Qelos session cookie's value. A
	// Qelos API key is 67 bytes, an access token about 1 KiB (more with
	// very long names), and browsers drop cookies over 4 KiB. Default:
	// 8 KiB.
	MaxCredentialBytes int
	// CacheBytes bounds the memory the caches hold together, counted
	// from each entry's key and value: half for opened session cookies
	// (about 3 KiB each, so about 10,000 sessions at the default), a
	// twelfth each for verified bearer tokens, the identities of API keys,
	// of bearer tokens and of Qelos session cookies (refusals included),
	// workspace lists and workspace re-checks. A full cache drops expired
	// entries first, then arbitrary ones; expired entries are also swept
	// every 10 s. An entry over an eighth of its cache's share is not
	// kept. Default: 64 MiB.
	CacheBytes int64
	// MaxIdentityLookups bounds how many identity lookups (GET /api/me
	// for an API key, a bearer token without JWTSecret, or a Qelos
	// session cookie) are in flight to Qelos at once. Requests with the
	// same credential share one lookup; a request that would start one
	// more continues unidentified with Auth.Err matching qelos.ErrUnavailable,
	// so guards and RequireAuth answer 503 with Retry-After, never 401,
	// and the credential is not cached as refused. With the default
	// UpstreamTimeout this caps the identity calls a flood of made-up
	// credentials sends Qelos, and the memory they hold, whatever the
	// flood's rate. Default: 32.
	MaxIdentityLookups int
	// CacheSize bounds how many entries each of the middleware's caches
	// keeps: the cache of already-opened cookies, which lets a warm request
	// skip decryption and JWT parsing, and those of bearer tokens, API
	// keys, Qelos session cookies, workspace lists and workspace re-checks.
	// Entries still honour the credential's expiry, and every cache is also
	// bounded in bytes (CacheBytes), whichever bound comes first. Default:
	// 10,000 per cache. Negative disables the caches.
	CacheSize int
	// IdentityTTL is how long Qelos's answer about a bearer token, an API
	// key or a Qelos session cookie is reused (never past the credential's
	// own expiry), so those modes cost at most one upstream call per
	// credential per TTL. Refusals are remembered as long, so a client
	// retrying a bad credential costs one call per TTL too; a credential
	// not even shaped like Qelos's (a bearer that is no unexpired HS256
	// JWT, an API key that is not "ql_" and hex) costs none. Revocations
	// take up to this long to be seen. It also bounds how long the
	// workspace re-check of one refresh is reused. Default: 30 s.
	IdentityTTL time.Duration
	// UpstreamTimeout bounds how long a request waits on Qelos (sign-in,
	// refresh, sign-out, identity). A refresh that takes longer goes on in
	// the background, so its rotation is still recorded for the next
	// request. Default: 5 s.
	UpstreamTimeout time.Duration
}

// withDefaults returns l with every zero field defaulted, or an error
// naming a negative one.
func (l Limits) withDefaults() (Limits, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxCookies", &l.MaxCookies, defaultMaxCookies},
		{"MaxCookieBytes", &l.MaxCookieBytes, defaultMaxCookieBytes},
		{"MaxQelosCookies", &l.MaxQelosCookies, defaultMaxQelosCookies},
		{"MaxCredentialBytes", &l.MaxCredentialBytes, defaultMaxCredentialBytes},
		{"MaxIdentityLookups", &l.MaxIdentityLookups, defaultMaxIdentityLookups},
	} {
		if *f.v < 0 {
			return l, fmt.Errorf("middleware: Config.Limits.%s %d must not be negative: leave it 0 for the default (%d)", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if l.CacheBytes < 0 {
		return l, fmt.Errorf("middleware: Config.Limits.CacheBytes %d must not be negative: leave it 0 for the default (%d); a negative CacheSize disables the caches", l.CacheBytes, defaultCacheBytes)
	}
	if l.CacheBytes == 0 {
		l.CacheBytes = defaultCacheBytes
	}
	if l.CacheSize == 0 {
		l.CacheSize = defaultCacheSize
	}
	if l.IdentityTTL <= 0 {
		l.IdentityTTL = defaultIdentityTTL
	}
	if l.UpstreamTimeout <= 0 {
		l.UpstreamTimeout = defaultUpstreamTimeout
	}
	return l, nil
}

// CookieSecurity chooses the Secure attribute of the session cookies.
type CookieSecurity int

const (
	// SecureAlways (the default) sets Secure. Browsers accept and send
	// Secure cookies on http://localhost and http://127.0.0.1, so local
	// development needs nothing else.
	SecureAlways CookieSecurity = iota
	// SecureNever leaves Secure off, and with it the __Host- prefix. Only
	// for plain-http development on a host other than localhost (a LAN IP,
	// a container name): the cookies then travel in clear text.
	SecureNever
)

// Config configures a [Middleware]. Only AppURL and CookieKeys are required;
// every other field has a default chosen to be safe. Related settings are
// grouped (Cookie, Proxy, CrossOrigin, Refresh, SignInLimit, Limits), each
// group's zero value being its defaults.
type Config struct {
	// AppURL is the Qelos app URL, such as "https://app.qelos.example":
	// every call to Qelos goes there, unless Proxy.Target is set. Required.
	AppURL string

	// APIToken is the app's own Qelos API token (ql_…), for service calls
	// through ServiceClient and for request-scoped clients of requests that
	// carry no credential. It never identifies an inbound request: an
	// anonymous visitor is not signed in as the token's owner.
	// Default: none.
	APIToken string

	// CookieKeys seal the session cookies (HMAC, and AES when a key set has
	// a Block key). The first set seals; all of them open, so keys rotate
	// by putting the new set first and keeping the old one until the old
	// cookies have expired. Required: see GenerateCookieKey and
	// ParseCookieKeys.
	CookieKeys []CookieKey

	// Tenant is the Qelos tenant id of this app. Every access token this
	// app reads (from its cookies, or as a bearer with JWTSecret) and every
	// identity Qelos vouches for (/api/me) must carry it; others are
	// refused. Qelos signs every tenant's tokens with one JWT_SECRET, so
	// without this check a token of tenant "999" — and its admin role —
	// would pass here. Default: "0", the tenant of a default Qelos install
	// (BASIC_TENANT).
	Tenant string

	// JWTSecret is Qelos's JWT_SECRET. When set, access tokens are also
	// verified as HS256 signatures. When empty, the sealed cookie's MAC is
	// the proof: a cookie that opens was written by this app from tokens
	// Qelos returned. Default: empty.
	JWTSecret string

	// Cookie sets the session cookies' names and attributes. The zero value
	// is the secure default: __Host-q_access_token and
	// __Host-q_refresh_token, Secure, Path=/, host-only, SameSite=Lax.
	Cookie CookieConfig

	// SkipPaths are path prefixes the middleware does not touch: no cookie
	// is read or written and no Auth is attached. Matched against the
	// request's URL path with strings.HasPrefix. Default: none — not even
	// /api/: an app's own /api/ routes get their user, and Proxy mounted
	// behind Handler uses the Auth Handler found (Proxy also works mounted
	// outside Handler, or under a skipped prefix, opening the session on
	// its own).
	SkipPaths []string
	// RequireAuth answers every anonymous request (outside SkipPaths) with
	// 401 {"code":"UNAUTHORIZED"}, or 503 {"code":"QELOS_UNAVAILABLE"} when
	// Qelos could not be reached to refresh. Default: false (anonymous
	// requests reach the handler; guard routes with RequireUser). With the
	// proxy mounted behind Handler, anonymous /api/ calls (a sign-in through
	// the proxy) are refused too: add "/api/" to SkipPaths to let them
	// through, and Proxy authenticates the others itself.
	RequireAuth bool

	// PrivilegedRoles are the tenant roles that make Auth.Privileged true
	// and pass the Privileged rule. Default: ["admin"], as Qelos.
	PrivilegedRoles []string

	// ResolveWorkspace, when set, chooses the active workspace of each
	// signed-in request, for example from the subdomain or a header. It
	// runs in Handler, before the router, so route parameters
	// (r.PathValue, chi.URLParam) are not known yet: to choose by a route
	// parameter, mount SelectWorkspace on those routes instead. See
	// WorkspaceResolver for what it receives. Default: the workspace
	// recorded in the session at sign-in or last switch, else the one the
	// token names — never simply the first of the user's workspaces.
	ResolveWorkspace WorkspaceResolver

	// Proxy configures the /api/** proxy to Qelos and Qelos's own session
	// cookie (passthrough). The zero value: the proxy on, a 60 s timeout,
	// passthrough off.
	Proxy ProxyConfig

	// CrossOrigin configures the protection against cross-origin
	// state-changing browser requests. The zero value: on, with no trusted
	// origins.
	CrossOrigin CrossOriginConfig

	// ErrorHandler answers every error the package writes on its own:
	// Handler's 401 and 503 under RequireAuth, its 403 for a cross-origin
	// request and its 431 for a request over Limits, the guards' 401, 403
	// and 503 (Require, Deny and the adapters' guards, for requests Handler
	// saw), the proxy's 400, 414, 502 and 503, and the session handlers'
	// 400, 401, 403, 405, 409, 422, 429 and 503. err is a *qelos.Error (find
	// it with errors.As: its Status, its stable Code, its Message) whose
	// cause matches qelos.ErrUnavailable, qelos.ErrUnauthorized, … with
	// errors.Is. A browser app can redirect to its sign-in page instead:
	//
	//	ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
	//		if errors.Is(err, qelos.ErrUnauthorized) && strings.Contains(r.Header.Get("Accept"), "text/html") {
	//			http.Redirect(w, r, "/signin", http.StatusSeeOther)
	//			return
	//		}
	//		qelos.WriteError(w, r, err)
	//	}
	//
	// The writer it receives makes the answer uncacheable if it sets a
	// cookie. Default: qelos.WriteError, which answers the status with the
	// JSON body {"code":…,"message":…} (and Retry-After on a 503).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Refresh configures how cookie pairs are refreshed and how replicas
	// share the outcome. The zero value suits one replica.
	Refresh RefreshConfig

	// SignInLimit limits sign-in attempts per username and client and per
	// client, in a sliding window: on by default, at 10 and 50 a minute,
	// shared across replicas through Refresh.Store when it can count (the
	// Redis store can). See SignInLimit for the client address behind a
	// proxy and for a limiter of your own.
	SignInLimit SignInLimit

	// Limits are the budgets of what one request, or many, can make the
	// middleware do and keep: cookie counts and sizes, credential sizes,
	// the caches' sizes, concurrent identity lookups and how long Qelos is
	// waited for. The defaults are far above what a browser or an API
	// client sends; see Limits.
	Limits Limits

	// HTTPClient sends requests to Qelos. Default: a client that does not
	// follow redirects (credentials are never replayed to another URL).
	HTTPClient *http.Client
	// Logger receives refresh, rejection and fault records, and the
	// guards' misconfiguration warnings. No token or cookie value is ever
	// logged. Default: slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, is called synchronously for each qelos.Event: a
	// refresh, a failed refresh, a rejected cookie, a sign-in, a sign-out,
	// a failed identity, and every call to Qelos with its kind, outcome
	// and duration (qelos.EventUpstreamCall). Wire it to metrics; wire
	// HTTPClient's Transport to tracing. Keep it fast and safe for
	// concurrent use. Default: none.
	OnEvent func(qelos.Event)

	// Now is the middleware's clock, for token expiry and its caches.
	// Tests share one with qelostest (qelostest.Kit sets it to the kit's
	// Clock), so a session expires by advancing the clock instead of
	// sleeping. Default: time.Now.
	Now func() time.Time
}

// CookieConfig sets the session cookies' names and attributes (the
// [Config.Cookie] group). Zero fields take the defaults.
type CookieConfig struct {
	// AccessName and RefreshName name the session cookies. Defaults:
	// "q_access_token" and "q_refresh_token", the names Qelos's first
	// integrators used. In the browser they carry the __Host- prefix (see
	// DisableHostPrefix); see Middleware.CookieNames. The two together stay
	// within 4,096 bytes: a session that would be larger
	// is refused (qelos.ErrSessionTooLarge), never split.
	AccessName  string
	RefreshName string
	// Path is the cookies' Path. Default: "/", so every page route sees
	// the session.
	Path string
	// Domain is the cookies' Domain. Default: empty, a host-only cookie,
	// which no sibling subdomain receives.
	Domain string
	// Secure chooses the Secure attribute. Default: SecureAlways, whatever
	// AppURL's scheme: the app decides, and browsers accept Secure cookies
	// on http://localhost. SecureNever is for plain-http development on
	// other hosts (QELOS_INSECURE_COOKIES).
	Secure CookieSecurity
	// DisableHostPrefix drops the __Host- prefix from the cookie names. By
	// default, when the cookies are Secure with Path "/" and no Domain,
	// they are named "__Host-" + name, which browsers accept only from this
	// very host over a secure origin, so a sibling subdomain cannot plant or
	// overwrite a session. Set it only while migrating cookies an earlier
	// version set without the prefix. Default: false.
	DisableHostPrefix bool
	// SameSite is the cookies' SameSite attribute. Default:
	// http.SameSiteLaxMode, which withholds them from cross-site
	// subrequests and POSTs (a CSRF defence) but keeps top-level
	// navigation signed in.
	SameSite http.SameSite
	// WriteLegacyFormat seals the access cookie in the JSON format of the
	// versions before v0.1.0 (its token and session id alone) instead of
	// the compact one. This version reads both formats either way; a
	// replica of an earlier version reads only the JSON one, and clears a
	// pair it cannot open. Set it during a rolling upgrade from a version
	// before v0.1.0, then remove it once no replica of that version is
	// left (see README, "Upgrading"). Default: false, the compact format,
	// whose first sight on a replica is several times cheaper.
	WriteLegacyFormat bool
}

// ProxyConfig configures the /api/** proxy and Qelos's own session cookie
// (the [Config.Proxy] group).
type ProxyConfig struct {
	// Target, when set, is where every call to Qelos goes instead of
	// AppURL (the proxy's, the identity probe's and the clients', so they
	// cannot disagree): a development override. ConfigFromEnv fills it from
	// QELOS_PROXY_TARGET, QELOS_IP or QELOS_API_IP; New never reads the
	// environment. A bare IP makes the Qelos gateway answer 400 "no website
	// for host": it finds the tenant by host name. Default: AppURL.
	Target string
	// Disable turns off the /api/** proxy: Proxy answers 404. It has no
	// effect on Handler, which skips only SkipPaths. ConfigFromEnv reads
	// QELOS_DISABLE_PROXY. Default: false.
	Disable bool
	// Timeout bounds how long Proxy waits for Qelos to start answering (its
	// response headers); the body then streams for as long as it takes. A
	// Qelos that does not answer in time gets the browser a 502
	// {"code":"QELOS_PROXY_UPSTREAM_ERROR"}. Generous by default because
	// some Qelos endpoints (plugins, AI) are slow to start: 60 s.
	Timeout time.Duration
	// Passthrough identifies a request that carries Qelos's own session
	// cookie (qlt_<tenant>, or its fallback name "token") and not the
	// app's pair by asking Qelos's GET /api/me, as the Node integrators do,
	// and lets Proxy forward that cookie to Qelos as the request's
	// credential.
	//
	// It is off by default because of cookie tossing: Qelos's cookie has no
	// __Host- prefix, so a sibling subdomain, or any plain-http page on the
	// app's host, can plant its own qlt_<tenant> cookie in a visitor's
	// browser. With Passthrough on, a visitor without the app's pair is
	// then signed in as the attacker (anything they upload or create lands
	// in the attacker's account). With it off, such a cookie is ignored:
	// never sent to /api/me, and stripped by Proxy from every request it
	// forwards. Turn it on only when the browser signs in to Qelos
	// directly (Qelos's cookie mode through Proxy) and no other host under
	// the app's registrable domain is outside your control.
	//
	// On or off, a request Proxy sends with a credential of the
	// middleware's own (the pair's access token) carries no credential the
	// browser sent: no Cookie, Authorization or x-api-key header.
	// ConfigFromEnv reads QELOS_PASSTHROUGH. Default: false.
	Passthrough bool
	// PassthroughCookiePath rewrites "Path=/api" to "Path=/" on the Qelos
	// session cookies relayed to the browser, so page routes receive them
	// too. Qelos scopes its cookie to /api, where Handler does not look.
	// Default: false (relayed byte for byte but for Domain).
	PassthroughCookiePath bool
}

// CrossOriginConfig configures the protection against cross-origin
// state-changing browser requests (the [Config.CrossOrigin] group).
type CrossOriginConfig struct {
	// Disable turns off the check that, by default, rejects
	// state-changing (non-GET/HEAD/OPTIONS) cross-origin browser requests
	// with 403 {"code":"CROSS_ORIGIN_REQUEST"}, using Go's
	// http.CrossOriginProtection (Sec-Fetch-Site, else Origin against
	// Host). Requests with neither header — curl, server-to-server, native
	// clients — pass. It protects the session cookies beyond SameSite=Lax:
	// from sibling subdomains, and when SameSite is None. Default: false
	// (protection on).
	Disable bool
	// TrustedOrigins are origins ("https://admin.example.com") allowed to
	// make cross-origin requests despite the default protection. Ignored
	// when Protection is set. Default: none.
	TrustedOrigins []string
	// Protection, when set, is the check Handler applies instead of the
	// default one, with its trusted origins and bypass patterns. Default:
	// http.NewCrossOriginProtection() with TrustedOrigins. Either way a
	// refusal is answered through Config.ErrorHandler (403
	// qelos.CodeCrossOrigin); the protection's own deny handler is not used.
	Protection *http.CrossOriginProtection
}

// RefreshConfig configures the refresh of cookie pairs (the
// [Config.Refresh] group).
type RefreshConfig struct {
	// Store keeps refresh outcomes for the grace window and, when it
	// is a refresh.Locker, coordinates replicas. Several replicas behind a
	// load balancer need a shared one, so that they spend each single-use
	// refresh token once: a Store of the refresh/redisstore module (its own
	// Go module, so that single-instance apps do not link go-redis), made
	// with the first cookie key's Hash as its secret so that every replica
	// with the same QELOS_COOKIE_KEYS can read it:
	//
	//	store, err := redisstore.NewFromEnv(redisstore.Options{Secret: keys[0].Hash, Logger: logger}) // QELOS_REDIS_URL
	//	cfg.Refresh.Store = store // and defer store.Close()
	//
	// New hands a store that is a refresh.KeyedStore every CookieKeys hash
	// key, so values sealed by a replica with another key order (mid-
	// rotation) still open. Sign-outs are shared through a refresh.Revoker.
	// If Redis is unreachable, requests are still served: each replica keeps
	// its own outcomes, never spends a token it saw another replica
	// refreshing, and after 2 s coordinates alone (see the README's "Several
	// replicas" for the windows that remain). The caller owns the store and
	// closes it. Default: an in-memory store (right for a single replica).
	Store refresh.Store
	// Margin refreshes a pair this long before the access token expires,
	// so a request never reaches Qelos with a token that expires on the
	// way. The margin is capped at half the token's lifetime (exp − iat),
	// so a short-lived token is not refreshed on every request: a 2 s token
	// is refreshed 1 s before it expires, whatever the margin. So a pair is
	// refreshed at max(exp − Margin, exp − lifetime/2). Default: 10 s.
	// Negative is an error.
	Margin time.Duration
	// Grace is how long a refresh's outcome is remembered, so that a
	// request still carrying the old pair gets the new one instead of a
	// sign-out. Default: refresh.DefaultGrace (30 s).
	Grace time.Duration
	// Leeway tolerates clock skew between Qelos and this app in every
	// expiry check: a token's nbf, the refresh token's exp (a refresh is
	// tried while exp+Leeway is ahead), an expiring access token's exp, and
	// for bearer tokens verified with JWTSecret, their exp. Default: 0.
	Leeway time.Duration
}

func (c *Config) cookieSecure() bool { return c.Cookie.Secure != SecureNever }

// hostPrefix reports whether the cookie names carry the __Host- prefix:
// browsers accept it only on Secure, Path=/, host-only cookies.
func (c *Config) hostPrefix() bool {
	return !c.Cookie.DisableHostPrefix && c.cookieSecure() && c.Cookie.Path == "/" && c.Cookie.Domain == ""
}

// withDefaults returns a copy of c with every zero field defaulted, or an
// error that says which field to fix.
func (c Config) withDefaults() (Config, error) {
	var err error
	c.AppURL = strings.TrimRight(strings.TrimSpace(c.AppURL), "/")
	if c.AppURL == "" {
		return c, errors.New("middleware: Config.AppURL is required: set it to your Qelos app URL, such as https://app.qelos.example")
	}
	if err := checkURL(c.AppURL); err != nil {
		return c, fmt.Errorf("middleware: Config.AppURL %q %w", c.AppURL, err)
	}
	if c.Proxy.Target = strings.TrimRight(strings.TrimSpace(c.Proxy.Target), "/"); c.Proxy.Target != "" {
		if err := checkURL(c.Proxy.Target); err != nil {
			return c, fmt.Errorf("middleware: Config.Proxy.Target %q (QELOS_PROXY_TARGET, QELOS_IP or QELOS_API_IP) %w", c.Proxy.Target, err)
		}
	}
	if c.Tenant = strings.TrimSpace(c.Tenant); c.Tenant == "" {
		c.Tenant = defaultTenant
	}
	if len(c.CookieKeys) == 0 {
		return c, errors.New("middleware: Config.CookieKeys is required: generate a key set with middleware.GenerateCookieKey() and keep it (QELOS_COOKIE_KEYS), or sessions will not survive a restart")
	}
	for i, k := range c.CookieKeys {
		if err := k.validate(); err != nil {
			return c, fmt.Errorf("middleware: Config.CookieKeys[%d]: %w", i, err)
		}
	}
	if c.Cookie.AccessName == "" {
		c.Cookie.AccessName = defaultAccessCookieName
	}
	if c.Cookie.RefreshName == "" {
		c.Cookie.RefreshName = defaultRefreshCookieName
	}
	for _, n := range []string{c.Cookie.AccessName, c.Cookie.RefreshName} {
		if !validCookieName(n) {
			return c, fmt.Errorf("middleware: Config.Cookie name %q is not a valid cookie token: use letters, digits and - or _", n)
		}
	}
	if c.Cookie.AccessName == c.Cookie.RefreshName {
		return c, errors.New("middleware: Config.Cookie.AccessName and RefreshName must differ: give the two session cookies two names")
	}
	if c.Cookie.Secure != SecureAlways && c.Cookie.Secure != SecureNever {
		return c, fmt.Errorf("middleware: Config.Cookie.Secure %d is not SecureAlways or SecureNever", c.Cookie.Secure)
	}
	if c.Cookie.Path == "" {
		c.Cookie.Path = "/"
	}
	if c.Cookie.SameSite == 0 {
		c.Cookie.SameSite = http.SameSiteLaxMode
	}
	if c.Cookie.SameSite == http.SameSiteNoneMode && !c.cookieSecure() {
		return c, errors.New("middleware: Config.Cookie.SameSite None requires Secure cookies (browsers drop them otherwise): leave Cookie.Secure SecureAlways")
	}
	for i, p := range c.SkipPaths {
		if !strings.HasPrefix(p, "/") {
			return c, fmt.Errorf("middleware: Config.SkipPaths[%d] %q must start with /", i, p)
		}
	}
	if c.Refresh.Leeway < 0 {
		return c, errors.New("middleware: Config.Refresh.Leeway must not be negative: leave it 0, or set the clock skew to tolerate")
	}
	if c.Refresh.Margin < 0 {
		return c, fmt.Errorf("middleware: Config.Refresh.Margin %v must not be negative: leave it 0 for the default (%v), or set how long before expiry a pair is refreshed", c.Refresh.Margin, defaultRefreshMargin)
	}
	if c.Refresh.Margin == 0 {
		c.Refresh.Margin = defaultRefreshMargin
	}
	if c.Proxy.Timeout <= 0 {
		c.Proxy.Timeout = defaultProxyTimeout
	}
	if c.PrivilegedRoles == nil {
		c.PrivilegedRoles = []string{"admin"}
	}
	c.SignInLimit = c.SignInLimit.withDefaults()
	if c.Limits, err = c.Limits.withDefaults(); err != nil {
		return c, err
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an absolute http(s) URL, such as https://app.qelos.example")
	}
	return nil
}

// validCookieName reports whether s is a valid cookie name, as net/http
// judges it.
func validCookieName(s string) bool { return (&http.Cookie{Name: s}).Valid() == nil }
