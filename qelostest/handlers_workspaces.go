package qelostest

import (
	"net/http"
	"slices"
)

const msgActivateFailed = "failed to activate workspace"

// handleWorkspaces serves GET /api/workspaces: the workspaces the caller
// belongs to, each with only the caller's membership and no labels.
func (s *Server) handleWorkspaces(w http.ResponseWriter, r *http.Request) {
	id := s.requireUser(w, r)
	if id == nil {
		return
	}
	s.mu.Lock()
	list := []object{}
	for _, ws := range s.workspaces {
		m := ws.member(id.userID())
		if m == nil {
			continue
		}
		list = append(list, object{
			{"_id", ws.id},
			{"name", ws.name},
			{"tenant", s.opts.Tenant},
			{"members", []object{memberJSON(m)}},
			{"isPrivilegedUser", id.privileged()},
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

func memberJSON(m *memberRecord) object {
	return object{
		{"_id", m.id},
		{"user", m.userID},
		{"roles", nonNil(m.roles)},
		{"created", isoTime(m.created)},
	}
}

// handleWorkspace serves GET /api/workspaces/{id}. Members see
// {_id,name,labels}; workspace admins and privileged users also see members
// and invites; anyone else gets 404.
func (s *Server) handleWorkspace(w http.ResponseWriter, r *http.Request) {
	id := s.requireUser(w, r)
	if id == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.workspaceByID(r.PathValue("id"))
	var m *memberRecord
	if ws != nil {
		m = ws.member(id.userID())
	}
	if ws == nil || m == nil && !id.privileged() {
		writeJSON(w, http.StatusNotFound, object{{"message", "workspace not found"}, {"from", "get-workspace"}})
		return
	}
	body := object{{"_id", ws.id}, {"name", ws.name}, {"labels", nonNil(ws.labels)}}
	if id.privileged() || m != nil && slices.Contains(m.roles, privilegedRole) {
		members := []object{}
		for i := range ws.members {
			members = append(members, memberJSON(&ws.members[i]))
		}
		body = body.add("members", members).add("invites", []any{})
	}
	writeJSON(w, http.StatusOK, body)
}

// handleActivate serves POST /api/workspaces/{id}/activate. Only cookie
// sessions can activate: the session cookie is re-issued with the new
// workspace claim (and, as on the real server, without a username claim).
// Privileged users may activate any workspace and get roles ["admin"];
// others must be members (404 otherwise). Without a valid session cookie
// (bearer or API-token callers) the answer is 500
// {"message":"failed to activate workspace"}.
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	if s.requireUser(w, r) == nil {
		return
	}
	c, err := s.verify(s.sessionCookie(r), s.opts.JWTSecret)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, msgActivateFailed)
		return
	}
	s.mu.Lock()
	u := s.userByID(c.Sub)
	ws := s.workspaceByID(r.PathValue("id"))
	var roles []string
	switch {
	case u == nil || ws == nil:
	case u.privileged():
		roles = []string{privilegedRole}
	case ws.member(u.ID) != nil:
		roles = ws.member(u.ID).roles
	}
	if roles == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, object{{"message", "workspace not found"}})
		return
	}
	u.lastWorkspace = ws.id
	claim := workspaceClaim(ws, roles)
	body := object{{"_id", ws.id}, {"name", ws.name}, {"labels", nonNil(ws.labels)}}
	s.mu.Unlock()

	tok, err := s.rotateCookieWith(c, claimOptions{workspace: claim, noUsername: true}, true)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, msgActivateFailed)
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	writeJSON(w, http.StatusOK, body)
}
