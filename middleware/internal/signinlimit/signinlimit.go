// Package signinlimit counts sign-in attempts in sliding windows, per
// username and client address and per client address, in a shared
// refresh.RateCounter when there is one and it answers, else in process
// memory; the middleware's SignInLimit configures it.
package signinlimit

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// Options are a Limiter's settings, defaults already applied.
type Options struct {
	PerUser, PerClient int           // attempts per Window
	Window             time.Duration // the sliding window
	TrustedProxies     []netip.Prefix
	ClientIPHeader     string              // read behind a trusted proxy
	MaxKeys            int                 // bounds the in-memory counter
	Shared             refresh.RateCounter // nil: memory only
	Logger             *slog.Logger        // where a failing Shared is reported
}

// Limiter applies Options. It is safe for concurrent use.
type Limiter struct {
	cfg    Options
	memory *memoryRate
}

// New returns the Limiter of o.
func New(o Options) *Limiter { return &Limiter{cfg: o, memory: newMemoryRate(o.MaxKeys)} }

// Allow counts an attempt of username from r's client address at now, and
// reports false, with how long to wait, when it is over one of the limits:
// PerUser for the username and client first, then PerClient for the
// client.
func (l *Limiter) Allow(ctx context.Context, r *http.Request, username string, now time.Time) (bool, time.Duration) {
	client := l.clientAddr(r)
	user := refresh.Key("sign-in user\x00" + strings.ToLower(username) + "\x00" + client)
	if ok, retry := l.take(ctx, user, l.cfg.PerUser, now); !ok {
		return false, retry
	}
	return l.take(ctx, refresh.Key("sign-in client\x00"+client), l.cfg.PerClient, now)
}

// take counts one attempt under key, in the shared limiter when there is
// one and it answers, else in memory.
func (l *Limiter) take(ctx context.Context, key string, limit int, now time.Time) (bool, time.Duration) {
	if l.cfg.Shared != nil {
		ok, retry, err := l.cfg.Shared.Take(ctx, key, limit, l.cfg.Window, now)
		if err == nil {
			return ok, retry
		}
		l.cfg.Logger.Warn("qelos sign-in: the shared rate limit did not answer; counting in this process", "err", err)
	}
	ok, retry, _ := l.memory.Take(ctx, key, limit, l.cfg.Window, now)
	return ok, retry
}

// maxForwarded bounds how many addresses of a forwarded header are read.
const maxForwarded = 32

// clientAddr is the request's client address: the connection's, or behind
// a trusted proxy the rightmost untrusted address of ClientIPHeader. An
// IPv6 address counts as its /64, which one client usually holds whole.
func (l *Limiter) clientAddr(r *http.Request) string {
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

func (l *Limiter) trusted(a netip.Addr) bool {
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
