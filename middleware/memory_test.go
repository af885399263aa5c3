package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The caches are bounded by Config.Limits.CacheSize entries, documented at about
// 4 KiB each (10,000 entries, about 40 MiB), and by their shares of
// Limits.CacheBytes. These tests push far more sessions than that through
// them and weigh the live heap after a GC.

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// documentedCap is what Config.Limits.CacheSize's documentation promises a cache
// of size entries costs at most.
func documentedCap(size int) int64 { return int64(size) * 4 << 10 }

// realisticSession returns what one real session puts in the caches: the
// sealed access cookie, its access token, and the user the middleware reads
// from it.
func realisticSession(t *testing.T, mw *middleware.Middleware, q *qelostest.Server) (sealedAccess, access string, u *middleware.User) {
	t.Helper()
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	ws := &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}, Labels: []string{}}
	sa, sr := middleware.SealPair(mw, access, refreshTok, ws)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { u, _ = middleware.UserFrom(r.Context()) }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Cookie", accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if u == nil {
		t.Fatal("the session did not open")
	}
	return sa, access, u
}

func quietConfig(q string) middleware.Config {
	return middleware.Config{
		AppURL:     q,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestCachesStayBoundedForAMillionSessions inserts 1,000,000 distinct
// sessions into each cache through the test seams (sealing and opening a
// million real cookies would take minutes): every entry has the size of a
// real one (a real sealed cookie's length as key, a copy of a real access
// token and user as value), and each key and value is a fresh allocation.
func TestCachesStayBoundedForAMillionSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts two million cache entries")
	}
	const sessions = 1_000_000
	q := qelostest.NewHandler(qelostest.Options{})
	mw, err := middleware.New(quietConfig("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	sa, access, user := realisticSession(t, mw, q)
	capBytes := documentedCap(middleware.DefaultCacheSize)
	refreshAt := time.Now().Add(time.Hour)

	base := liveHeap()
	start := time.Now()
	key := []byte(sa)
	for i := range sessions {
		distinct(key, i)
		middleware.PutOpened(mw, string(key), strings.Clone(access), cloneUser(user), refreshAt)
	}
	opened := liveHeap() - base
	t.Logf("opened-cookie cache: %d sessions in %v; %d entries (CacheSize %d) hold %.1f MiB, %.0f B/entry (sealed cookie %d B, token %d B); documented cap %.0f MiB",
		sessions, time.Since(start).Round(time.Millisecond), middleware.CacheLen(mw), middleware.DefaultCacheSize,
		mib(opened), float64(opened)/float64(middleware.CacheLen(mw)), len(sa), len(access), mib(capBytes))
	if n := middleware.CacheLen(mw); n > middleware.DefaultCacheSize {
		t.Errorf("the opened-cookie cache holds %d entries, more than CacheSize %d", n, middleware.DefaultCacheSize)
	}
	if opened > capBytes || opened > middleware.DefaultCacheBytes/2 {
		t.Errorf("the opened-cookie cache holds %.1f MiB, over the documented %.0f MiB or half of Limits.CacheBytes", mib(opened), mib(capBytes))
	}

	base = liveHeap()
	start = time.Now()
	credential := []byte("b\x00Bearer " + access) // how identify keys a bearer token
	for i := range sessions {
		copy(credential[9:], strconv.Itoa(i))
		middleware.PutIdentity(mw, string(credential), cloneUser(user), refreshAt)
	}
	identities := liveHeap() - base
	t.Logf("identity cache: %d credentials in %v; %d entries hold %.1f MiB, %.0f B/entry",
		sessions, time.Since(start).Round(time.Millisecond), middleware.IdentityCacheLen(mw), mib(identities), float64(identities)/float64(middleware.IdentityCacheLen(mw)))
	if n := middleware.IdentityCacheLen(mw); n > middleware.DefaultCacheSize {
		t.Errorf("the identity cache holds %d entries, more than CacheSize %d", n, middleware.DefaultCacheSize)
	}
	if identities > capBytes {
		t.Errorf("the identity cache holds %.1f MiB, over the documented %.0f MiB", mib(identities), mib(capBytes))
	}
	if share := int64(middleware.DefaultCacheBytes / 12); identities > share {
		t.Errorf("the identity cache holds %.1f MiB after a million credentials, over its share of Limits.CacheBytes (%.1f MiB)", mib(identities), mib(share))
	}
	runtime.KeepAlive(mw)
}

// TestSessionCacheBytesBoundAMillionSessions: with the entry bound out of
// the way (CacheSize far above what fits), 1,000,000 distinct sessions of
// a real session's size go through the session cache, whose share of
// Limits.CacheBytes (half) is then all that bounds it: both the bytes it
// counts and the live heap it holds stay within that share. A small
// CacheBytes keeps the test fast; every one of the million keys is
// distinct, so each put is a new entry that the byte bound must make room
// for.
func TestSessionCacheBytesBoundAMillionSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts a million cache entries")
	}
	const sessions, cacheBytes = 1_000_000, 16 << 20
	q := qelostest.NewHandler(qelostest.Options{})
	cfg := quietConfig("http://127.0.0.1:1")
	cfg.Limits.CacheSize = 10 * sessions
	cfg.Limits.CacheBytes = cacheBytes
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sa, access, user := realisticSession(t, mw, q)
	refreshAt := time.Now().Add(time.Hour)
	base := liveHeap()
	key := []byte(sa)
	for i := range sessions {
		distinct(key, i)
		middleware.PutOpened(mw, string(key), strings.Clone(access), cloneUser(user), refreshAt)
	}
	held := liveHeap() - base
	s := mw.CacheStats()
	t.Logf("%d distinct sessions: %d kept, %.1f MiB counted, %.1f MiB live heap (%.0f B/session), bound %.1f MiB",
		sessions, s.Sessions, mib(s.Bytes), mib(held), float64(held)/float64(s.Sessions), mib(cacheBytes/2))
	if s.Bytes > cacheBytes/2 {
		t.Errorf("the session cache counts %.1f MiB, over its share of Limits.CacheBytes (%.1f MiB)", mib(s.Bytes), mib(cacheBytes/2))
	}
	if held > cacheBytes/2 {
		t.Errorf("the session cache holds %.1f MiB of live heap, over its share of Limits.CacheBytes (%.1f MiB)", mib(held), mib(cacheBytes/2))
	}
	if s.Sessions < sessions/1000 {
		t.Errorf("only %d sessions kept: the bound is far tighter than it need be", s.Sessions)
	}
	runtime.KeepAlive(mw)
}

// maxSessionHeap is what one cached session, opened from a real sealed
// pair, may hold of live heap: its user and workspace read from the
// compact cookie, its keys and its cache slot. Not its access token (about
// 480 bytes): each request's own cookie holds it (see
// TestCachedSessionOpensItsTokenFromTheRequest).
const maxSessionHeap = 1024

// TestRealSessionsThroughTheHandler pushes twice CacheSize real
// sessions (each a freshly sealed cookie, opened and parsed by the real
// warm path) through Handler, and weighs what stays.
func TestRealSessionsThroughTheHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("seals and opens 20,000 cookies")
	}
	q := qelostest.NewHandler(qelostest.Options{})
	access, refreshTok, err := q.IssuePair(qelostest.AdminEmail, acmeID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig("http://127.0.0.1:1")
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signedIn := 0
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.UserFrom(r.Context()); ok {
			signedIn++
		}
	}))
	ws := &middleware.Workspace{ID: acmeID, Name: acmeName, Roles: []string{"admin", "user"}}
	const sessions = 2 * middleware.DefaultCacheSize
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discard{h: http.Header{}}
	base := liveHeap()
	start := time.Now()
	for range sessions {
		sa, sr := middleware.SealPair(mw, access, refreshTok, ws) // AES: a distinct cookie every time
		req.Header.Set("Cookie", accessCookie+"="+sa+"; "+refreshCookie+"="+sr)
		h.ServeHTTP(w, req)
	}
	held := liveHeap() - base
	n := middleware.CacheLen(mw)
	t.Logf("%d real sessions in %v: %d cached, %.1f MiB, %.0f B/entry", sessions, time.Since(start).Round(time.Millisecond), n, mib(held), float64(held)/float64(n))
	if per := held / int64(n); per > maxSessionHeap {
		t.Errorf("%d B of live heap per cached session, over %d", per, maxSessionHeap)
	}
	if signedIn != sessions {
		t.Fatalf("%d of %d sessions signed in", signedIn, sessions)
	}
	if n > middleware.DefaultCacheSize {
		t.Errorf("%d cached sessions, more than CacheSize %d", n, middleware.DefaultCacheSize)
	}
	if held > documentedCap(middleware.DefaultCacheSize) {
		t.Errorf("%.1f MiB held, over the documented %.0f MiB", mib(held), mib(documentedCap(middleware.DefaultCacheSize)))
	}
	runtime.KeepAlive(mw)
}

// TestOversizedCredentialsAreNotCachedWhole: the identity cache and the
// verified-bearer cache are keyed by the whole credential header, so each
// entry costs what the client chose to send (up to Go's 1 MiB
// MaxHeaderBytes), not ~4 KiB: 10,000 distinct 1 MiB bearer headers would
// pin 10 GiB.
func TestOversizedCredentialsAreNotCachedWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 50 MiB of headers")
	}
	const requests, size = 100, 256 << 10
	for _, mode := range []string{"bearer, Qelos decides", "bearer with JWTSecret, padded", "API key"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, func(c *middleware.Config) {
				c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
				if strings.Contains(mode, "JWTSecret") {
					c.JWTSecret = qelostest.DefaultJWTSecret
				}
			})
			tok, err := h.qelos.IssueAccessToken(qelostest.AdminEmail, acmeID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{}
			base := liveHeap()
			for i := range requests {
				req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/whoami", nil)
				junk := fmt.Sprintf("%06d", i) + strings.Repeat("x", size)
				switch mode {
				case "bearer, Qelos decides":
					req.Header.Set("Authorization", "Bearer "+junk)
				case "API key":
					req.Header.Set("X-Api-Key", "ql_"+junk)
				default: // a valid token, padded differently each time
					req.Header.Set("Authorization", "Bearer"+strings.Repeat(" ", size+i)+tok)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var w whoami
				json.NewDecoder(resp.Body).Decode(&w)
				resp.Body.Close()
			}
			client.CloseIdleConnections()
			held := liveHeap() - base
			t.Logf("%d distinct %d KiB credentials: %.1f MiB held, %.0f KiB per request", requests, size>>10, mib(held), float64(held)/requests/1024)
			if perEntry := held / requests; perEntry > 8<<10 {
				t.Errorf("each credential costs %d KiB of cache, not ~4 KiB: CacheSize entries of 1 MiB headers would pin %.1f GiB",
					perEntry>>10, float64(middleware.DefaultCacheSize)/1024)
			}
			runtime.KeepAlive(h.mw)
		})
	}
}

// distinct makes key, a sealed cookie's value, the i-th of as many
// distinct values of its length: its last characters (where its MAC, by
// which the session cache keys it, is) are i's digits.
func distinct(key []byte, i int) {
	d := strconv.Itoa(i)
	copy(key[len(key)-len(d):], d)
}

// cloneUser is a deep copy: every session's user is its own allocation,
// as when each is parsed from its own token.
func cloneUser(u *middleware.User) *middleware.User {
	c := *u
	for _, s := range []*string{&c.ID, &c.Tenant, &c.Username, &c.Email, &c.Phone, &c.Name, &c.FirstName, &c.LastName, &c.FullName, &c.ProfileImage} {
		*s = strings.Clone(*s)
	}
	c.Roles = cloneStrings(u.Roles)
	if u.Workspace != nil {
		ws := *u.Workspace
		ws.ID, ws.Name = strings.Clone(ws.ID), strings.Clone(ws.Name)
		ws.Roles, ws.Labels = cloneStrings(ws.Roles), cloneStrings(ws.Labels)
		c.Workspace = &ws
	}
	return &c
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	c := make([]string, len(s))
	for i, v := range s {
		c[i] = strings.Clone(v)
	}
	return c
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
