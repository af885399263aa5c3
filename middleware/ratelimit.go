package middleware

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

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
// The count lives in the RefreshStore when it is a [refresh.RateCounter]
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
	// Limiter, when set, counts the attempts instead of the RefreshStore
	// or process memory: a limiter of your own (on your database, or one
	// with other rules). It receives keys that are hex SHA-256 digests
	// (no username or address in clear) and Config.Now's time. An error is
	// logged and the attempt is counted in process memory instead.
	// Default: the RefreshStore when it is a refresh.RateCounter, else
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
	if l.PerUser <= 0 {
		l.PerUser = defaultSignInPerUser
	}
	if l.PerClient <= 0 {
		l.PerClient = defaultSignInPerClient
	}
	if l.Window <= 0 {
		l.Window = defaultSignInWindow
	}
	if l.ClientIPHeader == "" {
		l.ClientIPHeader = "X-Forwarded-For"
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = defaultSignInMaxKeys
	}
	return l
}

// signInLimiter applies a SignInLimit.
type signInLimiter struct {
	cfg    SignInLimit
	shared refresh.RateCounter // nil: memory only
	memory *memoryRate
}

// newSignInLimiter returns the limiter of cfg, or nil when it is disabled.
func newSignInLimiter(cfg Config) *signInLimiter {
	l := cfg.SignInLimit
	if l.Disable {
		return nil
	}
	s := &signInLimiter{cfg: l, shared: l.Limiter, memory: newMemoryRate(l.MaxKeys)}
	if s.shared == nil {
		s.shared, _ = cfg.Refresh.Store.(refresh.RateCounter)
	}
	return s
}

// allowSignIn counts a sign-in attempt for username and answers 429 when
// it is over a limit; ok is false when it has answered.
func (m *Middleware) allowSignIn(w http.ResponseWriter, r *http.Request, username string) bool {
	l := m.signIns
	if l == nil {
		return true
	}
	client := l.clientAddr(r)
	now := m.now()
	user := refresh.Key("sign-in user\x00" + strings.ToLower(username) + "\x00" + client)
	if ok, retry := l.take(r.Context(), m, user, l.cfg.PerUser, now); !ok {
		m.tooMany(w, r, retry)
		return false
	}
	if ok, retry := l.take(r.Context(), m, refresh.Key("sign-in client\x00"+client), l.cfg.PerClient, now); !ok {
		m.tooMany(w, r, retry)
		return false
	}
	return true
}

// take counts one attempt under key, in the shared limiter when there is
// one and it answers, else in memory.
func (l *signInLimiter) take(ctx context.Context, m *Middleware, key string, limit int, now time.Time) (bool, time.Duration) {
	if l.shared != nil {
		ok, retry, err := l.shared.Take(ctx, key, limit, l.cfg.Window, now)
		if err == nil {
			return ok, retry
		}
		m.log.Warn("qelos sign-in: the shared rate limit did not answer; counting in this process", "err", err)
	}
	ok, retry, _ := l.memory.Take(ctx, key, limit, l.cfg.Window, now)
	return ok, retry
}

// maxForwarded bounds how many addresses of a forwarded header are read.
const maxForwarded = 32

// clientAddr is the request's client address: the connection's, or behind
// a trusted proxy the rightmost untrusted address of ClientIPHeader. An
// IPv6 address counts as its /64, which one client usually holds whole.
func (l *signInLimiter) clientAddr(r *http.Request) string {
	addr := parseAddr(r.RemoteAddr)
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if l.trusted(addr) {
		var hops []string
		for _, v := range r.Header.Values(l.cfg.ClientIPHeader) {
			hops = append(hops, strings.Split(v, ",")...)
			if len(hops) > maxForwarded {
				hops = hops[len(hops)-maxForwarded:]
			}
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a := parseAddr(strings.TrimSpace(hops[i]))
			if !a.IsValid() {
				break
			}
			addr = a
			if !l.trusted(a) {
				break
			}
		}
	}
	if addr.Is6() && !addr.Is4In6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.Unmap().String()
}

func (l *signInLimiter) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) || p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "ip", "ip:port" or "[ip]:port".
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	a, _ := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.WithZone("")
}

// memoryRate is the in-process refresh.RateCounter: a sliding-window log per key,
// holding at most limit timestamps, swept of stale keys once a window.
type memoryRate struct {
	mu        sync.Mutex
	logs      map[string][]int64 // unix nanoseconds, oldest first
	max       int
	lastSweep int64
}

func newMemoryRate(max int) *memoryRate {
	return &memoryRate{logs: map[string][]int64{}, max: max}
}

// Take implements refresh.RateCounter.
func (c *memoryRate) Take(_ context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	t, w := now.UnixNano(), int64(window)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t-c.lastSweep >= w || len(c.logs) >= c.max {
		c.sweep(t, w)
	}
	log := c.logs[key]
	i := 0
	for i < len(log) && log[i] <= t-w {
		i++
	}
	log = log[i:]
	if len(log) >= limit {
		c.logs[key] = log
		return false, time.Duration(log[0] + w - t), nil
	}
	if len(log) == 0 && len(c.logs) >= c.max {
		for k := range c.logs { // full of live counts: drop one
			delete(c.logs, k)
			break
		}
	}
	c.logs[key] = append(log, t)
	return true, 0, nil
}

// sweep drops the keys whose last attempt left the window. The caller
// holds c.mu.
func (c *memoryRate) sweep(t, w int64) {
	c.lastSweep = t
	for k, log := range c.logs {
		if len(log) == 0 || log[len(log)-1] <= t-w {
			delete(c.logs, k)
		}
	}
}
