package qelostest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 1 << 20

// Auth types accepted by sign-in and sign-up.
const (
	authCookie = "cookie"
	authOAuth  = "oauth"
)

// readJSON decodes a JSON request body into v, like Express's json body
// parser: a body that is not declared as JSON, or is empty, leaves v
// untouched. It answers 400 and returns false for a malformed body.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeMessage(w, http.StatusRequestEntityTooLarge, "request entity too large")
			return false
		}
		writeMessage(w, http.StatusBadRequest, "failed to read request body")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeMessage(w, http.StatusBadRequest, "malformed JSON body")
		return false
	}
	return true
}

// credentialsBody is the body of sign-in and sign-up. Fields are loosely
// typed, as in JavaScript; see str and strs.
type credentialsBody struct {
	Username  any `json:"username"`
	Email     any `json:"email"`
	Password  any `json:"password"`
	AuthType  any `json:"authType"`
	Roles     any `json:"roles"`
	Workspace any `json:"workspace"`
	FirstName any `json:"firstName"`
	LastName  any `json:"lastName"`
}

// str returns v when it is a string.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs returns the strings of v when it is an array.
func strs(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// authType resolves the authType field; ok is false for an unknown one.
func authType(v any) (string, bool) {
	t := str(v)
	if v == nil || t == "" {
		return authCookie, true
	}
	return t, t == authCookie || t == authOAuth
}

// hang never answers, like the real server for an invalid authType (an
// unhandled rejection inside passport). It returns when the client gives up
// or the server closes, dropping the connection.
func (s *Server) hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
	abort(w)
}

// handleSignIn serves POST /api/signin.
//
// An authType other than "cookie" or "oauth" makes the request hang until
// the client gives up, as on the real server: give clients a timeout.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if !readJSON(w, r, &body) {
		return
	}
	password := str(body.Password)
	if password == "" {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"password", object{{"code", "EMPTY_PASSWORD"}}}}}})
		return
	}
	login := strings.TrimSpace(str(body.Username))
	if login == "" {
		login = strings.TrimSpace(str(body.Email))
	}
	if login == "" {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"password", "password is incorrect"}}}})
		return
	}

	s.mu.Lock()
	u := s.userByLogin(login)
	if u == nil || !passwordMatches(u.Password, password) || !hasAnyRole(u.Roles, strs(body.Roles)) {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"general", object{{"message", "Invalid username or password"}}}}}})
		return
	}
	mode, ok := authType(body.AuthType)
	if !ok {
		s.mu.Unlock()
		s.hang(w, r)
		return
	}
	ws, roles := s.pickWorkspace(u, str(body.Workspace))
	var wsClaim json.RawMessage
	var wsID string
	if ws != nil {
		wsClaim, wsID = workspaceClaim(ws, roles), ws.id
		u.lastWorkspace = ws.id
	}
	user := object{
		{"username", u.Username},
		{"email", u.Email},
		{"firstName", u.FirstName},
		{"lastName", u.LastName},
		{"name", u.displayName()},
		{"roles", nonNil(u.Roles)},
	}
	payload, err := s.startSession(w, r, u, mode, wsClaim, wsID, claimOptions{}, user)
	s.mu.Unlock()
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "failed to sign in")
		return
	}
	if ws != nil {
		payload = payload.add("workspace", object{
			{"_id", ws.id},
			{"name", ws.name},
			{"roles", nonNil(roles)},
			{"labels", nonNil(ws.labels)},
		})
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}

// startSession mints the tokens of a new session of mode for u and returns
// the start of the auth payload: {token, refreshToken, user} in OAuth mode,
// {user} plus a Set-Cookie in cookie mode. The caller holds s.mu.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *userRecord, mode string, wsClaim json.RawMessage, wsID string, o claimOptions, user object) (object, error) {
	o.workspace = wsClaim
	if mode == authOAuth {
		access, refresh, err := s.mintOAuth(u, wsID, o)
		if err != nil {
			return nil, err
		}
		return object{{"token", access}, {"refreshToken", refresh}, {"user", user}}, nil
	}
	tok, err := s.mintCookie(u, o, s.opts.CookieTTL)
	if err != nil {
		return nil, err
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	return object{{"user", user}}, nil
}

// mintOAuth signs an access/refresh pair and stores the refresh record.
// The caller holds s.mu.
func (s *Server) mintOAuth(u *userRecord, wsID string, o claimOptions) (access, refresh string, err error) {
	if o.ttl == 0 {
		o.ttl = s.opts.AccessTTL
	}
	o.identifier = ""
	access, err = sign(s.sessionClaims(u, o), s.opts.JWTSecret)
	if err != nil {
		return "", "", err
	}
	ident := s.newTokenIdentifier()
	refresh, err = sign(s.refreshClaims(u, wsID, ident), s.opts.RefreshSecret)
	if err != nil {
		return "", "", err
	}
	s.pushToken(u, tokenRecord{
		kind:         kindOAuth,
		identifier:   ident,
		relatedToken: access,
		workspace:    wsID,
		expiresAt:    s.now().Add(s.opts.RefreshTTL),
	})
	return access, refresh, nil
}

// mintCookie signs a cookie-mode session token living ttl and stores its
// record. The caller holds s.mu.
func (s *Server) mintCookie(u *userRecord, o claimOptions, ttl time.Duration) (string, error) {
	o.identifier = s.newTokenIdentifier()
	o.ttl = ttl
	tok, err := sign(s.sessionClaims(u, o), s.opts.JWTSecret)
	if err != nil {
		return "", err
	}
	s.pushToken(u, tokenRecord{
		kind:       kindCookie,
		identifier: o.identifier,
		workspace:  (&tokenClaims{Workspace: o.workspace}).workspaceID(),
		expiresAt:  s.now().Add(s.opts.CookieTTL),
	})
	return tok, nil
}

// pickWorkspace chooses the sign-in workspace of u: the preferred one, else
// the last-login one, else the one of the newest token record, each only if
// u is a member, else u's first membership, else none. The caller holds
// s.mu.
func (s *Server) pickWorkspace(u *userRecord, preferred string) (*workspaceRecord, []string) {
	candidates := []string{preferred, u.lastWorkspace}
	if n := len(u.tokens); n > 0 {
		candidates = append(candidates, u.tokens[n-1].workspace)
	}
	for _, id := range candidates {
		if id == "" {
			continue
		}
		if ws := s.workspaceByID(id); ws != nil {
			if m := ws.member(u.ID); m != nil {
				return ws, m.roles
			}
		}
	}
	if ws := s.firstMembership(u.ID); ws != nil {
		return ws, ws.member(u.ID).roles
	}
	return nil, nil
}

func passwordMatches(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// hasAnyRole reports whether roles holds one of filter; an empty filter
// matches everyone.
func hasAnyRole(roles, filter []string) bool {
	if len(filter) == 0 {
		return true
	}
	return slices.ContainsFunc(filter, func(f string) bool { return slices.Contains(roles, f) })
}

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z]+([\-\s]?[a-zA-Z]+)*$`)
	emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
)

// handleSignUp serves POST /api/signup. Like the real server it answers
// 200 for every failure: {"errors":{field:{"code":…}}} for invalid fields
// and {"errors":{"":"FORM_SUBMISSION_FAILED"}} for a taken username. The new
// user gets role "user", no workspace, and email = username; the token
// minted at sign-up carries no email claim (as on the real server).
func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if !readJSON(w, r, &body) {
		return
	}
	email := strings.TrimSpace(str(body.Email))
	firstName := strings.TrimSpace(str(body.FirstName))
	lastName := strings.TrimSpace(str(body.LastName))
	password := strings.TrimSpace(str(body.Password))
	errs := object{}
	if email != "" && !emailRE.MatchString(email) {
		errs = errs.add("email", object{{"code", "INVALID_EMAIL"}})
	}
	if !nameRE.MatchString(firstName) {
		errs = errs.add("firstName", object{{"code", "INVALID_NAME"}})
	}
	if len(password) < 8 {
		errs = errs.add("password", object{{"code", "INVALID_PASSWORD"}})
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusOK, object{{"errors", errs}})
		return
	}
	failed := object{{"errors", object{{"", "FORM_SUBMISSION_FAILED"}}}}
	username := strings.TrimSpace(str(body.Username))
	if username == "" {
		username = email
	}
	if username == "" {
		writeJSON(w, http.StatusOK, failed)
		return
	}
	mode, ok := authType(body.AuthType)
	if !ok {
		s.hang(w, r)
		return
	}

	s.mu.Lock()
	if s.userByLogin(username) != nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, failed)
		return
	}
	u := &userRecord{
		User: User{
			ID:        s.newObjectID(),
			Username:  username,
			Email:     username,
			Password:  str(body.Password),
			FirstName: firstName,
			LastName:  lastName,
			FullName:  strings.TrimSpace(firstName + " " + lastName),
			Roles:     []string{"user"},
			Metadata:  map[string]any{},
		},
		created: s.now(),
	}
	s.users = append(s.users, u)
	user := object{
		{"username", u.Username},
		{"email", u.Email},
		{"name", u.displayName()},
		{"fullName", u.FullName},
		{"firstName", u.FirstName},
		{"lastName", u.LastName},
		{"roles", nonNil(u.Roles)},
	}
	payload, err := s.startSession(w, r, u, mode, nil, "", claimOptions{noEmail: true}, user)
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusOK, failed)
		return
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}

// handleRefresh serves POST /api/token/refresh. The refresh token comes
// only from Authorization: Bearer (the body is ignored) and is single use.
// Every failure is 401 with an empty body. The new access token carries
// {_id, name:""} when the old refresh token had a workspace; the new refresh
// token never has one, so the workspace survives exactly one refresh.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	c, err := s.verify(tok, s.opts.RefreshSecret)
	if err != nil || c.TokenIdentifier == "" || c.Tenant != s.opts.Tenant {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	u := s.userByID(c.Sub)
	i := -1
	if u != nil {
		i = tokenIndex(u, kindOAuth, c.TokenIdentifier)
	}
	if i < 0 {
		s.mu.Unlock()
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	u.tokens = slices.Delete(u.tokens, i, i+1)
	var o claimOptions
	if id := c.workspaceID(); id != "" {
		o.workspace = bareWorkspaceClaim(id)
	}
	access, refresh, err := s.mintOAuth(u, "", o)
	user := object{{"email", u.Email}, {"roles", nonNil(u.Roles)}}
	s.mu.Unlock()
	if err != nil {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, object{{"payload", object{
		{"user", user},
		{"token", access},
		{"refreshToken", refresh},
	}}})
}

// handleCookieRefresh serves POST /api/cookie/refresh: the session token
// from the cookie, else from Authorization: Bearer, is exchanged for a new
// one (its identifier is rotated, so the old token is refused here from
// then on). Every failure is 401 with an empty body.
func (s *Server) handleCookieRefresh(w http.ResponseWriter, r *http.Request) {
	tok := s.sessionCookie(r)
	if tok == "" {
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			tok = strings.TrimSpace(h[7:])
		}
	}
	c, err := s.verify(tok, s.opts.JWTSecret)
	if err != nil {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	ws := c.workspaceObject()
	newTok, err := s.rotateCookie(c, ws, false)
	if err != nil {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	u := s.userByID(c.Sub)
	if u == nil { // unreachable: rotateCookie found the user
		s.mu.Unlock()
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	user := object{{"_id", u.ID}}.
		addString("username", u.Username).
		addString("email", u.Email).
		addString("phone", u.Phone).
		addString("fullName", u.FullName).
		addString("firstName", u.FirstName).
		addString("lastName", u.LastName).
		add("roles", nonNil(u.Roles)).
		addString("profileImage", u.ProfileImage)
	s.mu.Unlock()
	var wsVal any
	if ws != nil {
		wsVal = ws
	}
	s.setSessionCookie(w, r, newTok, s.opts.CookieTTL)
	writeJSON(w, http.StatusOK, object{{"payload", object{
		{"user", user},
		{"workspace", wsVal},
		{"cookieToken", newTok},
	}}})
}

// handleLogout serves POST /api/logout. With a session cookie it clears the
// cookie and deletes its record (the cookie JWT itself stays valid for
// /api/me until it expires). Otherwise it deletes the refresh record paired
// with the bearer access token (the access token stays valid until exp).
// Anonymous callers get 401.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	id := s.requireUser(w, r)
	if id == nil {
		return
	}
	if tok := s.sessionCookie(r); tok != "" {
		s.clearSessionCookie(w, r)
		if c, err := s.verify(tok, s.opts.JWTSecret); err == nil {
			s.deleteToken(c.Sub, func(t tokenRecord) bool {
				return t.kind == kindCookie && t.identifier == c.TokenIdentifier
			})
		}
	} else if tok, ok := bearerToken(r); ok && tok != "" {
		s.deleteToken(id.userID(), func(t tokenRecord) bool {
			return t.kind == kindOAuth && t.relatedToken == tok
		})
	}
	writeEmpty(w, http.StatusOK)
}

// deleteToken removes the records of userID matching del.
func (s *Server) deleteToken(userID string, del func(tokenRecord) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByID(userID); u != nil {
		u.tokens = slices.DeleteFunc(u.tokens, del)
	}
}

// handleAuthCallback serves POST /api/auth/callback?rt=<refreshToken>, the
// social-login exchange: it consumes the refresh token and starts a cookie
// session whose token lives AccessTTL (the real server signs it without an
// explicit lifetime) while the cookie's Max-Age is CookieTTL.
//
// Unlike the real server, the payload's user is a sanitised document: no
// password hash, salt or token records.
func (s *Server) handleAuthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("rt") {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	rt := strings.TrimSpace(q.Get("rt"))
	if rt == "" {
		writeJSON(w, http.StatusBadRequest, object{{"error", "Refresh token is missing"}})
		return
	}
	c, err := s.verify(rt, s.opts.RefreshSecret)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, object{{"error", "Invalid refresh token"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByID(c.Sub)
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"general", "User not found"}}}})
		return
	}
	i := tokenIndex(u, kindOAuth, c.TokenIdentifier)
	if i < 0 {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"general", "Refresh token not valid"}}}})
		return
	}
	u.tokens = slices.Delete(u.tokens, i, i+1)
	var o claimOptions
	wsID := c.workspaceID()
	if wsID != "" {
		o.workspace = bareWorkspaceClaim(wsID)
	}
	tok, err := s.mintCookie(u, o, s.opts.AccessTTL)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "failed to exchange refresh token")
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	payload := object{{"user", userDocument(u, s.opts.Tenant)}}
	if o.workspace != nil {
		payload = payload.add("workspace", o.workspace)
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}

// userDocument is the stored user as a document, without secrets.
func userDocument(u *userRecord, tenant string) object {
	return object{{"_id", u.ID}, {"tenant", tenant}}.
		addString("username", u.Username).
		addString("email", u.Email).
		addString("phone", u.Phone).
		addString("fullName", u.FullName).
		addString("firstName", u.FirstName).
		addString("lastName", u.LastName).
		addString("birthDate", u.BirthDate).
		addString("profileImage", u.ProfileImage).
		add("roles", nonNil(u.Roles)).
		add("metadata", u.Metadata).
		add("created", isoTime(u.created))
}
