package qelostest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

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
