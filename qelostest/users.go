package qelostest

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// handleUsers serves GET /api/users to tenant-privileged callers (401
// {"message":"you are not privileged."} for others): the tenant's users,
// filtered by the query parameters username (a case-insensitive pattern),
// roles and _id (comma-separated lists), or only the users whose ids are
// listed in users. The "select" parameter is not supported.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, id *identity) {
	q := r.URL.Query()
	var keep func(*userRecord) bool
	if q.Has("users") {
		var ids []string
		for _, v := range strings.Split(q.Get("users"), ",") {
			if v = strings.TrimSpace(v); isObjectID(v) {
				ids = append(ids, v)
			}
		}
		w.Header().Set("X-Tenant", id.tenant.id)
		keep = func(u *userRecord) bool { return slices.Contains(ids, u.ID) }
	} else {
		var re *regexp.Regexp
		if name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(q.Get("username"))), " ", "+"); name != "" {
			var err error
			if re, err = regexp.Compile("(?i)" + name); err != nil {
				writeJSON(w, http.StatusOK, []any{})
				return
			}
		}
		var roles, ids []string
		if q.Has("roles") {
			for _, v := range strings.Split(q.Get("roles"), ",") {
				roles = append(roles, strings.TrimSpace(v))
			}
		}
		if q.Has("_id") {
			for _, v := range strings.Split(q.Get("_id"), ",") {
				if v = strings.TrimSpace(v); !isObjectID(v) {
					writeJSON(w, http.StatusOK, []any{}) // the ObjectId cast throws
					return
				}
				ids = append(ids, v)
			}
		}
		keep = func(u *userRecord) bool {
			return (re == nil || re.MatchString(u.Username)) &&
				(roles == nil || hasAnyRole(u.Roles, roles)) &&
				(ids == nil || slices.Contains(ids, u.ID))
		}
	}
	s.mu.Lock()
	list := []object{}
	for _, u := range id.tenant.users {
		if keep(u) {
			list = append(list, userListEntry(u))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}
