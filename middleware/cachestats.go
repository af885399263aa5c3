package middleware

// CacheStats is a snapshot of the middleware's caches, for sizing
// Limits.CacheBytes: what they hold, and how often a request's credential
// was found there. Read it with [Middleware.CacheStats], for example on a
// metrics scrape.
type CacheStats struct {
	// Sessions is how many opened session cookie pairs are cached.
	Sessions int
	// Entries is how many entries all the caches hold, Sessions included.
	Entries int
	// Bytes is what the caches hold, as Limits.CacheBytes counts it (an
	// estimate from above of their live heap).
	Bytes int64
	// MaxBytes is Limits.CacheBytes: Bytes never exceeds it.
	MaxBytes int64
	// Hits and Misses count, since New, the lookups of a request's
	// credential (session cookie pair, bearer token, API key, Qelos
	// session cookie): a miss is opened, verified or asked of Qelos. A
	// hit rate well below 1 with Bytes near MaxBytes says the cache is too
	// small for the sessions in use.
	Hits, Misses uint64
}

// HitRate is Hits / (Hits + Misses); 0 before any lookup.
func (s CacheStats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// CacheStats reports what the caches hold now and their hit rate since New.
// It takes each cache's lock briefly; call it for metrics, not per request.
func (m *Middleware) CacheStats() CacheStats {
	s := CacheStats{MaxBytes: m.cfg.Limits.CacheBytes, Sessions: m.cache.len()}
	for _, c := range []interface {
		len() int
		memory() int64
	}{m.cache.expiring, m.bearers, m.identities.apiKeys, m.identities.bearers, m.identities.passthrough, m.workspaces.expiring, m.rechecks} {
		s.Entries += c.len()
		s.Bytes += c.memory()
	}
	for _, c := range []interface{ counts() (uint64, uint64) }{m.cache.expiring, m.bearers, m.identities.apiKeys, m.identities.bearers, m.identities.passthrough} {
		h, mi := c.counts()
		s.Hits += h
		s.Misses += mi
	}
	return s
}
