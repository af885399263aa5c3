package qelostest

import "net/http"

// handleMe serves GET /api/me: the caller as Qelos's buildMeResponse
// shows it. Name fields are decoded; "workspace" is the raw JWT claim (its
// name still URI-encoded, or "" after an OAuth refresh), the unencoded
// workspace of a scoped API token, or absent.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	id := s.requireUser(w, r)
	if id == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.meResponse(id))
}

// meResponse builds the /api/me body of id.
func (s *Server) meResponse(id *identity) object {
	u := &id.user
	tenant, username, email, phone, roles := id.tenant.id, u.Username, u.Email, u.Phone, u.Roles
	first, last, full := u.FirstName, u.LastName, u.displayName()
	if c := id.claims; c != nil {
		tenant, username, email, phone, roles = c.Tenant, c.Username, c.Email, c.Phone, c.Roles
		if !id.known {
			first, last = decodeIfNeeded(c.FirstName), decodeIfNeeded(c.LastName)
			full = (&User{FirstName: first, LastName: last, FullName: decodeIfNeeded(c.FullName)}).displayName()
		}
	}
	metadata := u.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	me := object{{"_id", id.userID()}, {"tenant", tenant}}.
		addString("username", username).
		addString("email", email).
		addString("phone", phone).
		addString("name", full).
		addString("firstName", first).
		addString("lastName", last).
		addString("fullName", full).
		addString("profileImage", u.ProfileImage).
		addString("birthDate", u.BirthDate).
		add("roles", nonNil(roles)).
		add("metadata", metadata)
	if id.workspace != nil {
		me = me.add("workspace", id.workspace)
	}
	return me
}
