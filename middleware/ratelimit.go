package middleware

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/qelos-io/integrator-go/middleware/internal/signinlimit"
	"github.com/qelos-io/integrator-go/refresh"
)

// The defaults of [SignInLimit], each documented on its field.
const (
	// defaultSignInPerUser is how many sign-in attempts one username may
	// make from one client address per window: enough for a user who
	// mistypes a password several times, far too few to guess one.
	defaultSignInPerUser = 10
	// defaultSignInPerClient is how many sign-in attempts one client
	// address may make per window, whatever the usernames: room for an
	// office behind one NAT address, not for spraying passwords across
	// accounts.
	defaultSignInPerClient = 50
	// defaultSignInWindow is the sliding window both limits count in.
	defaultSignInWindow = time.Minute
	// defaultSignInMaxKeys bounds the in-memory counter: at most this many
	// counted keys (a username and client, or a client), each holding at
	// most PerUser or PerClient timestamps; with the defaults about 64
	// bytes of key and overhead plus 8 per attempt, at most about 40 MiB.
	defaultSignInMaxKeys = 100_000
)

// SignInLimit configures the sign-in rate limit, which is on by default:
// Qelos itself does not limit sign-in attempts, so without it every
// password guess reaches Qelos. An attempt over a limit is answered 429
// {"code":"TOO_MANY_ATTEMPTS"} with Retry-After (seconds) and never reaches
// Qelos; the right password is refused too until the window has moved on,
// so a 429 tells a guesser nothing.
//
// Two limits apply, each counted in a sliding window (the attempts of the
// last Window, not of a calendar minute): PerUser attempts per username
// (case-insensitive) and client address, checked first, and PerClient
// attempts per client address, which counts only the attempts PerUser let
// through. So a guesser hammering one account from one address gets
// PerUser attempts per Window to Qelos and does not lock anybody else out,
// and spraying many accounts from one address gets PerClient. Attempts
// refused are not counted.
//
// The count lives in Config.Refresh.Store when it is a [refresh.RateCounter]
// (the Redis store is), so replicas share it; else, or when the shared
// store fails, in process memory (bounded by MaxKeys).
type SignInLimit struct {
	// Disable turns the limit off, for an app whose gateway already limits
	// sign-ins. Default: false (on).
	Disable bool
	// PerUser is how many attempts one username may make from one client
	// address per Window. Default: 10.
	PerUser int
	// PerClient is how many attempts one client address may make per
	// Window, for any usernames. Default: 50.
	PerClient int
	// Window is the sliding window. Default: 1 min.
	Window time.Duration
	// Limiter, when set, counts the attempts instead of Config.Refresh.Store
	// or process memory: a limiter of your own (on your database, or one
	// with other rules). It receives keys that are hex SHA-256 digests
	// (no username or address in clear) and Config.Now's time. An error is
	// logged and the attempt is counted in process memory instead.
	// Default: Config.Refresh.Store when it is a refresh.RateCounter, else
	// process memory.
	Limiter refresh.RateCounter
	// TrustedProxies are the addresses of the reverse proxies in front of
	// the app (such as netip.MustParsePrefix("10.0.0.0/8")). Only a request
	// whose connection comes from one has its client address read from
	// ClientIPHeader: the rightmost address there that is not itself a
	// trusted proxy. Any client can write that header, so it is read from
	// nobody else. Default: none, the connection's address
	// (Request.RemoteAddr) is the client's.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header trusted proxies put the client address
	// in. Default: "X-Forwarded-For".
	ClientIPHeader string
	// MaxKeys bounds the in-memory counter: at most this many counted keys
	// (a username and client, or a client), each holding at most PerUser
	// or PerClient timestamps; with the defaults about 64 bytes of key and
	// overhead plus 8 per attempt, at most about 40 MiB. When it is full,
	// expired counts are dropped, then arbitrary ones. Default: 100,000.
	MaxKeys int
}

// withDefaults fills the zero fields of l.
func (l SignInLimit) withDefaults() SignInLimit {
	l.PerUser = positiveOr(l.PerUser, defaultSignInPerUser)
	l.PerClient = positiveOr(l.PerClient, defaultSignInPerClient)
	l.Window = positiveOr(l.Window, defaultSignInWindow)
	l.ClientIPHeader = cmp.Or(l.ClientIPHeader, "X-Forwarded-For")
	l.MaxKeys = positiveOr(l.MaxKeys, defaultSignInMaxKeys)
	return l
}

// positiveOr returns v, or d when v is zero or negative.
func positiveOr[T int | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}

// newSignInLimiter returns the limiter of cfg, or nil when it is disabled.
func newSignInLimiter(cfg Config, log *slog.Logger) *signinlimit.Limiter {
	l := cfg.SignInLimit
	if l.Disable {
		return nil
	}
	shared := l.Limiter
	if shared == nil {
		shared, _ = cfg.Refresh.Store.(refresh.RateCounter)
	}
	return signinlimit.New(signinlimit.Options{
		PerUser: l.PerUser, PerClient: l.PerClient, Window: l.Window,
		TrustedProxies: l.TrustedProxies, ClientIPHeader: l.ClientIPHeader,
		MaxKeys: l.MaxKeys, Shared: shared, Logger: log,
	})
}

// allowSignIn counts a sign-in attempt for username and answers 429 when
// it is over a limit; ok is false when it has answered.
func (m *Middleware) allowSignIn(w http.ResponseWriter, r *http.Request, username string) bool {
	if m.signIns == nil {
		return true
	}
	if ok, retry := m.signIns.Allow(r.Context(), r, username, m.now()); !ok {
		m.tooMany(w, r, retry)
		return false
	}
	return true
}
