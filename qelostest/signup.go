package qelostest

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z]+([\-\s]?[a-zA-Z]+)*$`)
	emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
)

// handleSignUp serves POST /api/signup. Like the real server it answers
// 200 for every failure: {"errors":{field:{"code":…}}} for invalid fields
// (email, firstName and password are required) and
// {"errors":{"":"FORM_SUBMISSION_FAILED"}} for a taken username or an
// unknown authType. Without a username it answers {"payload":{}} and
// creates no user. The new user gets role "user", no workspace, the
// username trimmed and lower-cased, and the email derived from it (the
// username when it holds an "@", else username + "@null"; the body's email
// is only validated), fullName from "fullName", else "name", else
// "firstName lastName", and birthDate as sent (Qelos stores it as a date). The token minted at sign-up carries no email claim
// (as on the real server).
func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if !readJSON(w, r, &body) {
		return
	}
	errs := object{}
	if e, ok := body.Email.(string); !ok || !emailRE.MatchString(strings.TrimSpace(e)) {
		errs = errs.add("email", object{{"code", "INVALID_EMAIL"}})
	}
	if f, ok := body.FirstName.(string); !ok || !nameRE.MatchString(strings.TrimSpace(f)) {
		errs = errs.add("firstName", object{{"code", "INVALID_NAME"}})
	}
	if p, ok := body.Password.(string); !ok || len(strings.TrimSpace(p)) < 8 {
		errs = errs.add("password", object{{"code", "INVALID_PASSWORD"}})
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusOK, object{{"errors", errs}})
		return
	}
	rawUsername := str(body.Username)
	if rawUsername == "" {
		// passport-local fails before Qelos's callback runs, and Qelos
		// answers the empty outcome as a payload.
		writeJSON(w, http.StatusOK, object{{"payload", object{}}})
		return
	}
	failed := object{{"errors", object{{"", "FORM_SUBMISSION_FAILED"}}}}
	mode, ok := authType(body.AuthType)
	if !ok {
		writeJSON(w, http.StatusOK, failed) // setToken throws before saving
		return
	}
	username := strings.ToLower(strings.TrimSpace(rawUsername))
	if username == "" {
		username = strings.ToLower(strings.TrimSpace(str(body.Email)))
	}
	email := username
	if !strings.Contains(email, "@") {
		email += "@null"
	}
	firstName := str(body.FirstName)
	fullName := str(body.FullName)
	if fullName == "" {
		fullName = str(body.Name)
	}
	if fullName == "" {
		fullName = jsString(body.FirstName) + " " + jsString(body.LastName)
	}

	t := s.requestTenant(r)
	s.mu.Lock()
	if slices.ContainsFunc(t.users, func(u *userRecord) bool { return u.Username == username }) {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, failed)
		return
	}
	u := &userRecord{
		User: User{
			ID:        s.newObjectID(),
			Username:  username,
			Email:     email,
			Password:  strings.TrimSpace(str(body.Password)),
			FirstName: firstName,
			LastName:  str(body.LastName),
			FullName:  fullName,
			BirthDate: str(body.BirthDate),
			Roles:     []string{"user"},
			Metadata:  map[string]any{},
		},
		tenant:    t.id,
		created:   s.now(),
		lastLogin: s.now(),
	}
	t.users = append(t.users, u)
	payload, err := s.startSession(w, r, u, mode, nil, "", claimOptions{noEmail: true}, signUpUser(u))
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusOK, failed)
		return
	}
	writeJSON(w, http.StatusOK, object{{"payload", payload}})
}

// jsString renders v the way a JavaScript template literal would for the
// values a JSON body holds.
func jsString(v any) string {
	switch v := v.(type) {
	case nil:
		return "undefined"
	case string:
		return v
	case bool, float64:
		b, _ := marshal(v)
		return string(b)
	}
	return "[object Object]"
}
