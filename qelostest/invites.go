package qelostest

import (
	"net/http"
	"slices"
	"sort"
)

// handleRoles serves GET /api/roles to tenant-privileged callers (401
// {"message":"you are not privileged."} for others): every role some user
// of the tenant holds, each once, sorted.
func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	roles := []string{}
	for _, u := range id.tenant.users {
		for _, role := range u.Roles {
			if !slices.Contains(roles, role) {
				roles = append(roles, role)
			}
		}
	}
	s.mu.Unlock()
	sort.Strings(roles)
	writeJSON(w, http.StatusOK, roles)
}

// handleRespondInvite serves POST /api/invites {workspace, kind}: kind
// "accept" (the caller becomes a member with roles ["user"]) or "decline"
// (the default); either way the caller's invites to that workspace are
// dropped. 400 {"message":"missing workspaceId"} without a workspace, 400
// for another kind, 404 {"message":"workspace not found","email",
// "workspaceId"} when it does not invite the caller; 200 {"success":true}.
func (s *Server) handleRespondInvite(w http.ResponseWriter, r *http.Request, id *identity) {
	var body struct {
		Workspace any `json:"workspace"`
		Kind      any `json:"kind"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	wsID := str(body.Workspace)
	if wsID == "" {
		writeMessage(w, http.StatusBadRequest, "missing workspaceId")
		return
	}
	kind := "decline"
	if body.Kind != nil {
		kind = str(body.Kind)
	}
	if kind != "accept" && kind != "decline" {
		writeMessage(w, http.StatusBadRequest, `respond kind should be either "accept" or "decline"`)
		return
	}
	email := s.callerEmail(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := id.tenant.workspaceByID(wsID)
	if ws == nil || email == "" || invitedAt(ws, email) < 0 {
		writeJSON(w, http.StatusNotFound, object{{"message", "workspace not found"}, {"email", email}, {"workspaceId", wsID}})
		return
	}
	ws.invites = slices.DeleteFunc(ws.invites, func(in any) bool { return inviteEmail(in) == email })
	if kind == "accept" {
		ws.members = append(ws.members, memberRecord{id: s.newObjectID(), userID: id.userID(), roles: []string{"user"}, created: s.now()})
	}
	writeJSON(w, http.StatusOK, object{{"success", true}})
}

// handleInvites serves GET /api/invites: the workspaces that invite the
// caller's email, as [{_id, name, logo?}].
func (s *Server) handleInvites(w http.ResponseWriter, r *http.Request, id *identity) {
	email := s.callerEmail(id)
	s.mu.Lock()
	list := invitationList(id.tenant, email)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// callerEmail is the email Qelos reads from the caller's payload.
func (s *Server) callerEmail(id *identity) string {
	if id.claims != nil {
		return id.claims.Email
	}
	return id.user.Email
}

// invitedAt returns the index of the first invite of email in ws, or -1.
func invitedAt(ws *workspaceRecord, email string) int {
	return slices.IndexFunc(ws.invites, func(in any) bool { return inviteEmail(in) == email })
}

// inviteEmail is the email of an invite as stored by s.invites.
func inviteEmail(in any) string {
	o, _ := in.(object)
	for _, kv := range o {
		if kv.key == "email" {
			s, _ := kv.val.(string)
			return s
		}
	}
	return ""
}
