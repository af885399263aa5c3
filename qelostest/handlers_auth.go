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
	FullName  any `json:"fullName"`
	Name      any `json:"name"`
	BirthDate any `json:"birthDate"`
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
	if strings.TrimSpace(password) == "" {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"password", object{{"code", "EMPTY_PASSWORD"}}}}}})
		return
	}
	// passport-local fails a body without "username" before Qelos looks
	// at it; only a username of blanks falls back to "email".
	login := str(body.Username)
	if login == "" {
		writeJSON(w, http.StatusUnauthorized, object{{"errors", object{{"password", "password is incorrect"}}}})
		return
	}
	if login = strings.TrimSpace(login); login == "" {
		login = strings.TrimSpace(str(body.Email))
	}

	t := s.requestTenant(r)
	s.mu.Lock()
	u := t.userBySignIn(login)
	if u == nil || !passwordMatches(u.Password, strings.TrimSpace(password)) || !hasAnyRole(u.Roles, strs(body.Roles)) {
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
	ws, roles := s.pickWorkspace(t, u, str(body.Workspace))
	var wsClaim json.RawMessage
	var wsID string
	if ws != nil {
		wsClaim, wsID = workspaceClaim(ws, roles), ws.id
	}
	u.lastLogin, u.lastWorkspace = s.now(), wsID
	payload, err := s.startSession(w, r, u, mode, wsClaim, wsID, claimOptions{}, signInUser(u))
	s.mu.Unlock()
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "failed to sign in")
		return
	}
	if ws != nil {
		payload = payload.add("workspace", membershipDocument(ws, roles))
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
	if o.parent != "" { // the last concurrent spend's save wins
		u.tokens = slices.DeleteFunc(u.tokens, func(t tokenRecord) bool { return t.parent == o.parent })
	}
	s.pushToken(u, tokenRecord{
		kind:         kindOAuth,
		identifier:   ident,
		relatedToken: access,
		parent:       o.parent,
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
	// Qelos records no workspace with a new cookie session (only a rotated
	// one carries it).
	s.pushToken(u, tokenRecord{
		kind:       kindCookie,
		identifier: o.identifier,
		expiresAt:  s.now().Add(s.opts.CookieTTL),
	})
	return tok, nil
}

// pickWorkspace chooses the sign-in workspace of u as Qelos does: the
// first of the preferred one, the last-login one and the one of the newest
// token record that is set is looked up among u's memberships (none when
// u is not a member of it); when none is set, u's first membership, else
// none. The caller holds s.mu.
func (s *Server) pickWorkspace(t *tenantState, u *userRecord, preferred string) (*workspaceRecord, []string) {
	candidates := []string{preferred, u.lastWorkspace}
	if n := len(u.tokens); n > 0 {
		candidates = append(candidates, u.tokens[n-1].workspace)
	}
	for _, id := range candidates {
		if id == "" {
			continue
		}
		if ws := t.workspaceByID(id); ws != nil {
			if m := ws.member(u.ID); m != nil {
				return ws, m.roles
			}
		}
		return nil, nil
	}
	if ws := t.firstMembership(u.ID); ws != nil {
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
// (email, firstName and password are required) and
// {"errors":{"":"FORM_SUBMISSION_FAILED"}} for a taken username or an
// unknown authType. Without a username it answers {"payload":{}} and
// creates no user. The new user gets role "user", no workspace, the
// username trimmed and lower-cased, and the email derived from it (the
// username when it holds an "@", else username + "@null"; the body's email
// is only validated), fullName from "fullName", else "name", else
// "firstName lastName", and birthDate as sent (Qelos stores it as a date). The token minted at sign-up carries no email claim
// (as on the real server).
func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if !readJSON(w, r, &body) {
		return
	}
	errs := object{}
	if e, ok := body.Email.(string); !ok || !emailRE.MatchString(strings.TrimSpace(e)) {
		errs = errs.add("email", object{{"code", "INVALID_EMAIL"}})
	}
	if f, ok := body.FirstName.(string); !ok || !nameRE.MatchString(strings.TrimSpace(f)) {
		errs = errs.add("firstName", object{{"code", "INVALID_NAME"}})
	}
	if p, ok := body.Password.(string); !ok || len(strings.TrimSpace(p)) < 8 {
		errs = errs.add("password", object{{"code", "INVALID_PASSWORD"}})
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusOK, object{{"errors", errs}})
		return
	}
	rawUsername := str(body.Username)
	if rawUsername == "" {
		// passport-local fails before Qelos's callback runs, and Qelos
		// answers the empty outcome as a payload.
		writeJSON(w, http.StatusOK, object{{"payload", object{}}})
		return
	}
	failed := object{{"errors", object{{"", "FORM_SUBMISSION_FAILED"}}}}
	mode, ok := authType(body.AuthType)
	if !ok {
		writeJSON(w, http.StatusOK, failed) // setToken throws before saving
		return
	}
	username := strings.ToLower(strings.TrimSpace(rawUsername))
	if username == "" {
		username = strings.ToLower(strings.TrimSpace(str(body.Email)))
	}
	email := username
	if !strings.Contains(email, "@") {
		email += "@null"
	}
	firstName := str(body.FirstName)
	fullName := str(body.FullName)
	if fullName == "" {
		fullName = str(body.Name)
	}
	if fullName == "" {
		fullName = jsString(body.FirstName) + " " + jsString(body.LastName)
	}

	t := s.requestTenant(r)
	s.mu.Lock()
	if slices.ContainsFunc(t.users, func(u *userRecord) bool { return u.Username == username }) {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, failed)
		return
	}
	u := &userRecord{
		User: User{
			ID:        s.newObjectID(),
			Username:  username,
			Email:     email,
			Password:  strings.TrimSpace(str(body.Password)),
			FirstName: firstName,
			LastName:  str(body.LastName),
			FullName:  fullName,
			BirthDate: str(body.BirthDate),
			Roles:     []string{"user"},
			Metadata:  map[string]any{},
		},
		tenant:    t.id,
		created:   s.now(),
		lastLogin: s.now(),
	}
	t.users = append(t.users, u)
	payload, err := s.startSession(w, r, u, mode, nil, "", claimOptions{noEmail: true}, signUpUser(u))
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusOK, failed)
		return
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}

// jsString renders v the way a JavaScript template literal would for the
// values a JSON body holds.
func jsString(v any) string {
	switch v := v.(type) {
	case nil:
		return "undefined"
	case string:
		return v
	case bool, float64:
		b, _ := marshal(v)
		return string(b)
	}
	return "[object Object]"
}

// handleRefresh serves POST /api/token/refresh. The refresh token comes
// only from Authorization: Bearer (the body is ignored) and is single use
// (but see [Options.RefreshRace]). Every failure is 401 with an empty
// body. The new access token carries {_id, name:""} when the old refresh
// token had a workspace; the new refresh token never has one, so the
// workspace survives exactly one refresh.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	c, err := s.verify(tok, s.opts.RefreshSecret)
	if err != nil || c.TokenIdentifier == "" {
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	u := s.tenantLocked(c.Tenant, false).userByID(c.Sub)
	if u == nil || !s.spendRefresh(u, c.TokenIdentifier) {
		s.mu.Unlock()
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	var o claimOptions
	wsID := c.workspaceID()
	if wsID != "" {
		o.workspace = bareWorkspaceClaim(wsID)
	}
	u.lastLogin, u.lastWorkspace = s.now(), wsID
	o.parent = c.TokenIdentifier
	access, refresh, err := s.mintOAuth(u, "", o)
	user := refreshUser(u)
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

// spentRefresh remembers, with [Options.RefreshRace], a refresh token whose
// first spend is still in progress as far as concurrent spends can tell.
type spentRefresh struct {
	userID string
	until  time.Time
}

// spendRefresh spends u's refresh record with identifier and reports
// whether the spend succeeds. Without RefreshRace a record is spent once.
// With it, spends within RefreshRace (wall-clock time) of the first one
// succeed too, and only the refresh record minted by the last of them is
// kept (see mintOAuth), as when Qelos's concurrent saves overwrite each
// other. The caller holds s.mu.
func (s *Server) spendRefresh(u *userRecord, identifier string) bool {
	race := s.opts.RefreshRace
	now := time.Now()
	if race > 0 {
		for id, sp := range s.spent {
			if !now.Before(sp.until) {
				delete(s.spent, id)
			}
		}
		if sp, ok := s.spent[identifier]; ok && sp.userID == u.ID {
			return true
		}
	}
	i := tokenIndex(u, kindOAuth, identifier)
	if i < 0 {
		return false
	}
	u.tokens = slices.Delete(u.tokens, i, i+1)
	if race > 0 {
		s.spent[identifier] = spentRefresh{userID: u.ID, until: now.Add(race)}
	}
	return true
}

// handleCookieRefresh serves POST /api/cookie/refresh: the session token
// from the cookie, else from Authorization: Bearer, is exchanged for a new
// one (its identifier is rotated, so the old token is refused here from
// then on). Every failure is 401 with an empty body.
//
// The Qelos gateway does not route this path, so unless
// [Options.RouteCookieRefresh] is set the answer is the gateway's 504.
func (s *Server) handleCookieRefresh(w http.ResponseWriter, r *http.Request) {
	if !s.opts.RouteCookieRefresh {
		writeGatewayTimeout(w, r)
		return
	}
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
	u := s.tenantLocked(c.Tenant, false).userByID(c.Sub)
	if u == nil { // unreachable: rotateCookie found the user
		s.mu.Unlock()
		writeEmpty(w, http.StatusUnauthorized)
		return
	}
	user := cookieRefreshUser(u)
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
			s.deleteToken(c.Tenant, c.Sub, func(t tokenRecord) bool {
				return t.kind == kindCookie && t.identifier == c.TokenIdentifier
			})
		}
	} else if tok, ok := bearerToken(r); ok && tok != "" && id.claims != nil {
		s.deleteToken(id.claims.Tenant, id.userID(), func(t tokenRecord) bool {
			return t.kind == kindOAuth && t.relatedToken == tok
		})
	}
	writeEmpty(w, http.StatusOK)
}

// deleteToken removes the records of userID in tenant matching del.
func (s *Server) deleteToken(tenant, userID string, del func(tokenRecord) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.tenantLocked(tenant, false).userByID(userID); u != nil {
		u.tokens = slices.DeleteFunc(u.tokens, del)
	}
}

// handleAuthCallback serves POST /api/auth/callback?rt=<refreshToken>, the
// social-login exchange: it consumes the refresh token and starts a cookie
// session whose token lives AccessTTL (the real server signs it without an
// explicit lifetime) while the cookie's Max-Age is CookieTTL.
//
// Like the real server (controllers/auth-callback.ts passes the Mongoose
// document to tokenPayload), the payload's user is the whole stored
// document: password hash, salt and token records included (see
// storedUserDocument).
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
	u := s.tenantLocked(c.Tenant, false).userByID(c.Sub)
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
	payload := object{{"user", storedUserDocument(u)}}
	if o.workspace != nil {
		payload = payload.add("workspace", o.workspace)
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}
