package qelostest

import "net/http"

// handleMe serves GET /api/me: the caller as Qelos's buildMeResponse
// shows it (see meDocument).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	id := s.requireUser(w, r)
	if id == nil {
		return
	}
	writeJSON(w, http.StatusOK, meDocument(id))
}
