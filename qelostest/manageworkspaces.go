package qelostest

import (
	"net/http"
)

// workspaceBody is the body of a workspace's creation or update.
type workspaceBody struct {
	Name    any `json:"name"`
	Logo    any `json:"logo"`
	Labels  any `json:"labels"`
	Invites any `json:"invites"`
	Members any `json:"members"`
}

// handleCreateWorkspace serves POST /api/workspaces {name, logo?, labels?,
// invites?, members?}: the caller creates a workspace and becomes its
// member with roles ["admin","user"] (a tenant-privileged caller may give
// "members" instead). The answer is 200 with the whole new document. As on
// a Qelos stack with the default workspace configuration, anyone may
// create a workspace and labels are optional.
func (s *Server) handleCreateWorkspace(w http.ResponseWriter, r *http.Request, id *identity) {
	var body workspaceBody
	if !readJSON(w, r, &body) {
		return
	}
	labels, ok := stringArray(body.Labels, true)
	if !ok {
		writeMessage(w, http.StatusBadRequest, `please provide all mandatory properties (missing "labels").`)
		return
	}
	name := str(body.Name)
	if name == "" {
		writeMessage(w, http.StatusInternalServerError, "failed to create workspace") // the schema requires a name
		return
	}
	s.mu.Lock()
	now := s.now()
	ws := &workspaceRecord{id: s.newObjectID(), name: name, logo: str(body.Logo), labels: labels, created: now}
	ws.invites = s.invites(body.Invites)
	ws.members = []memberRecord{{id: s.newObjectID(), userID: id.userID(), roles: []string{"admin", "user"}, created: now}}
	if members := s.members(body.Members); id.privileged() && len(members) > 0 {
		ws.members = members
	}
	id.tenant.workspaces = append(id.tenant.workspaces, ws)
	doc := createdWorkspaceDocument(ws, id.tenant.id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

// handleUpdateWorkspace serves PUT /api/workspaces/{id} {name?, logo?,
// invites?, members?, labels?}. Workspace admins and tenant-privileged
// users may change name, logo and invites; only tenant-privileged users
// may replace members and labels. Others get 403 {"message":"not
// authorized"}. The answer is the workspace as loaded, with what changed.
func (s *Server) handleUpdateWorkspace(w http.ResponseWriter, r *http.Request, id *identity) {
	var body workspaceBody
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.managedWorkspace(w, r, id)
	if !ok {
		return
	}
	var members []memberRecord
	var labels []string
	if id.privileged() {
		if truthy(body.Members) {
			if _, isArray := body.Members.([]any); !isArray {
				writeMessage(w, http.StatusBadRequest, "Invalid data. Must be an array.")
				return
			}
			if members = s.members(body.Members); len(members) == 0 {
				writeMessage(w, http.StatusBadRequest, "Members cannot be empty.")
				return
			}
		}
		if truthy(body.Labels) {
			if labels, ok = stringArray(body.Labels, false); !ok {
				writeMessage(w, http.StatusBadRequest, "Invalid data. Must be an array.")
				return
			}
		}
	}
	if n := str(body.Name); n != "" {
		a.ws.name = n
	}
	if l := str(body.Logo); l != "" {
		a.ws.logo = l
	}
	doc := a.doc()
	if members != nil {
		a.ws.members = members
		doc = withMembers(doc, a.ws)
	}
	if labels != nil {
		a.ws.labels = labels
		for i := range doc {
			if doc[i].key == "labels" {
				doc[i].val = labels
			}
		}
	}
	if truthy(body.Invites) {
		a.ws.invites = s.invites(body.Invites)
		doc = doc.add("invites", nonNilAny(a.ws.invites))
	}
	writeJSON(w, http.StatusOK, doc)
}

// handleWorkspaceMembers serves GET /api/workspaces/{id}/members to
// workspace admins and tenant-privileged users: each member user as
// {_id (of the membership), email, fullName?, firstName, lastName, user,
// roles, created}.
func (s *Server) handleWorkspaceMembers(w http.ResponseWriter, r *http.Request, id *identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.managedWorkspace(w, r, id); ok {
		writeJSON(w, http.StatusOK, memberUserList(id.tenant, a.ws))
	}
}

// managedWorkspace is workspaceParam for the routes that manage a
// workspace: a caller who may not manage it (see workspaceAccess) gets 403
// {"message":"not authorized"}. The caller holds s.mu.
func (s *Server) managedWorkspace(w http.ResponseWriter, r *http.Request, id *identity) (workspaceAccess, bool) {
	a, ok := s.workspaceParam(w, r, id)
	if ok && !a.privileged {
		writeMessage(w, http.StatusForbidden, "not authorized")
		return workspaceAccess{}, false
	}
	return a, ok
}

// members reads a "members" body field: [{user, roles}].
func (s *Server) members(v any) []memberRecord {
	a, _ := v.([]any)
	var out []memberRecord
	for _, e := range a {
		m, _ := e.(map[string]any)
		if user := str(m["user"]); user != "" {
			out = append(out, memberRecord{id: s.newObjectID(), userID: user, roles: nonNil(strs(m["roles"])), created: s.now()})
		}
	}
	return out
}

// invites reads an "invites" body field: [{email?, phone?, name?,
// roles?}], roles defaulting to ["member"].
func (s *Server) invites(v any) []any {
	a, _ := v.([]any)
	out := []any{}
	for _, e := range a {
		in, _ := e.(map[string]any)
		roles := strs(in["roles"])
		if len(roles) == 0 {
			roles = []string{"member"}
		}
		out = append(out, object{}.
			addString("email", str(in["email"])).
			addString("phone", str(in["phone"])).
			addString("name", str(in["name"])).
			add("roles", roles).
			add("_id", s.newObjectID()).
			add("created", isoTime(s.now())))
	}
	return out
}

// stringArray reads an array of strings; an absent value is an empty
// array when absentOK.
func stringArray(v any, absentOK bool) ([]string, bool) {
	if v == nil {
		return []string{}, absentOK
	}
	if _, ok := v.([]any); !ok {
		return nil, false
	}
	return nonNil(strs(v)), true
}
