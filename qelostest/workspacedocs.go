package qelostest

import "slices"

// Every workspace document the server answers is built here, one
// function a document, in the real server's key order. The golden
// exchanges and the fidelity tests hold the shapes.

// workspaceName is a workspace as a list of API tokens or invitations
// names it: {_id, name}.
func workspaceName(ws *workspaceRecord) object {
	return object{{"_id", ws.id}, {"name", ws.name}}
}

// invitationList is GET /api/invites's answer: the workspaces of tenant t
// that invite email, as {_id, name, logo?}; none for an empty email. The
// caller holds s.mu.
func invitationList(t *tenantState, email string) []object {
	list := []object{}
	for _, ws := range t.workspaces {
		if email != "" && invitedAt(ws, email) >= 0 {
			list = append(list, workspaceName(ws).addString("logo", ws.logo))
		}
	}
	return list
}

// membershipDocument is the workspace of a sign-in answer and of a scoped
// API token's /api/me: {_id, name, roles, labels}, with the roles of the
// member it is shown to. The workspace claim of a token is this document
// with its name URI-encoded (see workspaceClaim).
func membershipDocument(ws *workspaceRecord, roles []string) object {
	return workspaceName(ws).add("roles", nonNil(roles)).add("labels", nonNil(ws.labels))
}

// memberDocument is one membership as a workspace lists it.
func memberDocument(m *memberRecord) object {
	return object{
		{"_id", m.id},
		{"user", m.userID},
		{"roles", nonNil(m.roles)},
		{"created", isoTime(m.created)},
	}
}

// workspaceListEntry is ws as GET /api/workspaces lists it to the member
// m in tenant: with only m's membership and no labels, and whether m is
// an admin of ws.
func workspaceListEntry(ws *workspaceRecord, tenant string, m *memberRecord) object {
	return workspaceName(ws).add("tenant", tenant).
		addString("logo", ws.logo).
		add("members", []object{memberDocument(m)}).
		add("isPrivilegedUser", slices.Contains(m.roles, privilegedRole))
}

// createdWorkspaceDocument is the whole new document POST /api/workspaces
// answers, in the order Mongoose serialises a new document (a member's
// keys too: user, roles, _id, created).
func createdWorkspaceDocument(ws *workspaceRecord, tenant string) object {
	members := []object{}
	for _, m := range ws.members {
		members = append(members, object{{"user", m.userID}, {"roles", nonNil(m.roles)}, {"_id", m.id}, {"created", isoTime(m.created)}})
	}
	return object{{"name", ws.name}, {"tenant", tenant}}.
		addString("logo", ws.logo).
		add("members", members).
		add("labels", nonNil(ws.labels)).
		add("invites", nonNilAny(ws.invites)).
		add("_id", ws.id).
		add("created", isoTime(ws.created)).
		add("__v", 0)
}

// doc is the workspace as the lookup loaded it: {_id, name, logo?,
// members? (the caller's membership), labels}.
func (a workspaceAccess) doc() object {
	d := workspaceName(a.ws).addString("logo", a.ws.logo)
	if a.member != nil {
		d = d.add("members", []object{memberDocument(a.member)})
	}
	return d.add("labels", nonNil(a.ws.labels))
}

// withMembers sets the "members" of body to every member of ws, in place
// when body has the key, else at the end.
func withMembers(body object, ws *workspaceRecord) object {
	members := []object{}
	for i := range ws.members {
		members = append(members, memberDocument(&ws.members[i]))
	}
	for i := range body {
		if body[i].key == "members" {
			body[i].val = members
			return body
		}
	}
	return body.add("members", members)
}

// nonNilAny is v, or an empty list for nil, so that it answers [] and
// not null.
func nonNilAny(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
