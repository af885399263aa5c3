package qelostest

import (
	"net/http"
	"slices"
)

// handleLogout serves POST /api/logout. With a session cookie it clears the
// cookie and deletes its record (the cookie JWT itself stays valid for
// /api/me until it expires). Otherwise it deletes the refresh record paired
// with the bearer access token (the access token stays valid until exp).
// Anonymous callers get 401.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, id *identity) {
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
