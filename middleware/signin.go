package middleware

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
	"github.com/qelos-io/integrator-go/refresh"
)

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
func (m *Middleware) SignInHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, in, ok := m.sessionInput(w, r)
		if !ok {
			return
		}
		username := cmp.Or(strings.TrimSpace(in.get("username")), strings.TrimSpace(in.get("email")))
		password := in.get("password")
		if username == "" || password == "" {
			m.fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: missingCredentials(in, username, password)})
			return
		}
		body, err := signInBody(in, username, password)
		if err != nil {
			m.fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: err.Error()})
			return
		}
		if !m.allowSignIn(w, r, username) {
			return
		}
		resp, err := m.call(r.Context(), http.MethodPost, "/api/signin", body, "")
		switch {
		case err != nil:
			m.log.Warn("qelos sign-in: Qelos unavailable", "err", err)
			m.fail(w, r, unavailableError(nil))
			return
		case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
			m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeInvalidCredentials, Message: "wrong username or password"})
			return
		case resp.Status != http.StatusOK:
			m.log.Warn("qelos sign-in: unexpected answer", "status", resp.Status)
			m.fail(w, r, unavailableError(nil))
			return
		}
		m.finishSignIn(w, r, in, resp.Body, "")
	})
}

// finishSignIn starts the session an OAuth sign-in or sign-up answer
// carries and answers the browser: 303 to a same-origin "returnTo", else
// 200 {"user":…,"workspace":…}; 503 when the answer holds no usable pair.
// email, when set, stands in for a token that names none.
func (m *Middleware) finishSignIn(w http.ResponseWriter, r *http.Request, in input, answer []byte, email string) {
	a, err := m.startSession(w, r, answer, email)
	if errors.Is(err, qelos.ErrSessionTooLarge) {
		m.log.Warn("qelos sign-in: the session does not fit in its cookies: the user's names or picture URL in the access token are too large", "path", r.URL.Path)
		m.fail(w, r, &qelos.Error{Status: http.StatusUnprocessableEntity, Code: qelos.CodeSessionTooLarge, Message: "your profile (names, picture) is too large to keep you signed in; shorten it and sign in again"})
		return
	}
	if err != nil {
		m.log.Warn("qelos sign-in: unusable answer", "path", r.URL.Path, "err", err)
		m.fail(w, r, unavailableError(nil))
		return
	}
	m.emit(Event{Kind: EventSignedIn, UserID: a.User.ID, Request: r})
	if to := in.orQuery("returnTo"); SafeRedirect(to) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, sessionBody{User: a.User, Workspace: a.Workspace})
}

// sessionBody is the answer of the session handlers.
type sessionBody struct {
	User      *User      `json:"user"`
	Workspace *Workspace `json:"workspace"`
}

// startSession reads an OAuth sign-in (or sign-up) answer and starts a
// session from its pair.
func (m *Middleware) startSession(w http.ResponseWriter, r *http.Request, body []byte, email string) (*Auth, error) {
	p, err := wire.ReadSignedIn(body)
	if err != nil {
		return nil, err
	}
	return m.startSessionFor(w, r, refresh.Pair{AccessToken: p.Token, RefreshToken: p.RefreshToken}, p.Workspace, email)
}

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
func (m *Middleware) SignOutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = cookieResponse(w) // clears the pair: never cacheable
		if !m.allowPost(w, r) {
			return
		}
		access := m.jar.value(r, m.jar.access)
		userID := m.revoke(r, access)
		m.cache.remove(access)
		m.jar.clear(w, r)
		m.emit(Event{Kind: EventSignedOut, UserID: userID, Request: r})
		if to := r.URL.Query().Get("returnTo"); SafeRedirect(to) {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// revoke ends the session named by the request's cookies, as far as it
// can, and returns the user id it found: here first (its session id
// revoked, its refresh outcome forgotten), then at Qelos (its refresh
// token). Failures are logged, not returned: signing out never depends on
// Qelos.
func (m *Middleware) revoke(r *http.Request, access string) string {
	ctx := r.Context()
	now := m.now()
	// No refresh token of the session outlives this, by this app's clock
	// or by the wall clock the refresh.Coordinator keeps revocations by…
	until := now.Add(sessionLife)
	if wall := time.Now().Add(sessionLife); wall.After(until) {
		until = wall
	}
	var token, userID, accessTok string
	var accessExp time.Time
	var sids []string
	as, aerr := m.jar.open(m.jar.access, access)
	if aerr == nil {
		if t, err := m.tokens.readAccess(as.Token); err == nil {
			userID, accessTok, accessExp = t.user.ID, as.Token, t.expires
			if now.Before(t.expires) {
				token = as.Token
			}
		}
		if as.Session != "" {
			sids = append(sids, as.Session)
		}
	}
	rs, rerr := m.jar.open(m.jar.refresh, m.jar.value(r, m.jar.refresh))
	if rerr == nil {
		sid := rs.Session
		if sid == "" {
			sid = legacySessionID(rs.Token)
		}
		if !slices.Contains(sids, sid) {
			sids = append(sids, sid) // halves that disagree: both sessions end
		}
		if exp, err := m.tokens.readExpiry(rs.Token); err == nil && exp.After(until) {
			until = exp // …unless its clock says otherwise
		}
	}
	for _, sid := range sids {
		m.revokeName(ctx, "session:"+sid, until.Add(m.cfg.Refresh.Leeway))
	}
	if accessTok != "" {
		// The names earlier versions revoke and check, for replicas still
		// running one in a rolling deploy.
		if rerr == nil {
			m.revokeName(ctx, accessTok+"\x00"+rs.Token, accessExp.Add(m.cfg.Refresh.Leeway))
		}
		m.revokeName(ctx, accessTok+"\x00", accessExp.Add(m.cfg.Refresh.Leeway))
	}
	if rerr == nil {
		if token == "" {
			// Qelos revokes a refresh token through its paired access token;
			// an expired one is refused, so exchange the pair first.
			if pair, err := m.refreshWithin(ctx, rs.Token); err == nil {
				token = pair.AccessToken
				if err := m.refresher.Forget(ctx, pair.RefreshToken); err != nil {
					m.log.Warn("qelos sign-out: could not drop the session's refresh outcome from the shared store", "err", err)
				}
			}
		}
		// The old pair must no longer yield the new one.
		if err := m.refresher.Forget(ctx, rs.Token); err != nil {
			m.log.Warn("qelos sign-out: could not drop the session's refresh outcome from the shared store", "err", err)
		}
	}
	if token == "" {
		return userID
	}
	resp, err := m.call(ctx, http.MethodPost, "/api/logout", nil, token)
	if err != nil || resp.Status != http.StatusOK {
		status := 0
		if resp != nil {
			status = resp.Status
		}
		m.log.Warn("qelos sign-out: Qelos did not confirm the logout; the session is revoked here and the cookies are cleared anyway", "status", status, "err", err)
	}
	return userID
}

// revokeName records name as revoked until the given time, here and in
// the shared store.
func (m *Middleware) revokeName(ctx context.Context, name string, until time.Time) {
	if err := m.refresher.Revoke(ctx, name, until); err != nil {
		m.log.Warn("qelos sign-out: could not record the revocation in the shared store; other replicas honour it only once they see it", "err", err)
	}
}
