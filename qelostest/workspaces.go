package qelostest

import (
	"net/http"
	"slices"
)

const (
	msgActivateFailed    = "failed to activate workspace"
	msgWorkspaceNotFound = "workspace not found"
)

// handleWorkspaces serves GET /api/workspaces: the workspaces the caller
// belongs to, each with only the caller's membership and no labels.
// isPrivilegedUser says whether the caller is an admin of that workspace
// (its member roles hold "admin"), whatever the caller's tenant roles.
func (s *Server) handleWorkspaces(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	list := []object{}
	for _, ws := range id.tenant.workspaces {
		m := ws.member(id.userID())
		if m == nil {
			continue
		}
		list = append(list, workspaceListEntry(ws, id.tenant.id, m))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// workspaceAccess is what Qelos's getWorkspaceByParams learns about the
// workspace of a request path and its caller.
type workspaceAccess struct {
	ws *workspaceRecord
	// member is the caller's membership; nil for a tenant-privileged
	// caller, whose lookup does not load members.
	member *memberRecord
	// privileged says whether the caller may manage the workspace: a
	// tenant-privileged caller or an admin member.
	privileged bool
}

// workspaceParam is Qelos's getWorkspaceByParams for the {id} of r: the
// workspace, when the caller is tenant-privileged or a member of it. It
// answers 404 {"message":"workspace not found","from":"get-workspace"}
// otherwise, or 500 for an unknown id that is not an ObjectId (the
// database cast fails), and returns ok false. The caller holds s.mu.
func (s *Server) workspaceParam(w http.ResponseWriter, r *http.Request, id *identity) (workspaceAccess, bool) {
	wsID := r.PathValue("id")
	ws := id.tenant.workspaceByID(wsID)
	if ws == nil && !isObjectID(wsID) {
		writeMessage(w, http.StatusInternalServerError, "failed to load workspace data")
		return workspaceAccess{}, false
	}
	a := workspaceAccess{ws: ws, privileged: id.privileged()}
	if ws != nil && !a.privileged {
		a.member = ws.member(id.userID())
		a.privileged = a.member != nil && slices.Contains(a.member.roles, privilegedRole)
	}
	if ws == nil || a.member == nil && !id.privileged() {
		writeJSON(w, http.StatusNotFound, object{{"message", msgWorkspaceNotFound}, {"from", "get-workspace"}})
		return workspaceAccess{}, false
	}
	return a, true
}

// handleWorkspace serves GET /api/workspaces/{id}. Members see the
// workspace with their own membership; workspace admins and privileged
// users see every member and the invites; anyone else gets 404.
func (s *Server) handleWorkspace(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.workspaceParam(w, r, id)
	if !ok {
		return
	}
	body := a.doc()
	if a.privileged {
		body = withMembers(body, a.ws).add("invites", nonNilAny(a.ws.invites))
	}
	writeJSON(w, http.StatusOK, body)
}

// handleActivate serves POST /api/workspaces/{id}/activate. Only cookie
// sessions can activate: the session cookie is re-issued with the new
// workspace claim (and, as on the real server, without a username claim),
// and the answer is the workspace as the lookup loaded it (with the
// caller's membership unless the caller is tenant-privileged).
// Privileged users may activate any workspace and get roles ["admin"];
// others must be members (404 otherwise, as for every workspace route).
// Without a valid session cookie (bearer or API-token callers) the answer
// is 500 {"message":"failed to activate workspace"}.
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	a, ok := s.workspaceParam(w, r, id)
	s.mu.Unlock()
	if !ok {
		return
	}
	c, err := s.verify(s.sessionCookie(r), s.opts.JWTSecret)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, msgActivateFailed)
		return
	}
	s.mu.Lock()
	u := s.tenantLocked(c.Tenant, false).userByID(c.Sub)
	if u == nil {
		s.mu.Unlock()
		writeMessage(w, http.StatusInternalServerError, msgActivateFailed)
		return
	}
	roles := []string{privilegedRole}
	if a.member != nil {
		roles = a.member.roles
	}
	u.lastLogin, u.lastWorkspace = s.now(), a.ws.id
	claim := workspaceClaim(a.ws, roles)
	body := a.doc()
	s.mu.Unlock()

	tok, err := s.rotateCookieWith(c, claimOptions{workspace: claim, noUsername: true}, true)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, msgActivateFailed)
		return
	}
	s.setSessionCookie(w, r, tok, s.opts.CookieTTL)
	writeJSON(w, http.StatusOK, body)
}
