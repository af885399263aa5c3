package middleware

// The cookie-pair session, from the sealed cookies to a cached Auth: open
// it (session, openSession), admit it (admitSession: tenant, sign-out,
// refresh due), and cache it (sessionCache, on the expiring map every
// cache of the middleware is built on, with the sizes their byte budgets
// count). Renewing a session (refresh,
// issue) is in renew.go; the cookie format in cookieformat.go; the
// session id that binds the pair's two cookies in sessionid.go.

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// session authenticates r by the app's cookie pair, whose sealed values
// admit found: from the cache when its sealed access cookie was opened
// before (the warm path), else by opening the pair and refreshing it when
// it is due. ok is false when r carries neither cookie; a nil Auth with ok
// is a rejected (now cleared) session. Handler and Proxy both come here,
// with the request's time.
func (m *Middleware) session(w http.ResponseWriter, r *http.Request, access, refreshCookie string, now time.Time) (a *Auth, ok bool) {
	var key sessionKey
	tag := pairTag(refreshCookie)
	if access != "" {
		key = sessionKeyOf(access)
		// A cached Auth serves the pair it was opened from, and no other:
		// the same access cookie beside another refresh cookie is opened
		// again, and refused if the halves belong to different sessions.
		if a, ok := m.cache.getKey(key, now); ok && a.pairTag == tag {
			if m.refresher.RevokedKey(r.Context(), a.session, false) {
				m.cache.removeKey(key)
				m.reject(w, r, errSignedOut)
				return nil, true
			}
			return m.resolveWorkspace(r, a), true
		}
	}
	if access == "" && refreshCookie == "" {
		return nil, false
	}
	return m.openSession(w, r, access, key, refreshCookie, tag, now), true
}

// openSession opens the cookie pair, refreshing it when the access token is
// missing or expiring. The usual pair, sealed by this version, is opened by
// its access cookie alone: it carries the session read and checked when it
// was sealed, and the digest of the refresh cookie sealed beside it, which
// the request's refresh cookie must match (see cookieformat.go). Any other
// pair is opened whole: both halves must carry the same session id; a pair
// sealed by an earlier version (no id) is renewed at once, its access
// cookie not trusted on its own.
func (m *Middleware) openSession(w http.ResponseWriter, r *http.Request, access string, key sessionKey, refreshCookie, tag string, now time.Time) *Auth {
	var as sealed
	var c compactSession
	if access != "" {
		var err error
		if as, c, err = m.jar.openAccess(access, refreshCookie, tag); err != nil {
			m.reject(w, r, err)
			return nil
		}
		if c.paired {
			t := accessToken{user: c.auth.User, expires: c.expires, issued: c.issued} // as readAccess would have read it
			return m.admitSession(w, r, key, refreshCookie, as.Session, t, c.auth, nil, now)
		}
	}
	var rs sealed
	if refreshCookie != "" {
		var err error
		if rs, err = m.jar.open(m.jar.refresh, refreshCookie); err != nil {
			m.reject(w, r, err)
			return nil
		}
	}
	switch {
	case access == "":
		return m.refreshSession(w, r, rs, nil, "", now)
	case refreshCookie == "" && as.Session == "":
		m.reject(w, r, errLegacyAccessOnly)
		return nil
	case refreshCookie == "":
		m.reject(w, r, errNoRefreshCookie)
		return nil
	case as.Session != rs.Session:
		m.reject(w, r, errMixedPair)
		return nil
	case as.Session == "":
		// Sealed by an earlier version: the access cookie carries no id,
		// so nothing ties it to the refresh cookie beside it. Only the
		// refresh cookie is used: exchanged now, the new pair gets an id.
		return m.refreshSession(w, r, rs, nil, as.Token, now)
	}
	// A pair of today's JSON format (renewed at its refresh, in the compact
	// one), or a compact access cookie beside another refresh cookie of
	// its session: read as it always was.
	t, err := m.tokens.readAccess(as.Token)
	if err != nil {
		m.reject(w, r, err)
		return nil
	}
	a := m.newAuth(t, as.Token, rs)
	a.session, a.pairTag = sessionRevocation(as.Session), strings.Clone(tag) // not the request's header
	return m.admitSession(w, r, key, refreshCookie, as.Session, t, a, &rs, now)
}

// admitSession checks that the opened session sid (its access token read
// as t, its Auth a, its revocation key and pair tag set) was not signed
// out, and caches it by key (its access cookie's) and returns it, or
// refreshes it when it is due. rs is its refresh cookie, opened (nil: not
// yet, for the compact format, whose access cookie vouches for it).
func (m *Middleware) admitSession(w http.ResponseWriter, r *http.Request, key sessionKey, refreshCookie, sid string, t accessToken, a *Auth, rs *sealed, now time.Time) *Auth {
	if a.User.Tenant != m.cfg.Tenant {
		m.reject(w, r, errTokenTenant)
		return nil
	}
	// A session signed out on another replica is known here through the
	// shared store: in memory at once when this replica was running (the
	// store tells it), else by asking, once per pair, before it is cached.
	if m.refresher.RevokedKey(r.Context(), a.session, true) {
		m.reject(w, r, errSignedOut)
		return nil
	}
	a.mw, a.Privileged, a.sid = m, m.privileged(a.User), sid
	if refreshAt := m.refreshAt(t); now.Before(refreshAt) {
		if rs != nil && !m.cfg.Cookie.WriteLegacyFormat {
			// Opened whole: the access cookie is of today's JSON format (or
			// of another pair of its session). Re-sealed in the compact
			// format beside this refresh cookie, so the session's next
			// first sight on any replica is the fast one (unless
			// Cookie.WriteLegacyFormat keeps earlier replicas reading it).
			if sa, ok := m.resealAccess(w, r, sid, a, t, *rs, refreshCookie, now); ok {
				key = sessionKeyOf(sa)
			}
		}
		if a.accessToken != "" {
			// Cached without its token (see bind): this request's
			// access cookie, and every later one's, holds it.
			a.accessToken, a.tokenInCookie = "", true
		}
		m.cache.putKey(key, a, refreshAt)
		return m.resolveWorkspace(r, a)
	}
	if rs == nil {
		s, err := m.jar.open(m.jar.refresh, refreshCookie)
		if err != nil {
			m.reject(w, r, err)
			return nil
		}
		rs = &s
	}
	return m.refreshSession(w, r, *rs, a, "", now)
}

// resealAccess writes the access cookie of session sid (its Auth a, its
// token read as t) again, in the compact format beside the refresh cookie
// rs (sealed as refreshCookie), which is left as it is. ok is false when
// it was not written (the pair would not fit maxSessionBytes, or sealing
// failed): the session goes on with the cookie it has.
func (m *Middleware) resealAccess(w http.ResponseWriter, r *http.Request, sid string, a *Auth, t accessToken, rs sealed, refreshCookie string, now time.Time) (string, bool) {
	sa, err := m.jar.sealBytes(m.jar.access, encodeCompact(nil, sid, a.accessToken, t, a.User, pairDigest(refreshCookie)))
	if err != nil || m.jar.pairSize(sa, refreshCookie) > maxSessionBytes {
		return "", false
	}
	expires, _ := m.tokens.readExpiry(rs.Token)
	if expires.IsZero() {
		expires = now.Add(sessionLife)
	}
	maxAge := int(expires.Sub(now).Seconds())
	if maxAge <= 0 {
		return "", false
	}
	noStoreCookies(w)
	m.jar.set(w, r, m.jar.access, sa, maxAge)
	return sa, true
}

// refreshAt is when a session needs a refresh: Refresh.Margin before the
// access token expires, but never sooner than halfway through its life, so
// a short-lived token is not refreshed on every request.
func (m *Middleware) refreshAt(t accessToken) time.Time {
	margin := m.cfg.Refresh.Margin
	if !t.issued.IsZero() {
		if half := t.expires.Sub(t.issued) / 2; half < margin {
			margin = half
		}
	}
	return t.expires.Add(-margin)
}

// The caches: the session cache, and the expiring map every cache of
// the middleware is built on.

// expiring is a map whose entries expire, bounded both in entries and in
// bytes. It backs each of the middleware's caches: opened cookies (the warm
// path: a hit on the sealed cookie value means the cookie already opened
// with the app's keys), verified bearer tokens, identities Qelos vouched
// for, workspace lists and workspace re-checks, each with its own bounds
// (see Config.Limits.CacheSize and Limits.CacheBytes). An entry's expiry and size
// are computed when it is put (on a miss); a hit compares one integer.
// Expired entries are swept every sweepInterval by whichever get or put
// comes due first, not only when the cache is full, so memory an attacker
// filled it with is given back once the entries expire. A nil *expiring is
// a disabled cache: every get misses and put does nothing.
//
// The session cache is keyed by a fixed-size key of the sealed access
// cookie (see sessionKey: its length and the tail of its MAC, not a hash
// of the whole value, which would cost several times the rest of the warm
// path). The other caches' keys are the
// credentials as sent: every such credential is bounded
// before it gets here (Limits.MaxCredentialBytes, Limits.MaxCookieBytes),
// its bytes count in the cache's byte budget (with the header it is cut
// from, when it is kept uncopied: see cacheKey), and an entry larger than
// an eighth of that budget is not kept at all.
type expiring[K comparable, V any] struct {
	mu       sync.RWMutex
	m        map[K]expiringEntry[V]
	max      int   // entries
	maxBytes int64 // the sum of the entries' sizes
	bytes    int64 // the sum now
	size     func(K, V) int64
	now      func() time.Time // the injected clock (Config.Now), for eviction
	// deletes counts the entries deleted since the map was last rebuilt:
	// a Go map never shrinks, and one whose entries keep being replaced
	// grows several times larger than its live entries need (tombstones).
	deletes int
	// nextSweep is when the next full sweep of expired entries is due,
	// in unix nanoseconds.
	nextSweep atomic.Int64
	// hits and misses count the lookups of request credentials (lookup),
	// for CacheStats.
	hits, misses atomic.Uint64
	// recent holds, when slot is set, entries as they were put, read
	// without the lock: a slot keeps the first entry put into it until
	// that entry is deleted (every delete clears its slot, under the lock)
	// or expires, so a hit there is an entry the map holds. The warm path
	// of a returning credential is then one atomic load and one comparison
	// of keys instead of the read lock, a hash and the map.
	recent [recentSlots]atomic.Pointer[recentEntry[K, V]]
	slot   func(K) uint // which slot of recent a key may take; nil: recent is unused
}

// recentEntry is a copy of an entry of the map, with its key as the map
// holds it (never a longer string it was cut from).
type recentEntry[K comparable, V any] struct {
	key   K
	v     V
	until int64 // unix nanoseconds
}

// recentSlots is how many entries expiring.recent holds: a few hundred
// bytes of pointers a cache.
const recentSlots = 64

// withRecent turns on c's lock-free front (see expiring.recent), slot
// choosing a key's place in it. It returns c.
func (c *expiring[K, V]) withRecent(slot func(K) uint) *expiring[K, V] {
	if c != nil {
		c.slot = slot
	}
	return c
}

// recentSlot returns the slot of recent key may take, or nil when c has
// no front.
func (c *expiring[K, V]) recentSlot(key K) *atomic.Pointer[recentEntry[K, V]] {
	if c.slot == nil {
		return nil
	}
	return &c.recent[c.slot(key)%recentSlots]
}

// stringSlot places a string key in expiring.recent by its length and
// last bytes (the signature's end, for a token).
func stringSlot(k string) uint {
	if k == "" {
		return 0
	}
	return uint(len(k)) ^ uint(k[len(k)-1])<<2 ^ uint(k[len(k)/2])<<4
}

// sessionSlot places a session key in expiring.recent by the last bytes
// of its cookie (a MAC's end).
func sessionSlot(k sessionKey) uint {
	return uint(k.tail[pairTagLen-1]) ^ uint(k.tail[pairTagLen-2])<<3
}

type expiringEntry[V any] struct {
	v     V
	until int64 // unix nanoseconds
	size  int64
}

// sweepInterval is how often a cache drops its expired entries. A sweep
// holds the cache's lock for one pass over it (about a millisecond for
// 10,000 entries): every 10 s, that is a ten-thousandth of one core.
const sweepInterval = 10 * time.Second

// entryOverhead is what an entry costs beyond its key and value: its slot
// in the map (key header, value, expiry, size, control byte), three times
// over for a map that grows by doubling and keeps up to twice its live
// entries in deleted slots before it is rebuilt (see compact).
const entryOverhead = 256

// newExpiring returns a cache of at most max entries and maxBytes bytes as
// size counts them, or nil (disabled) when either is not positive.
func newExpiring[K comparable, V any](max int, maxBytes int64, size func(K, V) int64, now func() time.Time) *expiring[K, V] {
	if max <= 0 || maxBytes <= 0 {
		return nil
	}
	return &expiring[K, V]{m: make(map[K]expiringEntry[V]), max: max, maxBytes: maxBytes, size: size, now: now}
}

// get returns the value kept for key, if it has not expired at now.
func (c *expiring[K, V]) get(key K, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	t := now.UnixNano()
	if next := c.nextSweep.Load(); t >= next && c.nextSweep.CompareAndSwap(next, t+int64(sweepInterval)) {
		c.mu.Lock()
		c.sweep(t)
		c.mu.Unlock()
	}
	if s := c.recentSlot(key); s != nil {
		if r := s.Load(); r != nil && t < r.until && r.key == key {
			return r.v, true
		}
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || t >= e.until {
		return zero, false
	}
	return e.v, true
}

// lookup is get for a request's credential, counted in CacheStats.
func (c *expiring[K, V]) lookup(key K, now time.Time) (V, bool) {
	v, ok := c.get(key, now)
	if c != nil {
		if ok {
			c.hits.Add(1)
		} else {
			c.misses.Add(1)
		}
	}
	return v, ok
}

// counts returns the hits and misses of lookup.
func (c *expiring[K, V]) counts() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// put keeps v for key until the given time, evicting expired entries
// first, else arbitrary ones, to stay within the cache's bounds. A value
// too large for the cache (over an eighth of its byte budget) is not kept.
// A string key must not be cut from a larger string (it would keep all of
// it): see putPinned.
func (c *expiring[K, V]) put(key K, v V, until time.Time) { c.putPinned(key, v, until, 0) }

// putPinned is put for a key that keeps pinned bytes alive beyond its own
// (a substring of a request header keeps the whole header), counted in the
// cache's byte budget.
func (c *expiring[K, V]) putPinned(key K, v V, until time.Time, pinned int64) {
	if c == nil {
		return
	}
	size := entryOverhead + c.size(key, v) + pinned
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delete(key)
	if size > c.maxBytes/8 {
		return
	}
	now := c.now().UnixNano()
	if next := c.nextSweep.Load(); now >= next && c.nextSweep.CompareAndSwap(next, now+int64(sweepInterval)) {
		c.sweep(now)
	}
	if len(c.m) >= c.max || c.bytes+size > c.maxBytes {
		c.evict(now, size)
	}
	c.compact()
	c.m[key] = expiringEntry[V]{v: v, until: until.UnixNano(), size: size}
	c.bytes += size
	if s := c.recentSlot(key); s != nil {
		if r := s.Load(); r == nil || now >= r.until {
			s.Store(&recentEntry[K, V]{key: key, v: v, until: until.UnixNano()})
		}
	}
}

// delete drops key, if present. The caller holds the lock.
func (c *expiring[K, V]) delete(key K) {
	if e, ok := c.m[key]; ok {
		delete(c.m, key)
		c.bytes -= e.size
		c.deletes++
		if s := c.recentSlot(key); s != nil {
			if r := s.Load(); r != nil && r.key == key {
				s.Store(nil)
			}
		}
	}
}

// compact rebuilds the map once more entries were deleted from it than
// twice what it holds, so its memory follows its live entries: amortised
// O(1) per delete. The caller holds the lock, and is not ranging over the
// map.
func (c *expiring[K, V]) compact() {
	if c.deletes <= 2*len(c.m)+64 {
		return
	}
	m := make(map[K]expiringEntry[V], len(c.m))
	for k, e := range c.m {
		m[k] = e
	}
	c.m, c.deletes = m, 0
}

func (c *expiring[K, V]) remove(key K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.delete(key)
	c.compact()
	c.mu.Unlock()
}

// removeIf drops every entry whose value matches.
func (c *expiring[K, V]) removeIf(match func(V) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if match(e.v) {
			c.delete(k)
		}
	}
	c.compact()
}

// sweep drops every entry expired at now. The caller holds the lock.
func (c *expiring[K, V]) sweep(now int64) {
	for k, e := range c.m {
		if now >= e.until {
			c.delete(k)
		}
	}
	c.compact()
}

// evict makes room for an entry of size bytes: it drops expired entries
// first, else arbitrary ones (map order is random), until an eighth of
// both bounds is free, so eviction is amortised O(1). The caller holds the
// lock.
func (c *expiring[K, V]) evict(now, size int64) {
	entries := len(c.m) - c.max + c.max/8 + 1
	bytes := c.bytes + size - c.maxBytes + c.maxBytes/8
	done := func() bool { return entries <= 0 && bytes <= 0 }
	for k, e := range c.m {
		if done() {
			return
		}
		if now >= e.until {
			c.delete(k)
			entries, bytes = entries-1, bytes-e.size
		}
	}
	for k, e := range c.m {
		if done() {
			return
		}
		c.delete(k)
		entries, bytes = entries-1, bytes-e.size
	}
}

func (c *expiring[K, V]) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// memory is the sum of the entries' sizes, as the byte budget counts them.
func (c *expiring[K, V]) memory() int64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}

// cacheKey is how a credential cut out of a request's Cookie header (lines)
// is kept as a cache key: as it is, pinning the whole header, when the
// header is little more than the credential (the usual request: the pair,
// or Qelos's cookie, and a few small cookies), else as a copy, so that a
// small credential among large cookies does not keep them all. pinned is
// what the key keeps alive beyond itself, for putPinned.
func cacheKey(key string, lines []string) (k string, pinned int64) {
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	if total <= 2*len(key)+1<<10 {
		return key, int64(total)
	}
	return strings.Clone(key), 0
}

// sessionCache keeps the sessions opened from the app's cookie pair, by a
// fixed-size key of their sealed access cookie (see sessionKeyOf), so an
// entry costs the same whatever the cookie's length and keeps nothing of
// the request alive.
type sessionCache struct {
	*expiring[sessionKey, *Auth]
}

// sessionKey names a sealed access cookie by the digest of it the cookie
// itself carries: its HMAC-SHA256, encoded in its last characters (the
// last 24 hold at least 128 bits of it). Nobody can produce
// that MAC without the app's key, nor present it without having seen the
// very cookie, and an entry only ever serves the pair its cookie came with
// (the refresh cookie's pairTag is checked on every hit too). A warm
// request then reads 24 bytes of its cookie, not all of it: hashing the
// whole 1.3 KB value cost more than the rest of the warm path.
type sessionKey struct {
	n    uint16 // the cookie's length (at most maxCookieSize), so a value shorter than the tail is its own key
	tail [pairTagLen]byte
}

func sessionKeyOf(cookie string) sessionKey {
	k := sessionKey{n: uint16(min(len(cookie), 1<<16-1))}
	if len(cookie) > pairTagLen {
		cookie = cookie[len(cookie)-pairTagLen:]
	}
	copy(k.tail[:], cookie)
	return k
}

func newSessionCache(max int, maxBytes int64, now func() time.Time) *sessionCache {
	c := newExpiring(max, maxBytes, func(_ sessionKey, a *Auth) int64 { return slack(int64(unsafe.Sizeof(sessionKey{})) + authSize(a)) }, now).withRecent(sessionSlot)
	if c == nil {
		return &sessionCache{}
	}
	return &sessionCache{c}
}

func (c *sessionCache) getKey(k sessionKey, now time.Time) (*Auth, bool) {
	if c.expiring == nil {
		return nil, false
	}
	return c.expiring.lookup(k, now)
}

func (c *sessionCache) put(cookie string, a *Auth, until time.Time) {
	c.putKey(sessionKeyOf(cookie), a, until)
}

func (c *sessionCache) putKey(k sessionKey, a *Auth, until time.Time) {
	if c.expiring == nil {
		return
	}
	c.expiring.put(k, a, until)
}

func (c *sessionCache) remove(cookie string) {
	c.removeKey(sessionKeyOf(cookie))
}

func (c *sessionCache) removeKey(k sessionKey) {
	if c.expiring == nil {
		return
	}
	c.expiring.remove(k)
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

// pairTag fingerprints the refresh cookie a cached session was opened
// with: the last 24 characters of the sealed value, which encode (at least
// 132 bits of) its MAC. Nobody can produce them without holding that very
// cookie, so a cached session serves only the pair it came from; the
// comparison costs nothing on the warm path and the tag 24 bytes of cache.
func pairTag(refreshCookie string) string {
	if len(refreshCookie) < pairTagLen {
		return refreshCookie
	}
	return refreshCookie[len(refreshCookie)-pairTagLen:]
}

const pairTagLen = 24

// The sizes the caches' byte budgets count (Limits.CacheBytes): what an
// entry's key and value hold on the heap, estimated from above. Strings
// count their bytes plus their header; slices and maps their backing
// arrays; an allocation is rounded up to its size class (at most an eighth
// more, hence the final slack).

func stringKeySize[V any](size func(V) int64) func(string, V) int64 {
	return func(k string, v V) int64 { return slack(16 + int64(len(k)) + size(v)) }
}

func credKeySize[V any](size func(V) int64) func(credKey, V) int64 {
	return func(_ credKey, v V) int64 { return slack(int64(unsafe.Sizeof(credKey{})) + size(v)) }
}

// slack rounds an estimate up for allocator size classes and the
// pointers between the allocations.
func slack(n int64) int64 { return n + n/4 + 64 }

func authSize(a *Auth) int64 {
	if a == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*a)) + int64(len(a.accessToken)+len(a.refreshToken)+len(a.session)) + headerSize(a.cred) + userSize(a.User)
	if a.Workspace != nil && (a.User == nil || a.Workspace != a.User.Workspace) {
		n += workspaceSize(a.Workspace)
	}
	return n
}

func identitySize(e identityEntry) int64 { return authSize(e.auth) + stringsSize(e.cookies) }

func recheckSize(r recheck) int64 { return workspaceSize(r.ws) }

func workspacesSize(list []Workspace) int64 {
	n := int64(cap(list)) * int64(unsafe.Sizeof(Workspace{}))
	for i := range list {
		n += workspaceSize(&list[i]) - int64(unsafe.Sizeof(Workspace{}))
	}
	return n
}

func userSize(u *User) int64 {
	if u == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*u))
	for _, s := range []string{u.ID, u.Tenant, u.Username, u.Email, u.Phone, u.Name, u.FirstName, u.LastName, u.FullName, u.ProfileImage, u.BirthDate} {
		n += int64(len(s))
	}
	return n + stringsSize(u.Roles) + anySize(u.Metadata) + workspaceSize(u.Workspace)
}

func workspaceSize(w *Workspace) int64 {
	if w == nil {
		return 0
	}
	return int64(unsafe.Sizeof(*w)) + int64(len(w.ID)+len(w.Name)) + stringsSize(w.Roles) + stringsSize(w.Labels)
}

func stringsSize(s []string) int64 {
	n := int64(cap(s)) * 16
	for _, v := range s {
		n += int64(len(v))
	}
	return n
}

func headerSize(h http.Header) int64 {
	if h == nil {
		return 0
	}
	n := int64(64)
	for k, v := range h {
		n += 64 + int64(len(k)) + stringsSize(v)
	}
	return n
}

// anySize estimates a value decoded from JSON into an any: maps, slices,
// strings, numbers and booleans.
func anySize(v any) int64 {
	switch t := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + int64(len(t))
	case map[string]any:
		n := int64(64)
		for k, e := range t {
			n += 64 + int64(len(k)) + anySize(e)
		}
		return n
	case []any:
		n := int64(24 + 16*cap(t))
		for _, e := range t {
			n += anySize(e)
		}
		return n
	}
	return 16
}

// resolveWorkspace applies Config.ResolveWorkspace.
func (m *Middleware) resolveWorkspace(r *http.Request, a *Auth) *Auth {
	if m.cfg.ResolveWorkspace == nil || a.User == nil {
		return a
	}
	// The resolver gets a Client: a cached session's token is in r's
	// access cookie.
	return bind(a, m.jar.value(r, m.jar.access)).withResolvedWorkspace(r, m.cfg.ResolveWorkspace)
}
