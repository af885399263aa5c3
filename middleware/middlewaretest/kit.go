package middlewaretest

import (
	"net/http/httptest"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
	qrefresh "github.com/qelos-io/integrator-go/refresh"
)

// Kit is a testing kit for an app that uses the middleware: a Server
// started for one test and closed when it ends, a Clock shared with the
// middleware under test, and signed-in sessions for any seeded user
// without going through a sign-in form.
//
//	k := middlewaretest.Start(t)
//	mw := k.Middleware(middleware.Config{})       // AppURL, CookieKeys and Now from the kit
//	app := mw.Handler(routes(mw))
//	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
//	rec := httptest.NewRecorder()
//	app.ServeHTTP(rec, s.Request("GET", "/private", nil))
//	k.Expire()                                    // the next request refreshes the pair
type Kit struct {
	*qelostest.Server
	// Clock is the server's clock, starting at the real time; Middleware
	// and Config give it to the middleware too.
	Clock *qelostest.Clock

	t         TB
	accessTTL time.Duration // the server's Options.AccessTTL, for Expire
}

// TB is the part of testing.TB a Kit uses: *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Start starts a [qelostest.Server] with the default users and workspaces
// on a loopback port for the test t, closes it when t ends, and returns its
// Kit.
func Start(t TB) *Kit { return StartWith(t, qelostest.Options{}) }

// StartWith is Start with options. Options.Now is replaced by the kit's
// Clock.
func StartWith(t TB, opts qelostest.Options) *Kit {
	t.Helper()
	clock := qelostest.NewClock(time.Now())
	opts.Now = clock.Now
	ttl := opts.AccessTTL
	if ttl == 0 {
		ttl = qelostest.DefaultAccessTTL // as the server defaults it
	}
	k := &Kit{Server: qelostest.New(opts), Clock: clock, t: t, accessTTL: ttl}
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
		k.t.Fatalf("middlewaretest: middleware.New: %v", err)
	}
	return mw
}

// Expire moves the Clock past the lifetime of every access token issued so
// far (Options.AccessTTL), so the next request of every session refreshes
// its pair. Refresh tokens, which live longer, stay valid.
func (k *Kit) Expire() { k.Clock.Advance(k.accessTTL + time.Second) }

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
		k.t.Fatalf("middlewaretest: SignIn: %v", err)
	}
	rec := httptest.NewRecorder()
	a, err := mw.StartSession(rec, qrefresh.Pair{AccessToken: access, RefreshToken: refreshToken}, k.workspace(email, workspaceID))
	if err != nil {
		k.t.Fatalf("middlewaretest: SignIn: StartSession: %v (was mw made for this kit?)", err)
	}
	return &Session{Auth: a, Cookies: rec.Result().Cookies()}
}

// workspace describes workspaceID as the sign-in answer does, with the
// roles email holds in it; nil for none.
func (k *Kit) workspace(email, workspaceID string) *middleware.Workspace {
	if workspaceID == "" {
		return nil
	}
	ws, err := k.Membership(email, workspaceID)
	if err != nil {
		return nil // IssuePair has refused already
	}
	return &middleware.Workspace{ID: ws.ID, Name: ws.Name, Roles: ws.Members[0].Roles, Labels: ws.Labels}
}
