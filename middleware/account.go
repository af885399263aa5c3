package middleware

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
	"github.com/qelos-io/integrator-go/refresh"
)

// The session handlers live in middleware/internal/account; these methods
// are their entry points, and accountCore is the part of the middleware's
// state they reach.

// SignInHandler returns a handler that signs a user in. It takes a POST with
// a JSON or form body holding "username" (or "email") and "password", signs
// in against Qelos in OAuth mode, seals the token pair into the session
// cookies and answers 200 {"user":…,"workspace":…}. A JSON body is read
// as JSON also without a Content-Type.
//
// Two optional fields are forwarded to Qelos as it reads them: "workspace",
// the id of the workspace to make active (Qelos picks it when the user is
// a member, else its usual choice: the last workspace, else any), and
// "roles", a list of tenant roles of which the user must hold one (a JSON
// array, or a form field sent once per role or as "roles[]"); a user
// holding none of them is refused like a wrong password.
//
// Attempts are rate limited (see SignInLimit): over the limit, 429
// {"code":"TOO_MANY_ATTEMPTS"} with Retry-After, and Qelos is not asked.
// Wrong credentials answer 401 {"code":"INVALID_CREDENTIALS"}; a missing
// field 400 {"code":"INVALID_INPUT"}; Qelos unreachable 503
// {"code":"QELOS_UNAVAILABLE"}; a user whose profile makes the session too
// large for its cookies (see qelos.ErrSessionTooLarge) 422
// {"code":"SESSION_TOO_LARGE"}. Credentials are read from the body only,
// never from the URL query, which ends up in logs, history and Referer
// headers. When the body or the query has a "returnTo" that is a
// same-origin path (see SafeRedirect), success answers 303 to it instead,
// which suits a plain HTML form.
func (m *Middleware) SignInHandler() http.Handler { return m.account.SignIn() }

// SignUpHandler returns a handler that creates a Qelos account and signs it
// in. It takes a POST with a JSON or form body: "username" (or "email"),
// "password", "firstName", "lastName", and optionally "email" when the
// username is not one, "fullName" (or "name"; Qelos defaults it to
// "firstName lastName") and "birthDate" (a date, "1990-04-23", or an
// RFC 3339 time). These are every field Qelos's sign-up reads; others,
// such as "phone", Qelos ignores at sign-up, so they are not forwarded.
// On success it seals the new pair exactly like
// SignInHandler and answers 200 {"user":…,"workspace":null} (or 303 to a
// same-origin "returnTo").
//
// Qelos answers sign-up errors with status 200 and an "errors" object; they
// are mapped to proper statuses and stable codes:
//
//	400 {"code":"INVALID_INPUT","errors":{"firstName":"INVALID_NAME",…}}
//	409 {"code":"ALREADY_EXISTS"}      the username is taken
//	503 {"code":"QELOS_UNAVAILABLE"}   Qelos could not be reached
//
// Qelos reports a taken username as FORM_SUBMISSION_FAILED, the same code it
// uses for any failure to store the user, so a 409 can, rarely, stand for
// another storage failure.
func (m *Middleware) SignUpHandler() http.Handler { return m.account.SignUp() }

// SignOutHandler returns a handler that signs the user out: it records the
// session as signed out, asks Qelos to revoke the session's refresh token
// (POST /api/logout with the access token, refreshing first if the access
// token has expired), then clears the session cookies whatever Qelos
// answered — even when Qelos is down. It answers 204, or 303 to a
// same-origin "returnTo".
//
// Sign-out is final on every replica, whatever Qelos does: before any call
// to Qelos, the session's id (sealed in both of its cookies) is recorded
// as revoked for the refresh token's whole life (at least 30 days) — in
// process and, when Config.Refresh.Store is a refresh.Revoker (Redis), in the
// shared store — and the session's recorded refresh outcome is dropped.
// Every pair of that session, and any mix of its cookies, then answers 401
// on the cached path, when a cookie is first opened and on the refresh
// path, even when the access token had expired, the refresh at sign-out
// failed, or Qelos's logout failed or timed out.
func (m *Middleware) SignOutHandler() http.Handler { return m.account.SignOut() }

// SocialLoginHandler returns a handler that starts a social sign-in with
// provider. It remembers a random state and the same-origin "returnTo" of
// the query (default "/") in a short-lived sealed cookie, then redirects
// the browser to Qelos (through Proxy) so that Qelos returns it to
// callbackPath, which must be served by SocialCallbackHandler.
func (m *Middleware) SocialLoginHandler(provider, callbackPath string) http.Handler {
	return m.account.SocialLogin(provider, callbackPath)
}

// SocialCallbackHandler returns the handler for the page Qelos sends the
// browser back to after a social sign-in, with ?rt=<refreshToken>&state=….
// It checks state against the one SocialLoginHandler remembered (so nobody
// can sign a victim in to their own account with a crafted link), exchanges
// the single-use refresh token for a pair, seals it into the session
// cookies, and answers 303 to the remembered same-origin returnTo — a URL
// without the refresh token in it.
//
// A state is good for one sign-in, within 10 minutes of its start: its
// expiry is sealed in the state cookie, and a state that signed someone in
// is remembered as used until it expires (at most maxUsedStates of them,
// about 2 MiB), so a kept pair of state and state cookie cannot be
// replayed. A state whose refresh token Qelos refused is not used up.
//
// Errors: 400 {"code":"INVALID_INPUT"} without rt; 403
// {"code":"FORBIDDEN"} when the state does not match, has expired or was
// used; 401 {"code":"UNAUTHORIZED"} when Qelos rejects the token; 503
// {"code":"QELOS_UNAVAILABLE"} when Qelos cannot be reached, or while
// maxUsedStates sign-ins are remembered.
func (m *Middleware) SocialCallbackHandler() http.Handler { return m.account.SocialCallback() }

// SwitchWorkspaceHandler returns a handler that makes another workspace the
// active one of a cookie-pair session. It takes a POST with a JSON or form
// "id", checks with Qelos (GET /api/workspaces, cached for IdentityTTL) that
// the user belongs to it, and records it in the sealed pair, so every later
// request — and every refresh — sees it as the active workspace, with the
// roles the user holds there. It answers 200 {"workspace":…}.
//
// A workspace the user does not belong to is 403 {"code":"FORBIDDEN"} and
// changes nothing. Mount it behind Handler; an anonymous request is 401.
//
// The choice is this app's record. Qelos's own activation endpoint serves
// only Qelos cookie sessions, so in OAuth mode the access token Qelos
// issued keeps the workspace of the sign-in (thinned to its id after one
// refresh, gone after two): calls made to Qelos with the token (Proxy,
// Client) are judged by Qelos without it. Bearer and API-token requests
// choose their workspace at sign-in or token creation and get 409
// {"code":"WORKSPACE_SWITCH_UNSUPPORTED"}.
func (m *Middleware) SwitchWorkspaceHandler() http.Handler { return m.account.SwitchWorkspace() }

// socialStateCookie holds the state of a social sign-in in flight, sealed.
const socialStateCookie = "q_social_state"

// accountCore is the middleware as the session handlers see it
// (account.Core).
type accountCore struct{ m *Middleware }

func (c accountCore) Now() time.Time                                         { return c.m.now() }
func (c accountCore) Logger() *slog.Logger                                   { return c.m.log }
func (c accountCore) Fail(w http.ResponseWriter, r *http.Request, err error) { c.m.fail(w, r, err) }
func (c accountCore) NoStore(w http.ResponseWriter) http.ResponseWriter      { return cookieResponse(w) }

func (c accountCore) Call(ctx context.Context, method, path string, body any, bearer string) (*upstream.Answer, error) {
	return c.m.call(ctx, method, path, body, bearer)
}

func (c accountCore) AllowSignIn(w http.ResponseWriter, r *http.Request, username string) bool {
	return c.m.allowSignIn(w, r, username)
}

func (c accountCore) Start(w http.ResponseWriter, r *http.Request, pair refresh.Pair, ws *qelos.Workspace, email string) (*qelos.User, *qelos.Workspace, error) {
	a, err := c.m.startSessionFor(w, r, pair, ws, email)
	if err != nil {
		return nil, nil, err
	}
	return a.User, a.Workspace, nil
}

func (c accountCore) Redeem(ctx context.Context, refreshToken string) (refresh.Pair, error) {
	return c.m.refreshWithin(ctx, refreshToken)
}

func (c accountCore) End(w http.ResponseWriter, r *http.Request) string {
	m := c.m
	access := m.jar.value(r, m.jar.access)
	userID := m.revoke(r, access)
	m.cache.remove(access)
	m.jar.clear(w, r)
	return userID
}

func (c accountCore) Emit(r *http.Request, signedIn bool, userID string) {
	kind := qelos.EventSignedOut
	if signedIn {
		kind = qelos.EventSignedIn
	}
	c.m.emit(qelos.Event{Kind: kind, UserID: userID, Request: r})
}

func (c accountCore) Seal(state string) (string, error) {
	return c.m.jar.seal(c.m.jar.social, sealed{Token: state})
}

func (c accountCore) Open(r *http.Request) (string, error) {
	s, err := c.m.jar.open(c.m.jar.social, cookieValue(r, c.m.jar.social.wire))
	return s.Token, err
}

func (c accountCore) StateCookie(value string, maxAge int) *http.Cookie {
	return c.m.jar.cookie(c.m.jar.social.wire, value, maxAge)
}

func (c accountCore) Scheme(r *http.Request) string {
	if r.TLS == nil && (!c.m.jar.secure || loopbackHost(r.Host)) {
		return "http"
	}
	return "https"
}

func (c accountCore) Session(w http.ResponseWriter, r *http.Request) (qelos.Mode, bool) {
	if Deny(w, r, SignedIn()) {
		return 0, false
	}
	a, _ := FromContext(r.Context())
	return a.Mode, true
}

func (c accountCore) Workspaces(r *http.Request) ([]qelos.Workspace, error) {
	a, _ := FromContext(r.Context())
	return c.m.clientFor(a).Workspaces(r.Context())
}

func (c accountCore) Switch(w http.ResponseWriter, r *http.Request, ws *qelos.Workspace) (*qelos.Workspace, error) {
	a, _ := FromContext(r.Context())
	b, err := c.m.recordWorkspace(w, r, a, ws)
	if err != nil {
		c.m.reject(w, r, err)
		return nil, err
	}
	return b.Workspace, nil
}

// loopbackHost reports whether host (with or without a port) is localhost
// or a loopback address, where browsers treat plain http as secure.
func loopbackHost(host string) bool {
	h := stripPort(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
