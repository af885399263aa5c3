package middleware

import (
	"context"
	"net/http"
	"sync"
	"time"

	qelos "github.com/qelos-io/integrator-go"
)

// Auth is what the middleware learned about a request. Handlers read it with
// [FromContext], or its parts with [UserFrom] and [WorkspaceFrom].
//
// An Auth may be shared by every request of a session: treat it, and the
// User and Workspace it points to, as read-only.
type Auth struct {
	// User is the signed-in user, or nil.
	User *User
	// Workspace is the request's active workspace, or nil, by the rule
	// documented on Workspace.
	Workspace *Workspace
	// Mode is the credential that identified the user.
	Mode qelos.Mode
	// Privileged reports whether the user holds one of
	// Config.PrivilegedRoles (default "admin"), as Qelos's isPrivileged.
	Privileged bool
	// Err is non-nil when the user could not be identified because Qelos
	// was unavailable (a transient fault while refreshing), or the
	// workspace could not be resolved (see WorkspaceResolver). The user's
	// credentials were kept; guards answer 503, not 401 or 403.
	Err error

	mw           *Middleware // for the request-scoped client
	accessToken  string      // cookie-pair mode: the access token in force, unless tokenInCookie
	lazy         *lazyToken  // cookie-pair mode: where AccessToken reads it from, for a tokenInCookie Auth bound to a request
	refreshToken string      // cookie-pair mode, when this process just issued the pair
	cred         http.Header // other modes: the headers that identify the user to Qelos
	expires      time.Time   // the credential's expiry, when known
	session      string      // cookie-pair mode: the session id's revocation key (sessionRevocation)
	sid          string      // cookie-pair mode: the session id both cookies carry
	pairTag      string      // cookie-pair mode: pairTag of its refresh cookie; cached, it serves that pair only
	skipped      bool        // the mark of a request on a SkipPaths prefix
	// tokenInCookie: a cached cookie-pair session, which keeps no access
	// token (a third of its bytes); each request's own access cookie holds
	// it, and bind gives the request a copy that opens it when asked.
	tokenInCookie bool
}

// AccessToken returns the Qelos access token in force for the request (the
// refreshed one if the middleware just refreshed), for calling Qelos on the
// user's behalf. Never log it.
func (a *Auth) AccessToken() string {
	switch {
	case a == nil:
		return ""
	case a.lazy != nil:
		return a.lazy.get()
	}
	return a.accessToken
}

// lazyToken is the access token of a cached session, in the sealed access
// cookie of the request it serves: opened at the first AccessToken (a
// Client call, the proxy), not on every request.
type lazyToken struct {
	once   sync.Once
	mw     *Middleware
	cookie string // the request's sealed access cookie
	tok    string
}

func (l *lazyToken) get() string {
	l.once.Do(func() {
		if v, _, err := l.mw.jar.openCompact(l.mw.jar.access, l.cookie); err == nil {
			l.tok = v.Token
		}
		l.cookie = ""
	})
	return l.tok
}

// bind returns a as the request whose sealed access cookie is cookie
// sees it: for a cached session (tokenInCookie), a copy whose AccessToken
// opens that cookie when asked; else a itself.
func bind(a *Auth, cookie string) *Auth {
	if a == nil || !a.tokenInCookie || a.lazy != nil || cookie == "" || a.mw == nil {
		return a
	}
	v := &struct {
		Auth
		lazyToken
	}{Auth: *a}
	v.lazyToken.mw, v.lazyToken.cookie = a.mw, cookie
	v.Auth.lazy = &v.lazyToken
	return &v.Auth
}

// Expires returns when the access token expires (zero if unknown). The
// middleware refreshes the pair shortly before then.
func (a *Auth) Expires() time.Time {
	if a == nil {
		return time.Time{}
	}
	return a.expires
}

// NewContext returns a copy of ctx carrying a. Adapters and tests use it;
// applications normally let the middleware set it.
func NewContext(ctx context.Context, a *Auth) context.Context {
	return &authContext{Context: ctx, a: a}
}

// FromContext returns the Auth the middleware attached to the request
// context, and false when the middleware did not run for it (a skipped path,
// or no middleware at all) or the request is anonymous.
func FromContext(ctx context.Context) (*Auth, bool) {
	a, ok := ctx.Value(contextKey{}).(*Auth)
	if !ok || a == nil || a.mark() {
		return nil, false
	}
	return a, true
}

// rawFrom returns the Auth in ctx as Handler found it (nil: none), without
// binding it to the request: for reading its user, workspace and mode.
func rawFrom(ctx context.Context) *Auth {
	if c, ok := ctx.(*authContext); ok {
		return c.a
	}
	a, _ := ctx.Value(rawKey{}).(*Auth)
	return a
}

// mark reports whether a is only Handler's mark on a request it saw
// (anonymous, or on a skipped path), not an identity.
func (a *Auth) mark() bool { return a.mw != nil && a.User == nil && a.Err == nil }

// UserFrom returns the signed-in user of the request, and false when there
// is none.
func UserFrom(ctx context.Context) (*User, bool) {
	a := rawFrom(ctx)
	if a == nil || a.User == nil {
		return nil, false
	}
	return a.User, true
}

// WorkspaceFrom returns the request's active workspace, and false when there
// is none.
func WorkspaceFrom(ctx context.Context) (*Workspace, bool) {
	a := rawFrom(ctx)
	if a == nil || a.Workspace == nil {
		return nil, false
	}
	return a.Workspace, true
}
