package qelostest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// sessionFor resolves the user and workspace claim of a test-minted
// session. An empty workspaceID means no workspace claim; otherwise the user
// must be a member. The caller holds s.mu.
func (s *Server) sessionFor(userEmail, workspaceID string) (*userRecord, json.RawMessage, error) {
	if workspaceID == "" {
		u := s.userByLogin(userEmail)
		if u == nil {
			return nil, nil, fmt.Errorf("qelostest: unknown user %q", userEmail)
		}
		return u, nil, nil
	}
	u, ws, m, err := s.membership(userEmail, workspaceID)
	if err != nil {
		return nil, nil, err
	}
	return u, workspaceClaim(ws, m.roles), nil
}

// IssuePair mints an OAuth access/refresh pair for the user whose email or
// username is userEmail, exactly as an OAuth sign-in would: the refresh
// record is stored, so the refresh token is accepted once by
// POST /api/token/refresh, and logout with the access token revokes it.
// A non-empty workspaceID puts that workspace (which the user must belong
// to) in both tokens; an empty one issues a pair without a workspace.
func (s *Server) IssuePair(userEmail, workspaceID string) (access, refresh string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ws, err := s.sessionFor(userEmail, workspaceID)
	if err != nil {
		return "", "", err
	}
	return s.mintOAuth(u, workspaceID, claimOptions{workspace: ws})
}

// IssueAccessToken mints an OAuth access token for userEmail living ttl,
// without a refresh token. A zero or negative ttl gives an already expired
// token.
// See [Options.AccessTTL] for how ttl is encoded in exp. workspaceID is as
// for [Server.IssuePair].
func (s *Server) IssueAccessToken(userEmail, workspaceID string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ws, err := s.sessionFor(userEmail, workspaceID)
	if err != nil {
		return "", err
	}
	return sign(s.sessionClaims(u, claimOptions{workspace: ws, ttl: ttl}), s.opts.JWTSecret)
}

// IssueCookie mints a cookie-mode session token for userEmail, exactly as a
// cookie sign-in would (its record is stored, so it can be refreshed,
// rotated and logged out). Send it as the cookie named [Server.CookieName].
// workspaceID is as for [Server.IssuePair].
func (s *Server) IssueCookie(userEmail, workspaceID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ws, err := s.sessionFor(userEmail, workspaceID)
	if err != nil {
		return "", err
	}
	return s.mintCookie(u, claimOptions{workspace: ws}, s.opts.CookieTTL)
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
