package qelostest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	qrefresh "github.com/qelos-io/integrator-go/refresh"
)

// Clock is a clock a test moves by hand. A [Kit] gives the same Clock to
// its Server and to the middleware it configures, so advancing it expires
// tokens on both sides at once, without sleeping. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. Use the method value (clock.Now) as
// Options.Now and middleware.Config.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Kit is a testing kit for an app that uses the middleware: a Server
// started for one test and closed when it ends, a Clock shared with the
// middleware under test, and signed-in sessions for any seeded user
// without going through a sign-in form.
//
//	k := qelostest.Start(t)
//	mw := k.Middleware(middleware.Config{})       // AppURL, CookieKeys and Now from the kit
//	app := mw.Handler(routes(mw))
//	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
//	rec := httptest.NewRecorder()
//	app.ServeHTTP(rec, s.Request("GET", "/private", nil))
//	k.Expire()                                    // the next request refreshes the pair
type Kit struct {
	*Server
	// Clock is the server's clock, starting at the real time; Middleware
	// and Config give it to the middleware too.
	Clock *Clock

	t TB
}

// TB is the part of testing.TB a Kit uses: *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Start starts a Server with the default users and workspaces on a
// loopback port for the test t, closes it when t ends, and returns its Kit.
func Start(t TB) *Kit { return StartWith(t, Options{}) }

// StartWith is Start with options. Options.Now is replaced by the kit's
// Clock.
func StartWith(t TB, opts Options) *Kit {
	t.Helper()
	clock := NewClock(time.Now())
	opts.Now = clock.Now
	k := &Kit{Server: New(opts), Clock: clock, t: t}
	t.Cleanup(k.Close)
	return k
}

// Config returns cfg with what the kit knows filled in where cfg leaves it
// zero: AppURL (the server), CookieKeys (a fresh key set), Now (the kit's
// Clock, which then drives every window the middleware measures: token
// expiry and leeway, the refresh margin, its caches and IdentityTTL, the
// sign-in rate limit) and Logger (the test's own log, t.Logf, shown only
// for a failing test or with go test -v, so a passing suite prints
// nothing; a TB without Logf gets Warn records and above on stderr). Use it when the app builds its own Middleware from a Config.
func (k *Kit) Config(cfg middleware.Config) middleware.Config {
	if cfg.AppURL == "" {
		cfg.AppURL = k.URL
	}
	if len(cfg.CookieKeys) == 0 {
		cfg.CookieKeys = []middleware.CookieKey{middleware.GenerateCookieKey()}
	}
	if cfg.Now == nil {
		cfg.Now = k.Clock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = newTestLogger(k.t)
	}
	return cfg
}

// Middleware returns a Middleware for k.Config(cfg), failing the test if
// New refuses the Config.
func (k *Kit) Middleware(cfg middleware.Config) *middleware.Middleware {
	k.t.Helper()
	mw, err := middleware.New(k.Config(cfg))
	if err != nil {
		k.t.Fatalf("qelostest: middleware.New: %v", err)
	}
	return mw
}

// Expire moves the Clock past the lifetime of every access token issued so
// far (Options.AccessTTL), so the next request of every session refreshes
// its pair. Refresh tokens, which live longer, stay valid.
func (k *Kit) Expire() { k.Clock.Advance(k.opts.AccessTTL + time.Second) }

// Session is a signed-in session of one user, made by Kit.SignIn.
type Session struct {
	// Auth is what the middleware attaches to the session's requests. Its
	// Client calls the kit's server as the user, so a handler that calls
	// Qelos can be unit-tested without Handler: see Session.Context.
	Auth *middleware.Auth
	// Cookies are the sealed session cookies, as the browser holds them
	// after signing in.
	Cookies []*http.Cookie
}

// SignIn signs the user whose email or username is email into mw, as a
// sign-in would, with workspaceID (which the user must belong to; empty
// for none) as the active workspace. The pair is minted by the server
// (IssuePair) and sealed by mw (Middleware.StartSession), so refreshing
// and signing out work as for a real sign-in. mw must have been made for
// this kit (Kit.Middleware or Kit.Config), or with the same CookieKeys as
// the app under test. It fails the test on an unknown user or workspace.
func (k *Kit) SignIn(mw *middleware.Middleware, email, workspaceID string) *Session {
	k.t.Helper()
	access, refreshToken, err := k.IssuePair(email, workspaceID)
	if err != nil {
		k.t.Fatalf("qelostest: SignIn: %v", err)
	}
	rec := httptest.NewRecorder()
	a, err := mw.StartSession(rec, qrefresh.Pair{AccessToken: access, RefreshToken: refreshToken}, k.workspace(email, workspaceID))
	if err != nil {
		k.t.Fatalf("qelostest: SignIn: StartSession: %v (was mw made for this kit?)", err)
	}
	return &Session{Auth: a, Cookies: rec.Result().Cookies()}
}

// workspace describes workspaceID as the sign-in answer does, with the
// roles email holds in it; nil for none.
func (k *Kit) workspace(email, workspaceID string) *middleware.Workspace {
	if workspaceID == "" {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ws, u := k.workspaceByID(workspaceID), k.userByLogin(email)
	if ws == nil || u == nil || ws.member(u.ID) == nil {
		return nil // IssuePair has refused already
	}
	return &middleware.Workspace{ID: ws.id, Name: ws.name, Roles: slices.Clone(ws.member(u.ID).roles), Labels: slices.Clone(ws.labels)}
}

// Request returns a request for an app's handler (httptest.NewRequest:
// target is a path or a URL) carrying the session's cookies.
func (s *Session) Request(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	for _, c := range s.Cookies {
		r.AddCookie(c)
	}
	return r
}

// Context returns parent carrying the session's Auth, as Handler would
// attach it: middleware.UserFrom, WorkspaceFrom and ClientFrom find it,
// and the client calls the kit's server. Use it to unit-test one handler:
//
//	req := httptest.NewRequest("GET", "/orders", nil)
//	handler.ServeHTTP(rec, req.WithContext(s.Context(req.Context())))
func (s *Session) Context(parent context.Context) context.Context {
	return middleware.NewContext(parent, s.Auth)
}

// Client returns an HTTP client whose cookie jar holds the session's
// cookies for the app at appURL, as a signed-in browser's would. It follows
// no redirect, so a test sees each answer as it is.
func (s *Session) Client(appURL string) *http.Client {
	u, err := url.Parse(appURL)
	if err != nil {
		panic(fmt.Sprintf("qelostest: Session.Client: %v", err))
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, s.Cookies)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
