package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// maxFormBody caps a sign-in or sign-up body.
const maxFormBody = 64 << 10

// CodeSessionTooLarge is the code of the sign-in (or sign-up) answer 422
// when the session Qelos issued cannot be kept in cookies: see
// ErrSessionTooLarge.
const CodeSessionTooLarge = "SESSION_TOO_LARGE"

// SignInHandler returns a handler that signs a user in. It takes a POST with
// a JSON or form body holding "username" (or "email") and "password", signs
// in against Qelos in OAuth mode, seals the token pair into the session
// cookies and answers 200 {"user":…,"workspace":…}.
//
// Wrong credentials answer 401 {"code":"INVALID_CREDENTIALS"}; a missing
// field 400 {"code":"INVALID_INPUT"}; Qelos unreachable 503
// {"code":"QELOS_UNAVAILABLE"}; a user whose profile makes the session too
// large for its cookies (see ErrSessionTooLarge) 422
// {"code":"SESSION_TOO_LARGE"}. Credentials are read from the body only,
// never from the URL query, which ends up in logs, history and Referer
// headers. When the body or the query has a "returnTo" that is a
// same-origin path (see SafeRedirect), success answers 303 to it instead,
// which suits a plain HTML form.
func (m *Middleware) SignInHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, ok := postInput(w, r)
		if !ok {
			return
		}
		username := strings.TrimSpace(in.get("username"))
		if username == "" {
			username = strings.TrimSpace(in.get("email"))
		}
		password := in.get("password")
		if username == "" || password == "" {
			writeError(w, http.StatusBadRequest, CodeInvalidInput, "username and password are required")
			return
		}
		resp, err := m.call(r.Context(), http.MethodPost, "/api/signin",
			map[string]string{"username": username, "password": password, "authType": "oauth"}, "")
		switch {
		case err != nil:
			m.log.Warn("qelos sign-in: Qelos unavailable", "err", err)
			m.fail(w, r, http.StatusServiceUnavailable, CodeQelosUnavailable, msgUnavailable)
			return
		case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
			m.fail(w, r, http.StatusUnauthorized, CodeInvalidCredentials, "wrong username or password")
			return
		case resp.Status != http.StatusOK:
			m.log.Warn("qelos sign-in: unexpected answer", "status", resp.Status)
			m.fail(w, r, http.StatusServiceUnavailable, CodeQelosUnavailable, msgUnavailable)
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
	if errors.Is(err, ErrSessionTooLarge) {
		m.log.Warn("qelos sign-in: the session does not fit in its cookies: the user's names or picture URL in the access token are too large", "path", r.URL.Path)
		m.fail(w, r, http.StatusUnprocessableEntity, CodeSessionTooLarge, "your profile (names, picture) is too large to keep you signed in; shorten it and sign in again")
		return
	}
	if err != nil {
		m.log.Warn("qelos sign-in: unusable answer", "path", r.URL.Path, "err", err)
		m.fail(w, r, http.StatusServiceUnavailable, CodeQelosUnavailable, msgUnavailable)
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
	var answer struct {
		Payload struct {
			Token        string     `json:"token"`
			RefreshToken string     `json:"refreshToken"`
			Workspace    *Workspace `json:"workspace"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, errors.New("sign-in answer is not JSON")
	}
	p := answer.Payload
	if p.Token == "" || p.RefreshToken == "" {
		return nil, errors.New("sign-in answer has no token pair (is Qelos in OAuth mode?)")
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
// process and, when the RefreshStore is a refresh.Revoker (Redis), in the
// shared store — and the session's recorded refresh outcome is dropped.
// Every pair of that session, and any mix of its cookies, then answers 401
// on the cached path, when a cookie is first opened and on the refresh
// path, even when the access token had expired, the refresh at sign-out
// failed, or Qelos's logout failed or timed out.
func (m *Middleware) SignOutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
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
		m.revokeName(ctx, "session:"+sid, until.Add(m.cfg.Leeway))
	}
	if accessTok != "" {
		// The names earlier versions revoke and check, for replicas still
		// running one in a rolling deploy.
		if rerr == nil {
			m.revokeName(ctx, accessTok+"\x00"+rs.Token, accessExp.Add(m.cfg.Leeway))
		}
		m.revokeName(ctx, accessTok+"\x00", accessExp.Add(m.cfg.Leeway))
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

// postInput reads the fields of a POST (see readInput), answering 405 to
// another method and 400 to an unreadable body; ok is false when it has
// answered.
func postInput(w http.ResponseWriter, r *http.Request) (in input, ok bool) {
	if !allowPost(w, r) {
		return in, false
	}
	in, err := readInput(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeInvalidInput, err.Error())
		return in, false
	}
	return in, true
}

func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use POST")
	return false
}

// input is a request's fields, from a JSON object or a form body.
type input struct {
	fields map[string]string
	r      *http.Request
}

// get returns a field of the body. Credentials are read with get only: a
// password in a URL is logged by every proxy on the way.
func (in input) get(name string) string { return in.fields[name] }

// orQuery returns a field of the body, else of the URL query: for fields
// that are no secret, such as returnTo or a workspace id.
func (in input) orQuery(name string) string {
	if v, ok := in.fields[name]; ok {
		return v
	}
	return in.r.URL.Query().Get(name)
}

// readInput reads a JSON object of string fields or a form, at most 64 KiB.
func readInput(w http.ResponseWriter, r *http.Request) (input, error) {
	in := input{fields: map[string]string{}, r: r}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var raw map[string]any
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			return in, errors.New("body is not a JSON object")
		}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				in.fields[k] = s
			}
		}
		return in, nil
	}
	if mt == "multipart/form-data" {
		return in, errors.New("send the fields as JSON or application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return in, errors.New("body is not a form")
	}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			in.fields[k] = v[0]
		}
	}
	return in, nil
}
