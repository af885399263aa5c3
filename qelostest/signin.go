package qelostest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Auth types accepted by sign-in and sign-up.
const (
	authCookie = "cookie"
	authOAuth  = "oauth"
)

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
