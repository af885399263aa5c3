package qelostest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Messages of the real auth service's 401 answers.
const (
	msgNotLoggedIn     = "you are not authorized. must be logged in."
	msgBadBearer       = "authorization token is not valid."
	msgBadAPIKey       = "Invalid or expired API token"
	msgTokenManagement = "API token management is not allowed via token authentication"
)

// credential says how a caller authenticated.
type credential int

const (
	credCookie credential = iota + 1
	credBearer
	credAPIKey
)

// identity is the authenticated caller of a request (Qelos's
// req.userPayload).
type identity struct {
	cred   credential
	tenant *tenantState // the caller's tenant (a JWT's tenant claim)
	claims *tokenClaims // cookie and bearer callers
	token  string       // the cookie or bearer JWT
	// user is a snapshot of the caller's record; known is false (and user
	// zero) when a validly signed JWT names a user the server doesn't have.
	user  User
	known bool
	// workspace is the active workspace as /api/me shows it: the raw JWT
	// claim, or for a scoped API token {_id,name,roles,labels} unencoded.
	workspace json.RawMessage
}

func (id *identity) userID() string {
	if id.claims != nil {
		return id.claims.Sub
	}
	return id.user.ID
}

func (id *identity) roles() []string {
	if id.claims != nil {
		return id.claims.Roles
	}
	return id.user.Roles
}

func (id *identity) privileged() bool {
	return slices.Contains(id.roles(), privilegedRole)
}

// authenticate is Qelos's verifyUser. The credential is chosen once, by
// presence: x-api-key, then the session cookie, then Authorization. It
// returns (nil, true) for an anonymous request, and (nil, false) after it has
// answered 401 itself (an invalid API key or bearer). An invalid cookie makes
// the request anonymous and never falls back to the bearer. A valid cookie
// whose identifier is older than [Options.CookieRotateAfter] is rotated: a
// new cookie is set on w.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*identity, bool) {
	if key := r.Header.Get("X-Api-Key"); key != "" {
		id := s.apiKeyIdentity(s.requestTenant(r), key)
		if id == nil {
			writeMessage(w, http.StatusUnauthorized, msgBadAPIKey)
			return nil, false
		}
		return id, true
	}
	if tok := s.sessionCookie(r); tok != "" {
		c, err := s.verify(tok, s.opts.JWTSecret)
		if err != nil {
			return nil, true
		}
		id := s.jwtIdentity(credCookie, tok, c)
		s.maybeRotate(w, r, id)
		return id, true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		parts := strings.Split(h, " ")
		if len(parts) < 2 {
			// Qelos splits the header and calls .trim() on the missing
			// second part: a TypeError, answered by Express as a 500 page.
			writeServerError(w, "TypeError: Cannot read properties of undefined (reading 'trim')")
			return nil, false
		}
		tok := parts[1]
		if strings.TrimSpace(tok) == "" {
			return nil, true // an empty token is no credential
		}
		c, err := s.verify(tok, s.opts.JWTSecret)
		if err != nil {
			writeMessage(w, http.StatusUnauthorized, msgBadBearer)
			return nil, false
		}
		return s.jwtIdentity(credBearer, tok, c), true
	}
	return nil, true
}

// requireUser authenticates r and answers 401 for anonymous callers
// (Qelos's verifyUser + onlyAuthenticated). It returns nil when it has
// answered.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request) *identity {
	id, ok := s.authenticate(w, r)
	if !ok {
		return nil
	}
	if id == nil {
		writeMessage(w, http.StatusUnauthorized, msgNotLoggedIn)
		return nil
	}
	return id
}

// requirePrivileged is requireUser for the routes of tenant-privileged
// callers: others get 401 {"message":"you are not privileged."}.
func (s *Server) requirePrivileged(w http.ResponseWriter, r *http.Request) *identity {
	id := s.requireUser(w, r)
	if id != nil && !id.privileged() {
		writeMessage(w, http.StatusUnauthorized, "you are not privileged.")
		return nil
	}
	return id
}

// jwtIdentity builds the identity of a verified cookie or bearer JWT.
func (s *Server) jwtIdentity(cred credential, tok string, c *tokenClaims) *identity {
	id := &identity{cred: cred, claims: c, token: tok, workspace: c.workspaceObject()}
	s.mu.Lock()
	defer s.mu.Unlock()
	id.tenant = s.tenantLocked(c.Tenant, true)
	if u := id.tenant.userByID(c.Sub); u != nil {
		id.user, id.known = snapshot(u), true
	}
	return id
}

// snapshot copies the public part of a record so it can be read without
// holding s.mu.
func snapshot(u *userRecord) User {
	c := u.User
	c.Roles = slices.Clone(u.Roles)
	return c
}

// maybeRotate implements the sliding cookie rotation: when the cookie's
// identifier is at least CookieRotateAfter old and still on record, it is
// replaced, a new cookie JWT with the same workspace claim is signed and
// set, and the request goes on with the new token. A cookie whose record is
// gone (logged out, already rotated) is accepted as it is.
func (s *Server) maybeRotate(w http.ResponseWriter, r *http.Request, id *identity) {
	age, ok := s.identifierAge(id.claims.TokenIdentifier)
	if ok && age < s.opts.CookieRotateAfter {
		return
	}
	tok, err := s.rotateCookie(id.claims, id.workspace, false)
	if err != nil {
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	if c, err := s.verify(tok, s.opts.JWTSecret); err == nil {
		id.claims, id.token = c, tok
	}
}

// rotateCookie replaces the cookie record of claims with a fresh identifier
// and returns a new cookie JWT carrying workspace. Without force it fails
// when the record is gone; with force a missing record is created.
func (s *Server) rotateCookie(claims *tokenClaims, workspace json.RawMessage, force bool) (string, error) {
	return s.rotateCookieWith(claims, claimOptions{workspace: workspace}, force)
}

func (s *Server) rotateCookieWith(claims *tokenClaims, o claimOptions, force bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.tenantLocked(claims.Tenant, false).userByID(claims.Sub)
	if u == nil {
		return "", errInvalidToken
	}
	i := tokenIndex(u, kindCookie, claims.TokenIdentifier)
	if i < 0 && !force {
		return "", errInvalidToken
	}
	o.identifier = s.newTokenIdentifier()
	o.ttl = s.opts.CookieTTL
	rec := tokenRecord{
		kind:       kindCookie,
		identifier: o.identifier,
		workspace:  (&tokenClaims{Workspace: o.workspace}).workspaceID(),
		expiresAt:  s.now().Add(s.opts.CookieTTL),
	}
	if i >= 0 {
		u.tokens[i] = rec
	} else {
		s.pushToken(u, rec)
	}
	return sign(s.sessionClaims(u, o), s.opts.JWTSecret)
}
