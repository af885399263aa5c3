package qelostest

import (
	"net/http"
)

// handleMe serves GET /api/me: the caller as Qelos's buildMeResponse
// shows it (see meDocument).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, id *identity) {
	writeJSON(w, http.StatusOK, meDocument(id))
}

// handleUpdateMe serves POST /api/me {password?, name?, fullName?,
// firstName?, lastName?, birthDate?, profileImage?}: the caller updates
// their own profile. Empty values change nothing; "metadata" and
// "username" are not stored (Qelos needs its auth configuration for
// metadata here), but a "username" in the body is echoed in the answer,
// as Qelos does. The answer is the /api/me body with the new profile.
func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, id *identity) {
	var body struct {
		Username     any `json:"username"`
		Password     any `json:"password"`
		Name         any `json:"name"`
		FullName     any `json:"fullName"`
		FirstName    any `json:"firstName"`
		LastName     any `json:"lastName"`
		BirthDate    any `json:"birthDate"`
		ProfileImage any `json:"profileImage"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	u := id.tenant.userByID(id.userID())
	if u == nil {
		s.mu.Unlock()
		writeMessage(w, http.StatusInternalServerError, "failed to update your user information")
		return
	}
	if p := str(body.Password); p != "" {
		u.Password = p
	}
	if f := str(body.FullName); f != "" {
		u.FullName = f
	} else if n := str(body.Name); n != "" {
		u.FullName = n
	}
	if f := str(body.FirstName); f != "" {
		u.FirstName = f
	}
	if l := str(body.LastName); l != "" {
		u.LastName = l
	}
	if b := str(body.BirthDate); b != "" {
		u.BirthDate = b
	}
	if p, ok := body.ProfileImage.(string); ok {
		u.ProfileImage = p
	}
	id.user, id.known = snapshot(u), true
	s.mu.Unlock()

	me := meDocument(id)
	if name := str(body.Username); name != "" {
		me = me.set("username", name)
	}
	writeJSON(w, http.StatusOK, me)
}
