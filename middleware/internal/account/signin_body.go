package account

import (
	"errors"
	"strings"
	"unicode"
)

// signInBody is the body of Qelos's POST /api/signin for the fields of
// in: the credentials, OAuth mode, and the optional "workspace" (an id)
// and "roles" (a list) Qelos reads to choose the workspace and to admit
// only users holding one of the roles.
func signInBody(in input, username, password string) (map[string]any, error) {
	body := map[string]any{"username": username, "password": password, "authType": "oauth"}
	if ws := strings.TrimSpace(in.get("workspace")); ws != "" {
		if len(ws) > maxFieldLength || strings.IndexFunc(ws, unicode.IsControl) >= 0 {
			return nil, errors.New("workspace must be a workspace id")
		}
		body["workspace"] = ws
	}
	if roles := in.list("roles"); len(roles) > 0 {
		for _, r := range roles {
			if r == "" || len(r) > maxFieldLength || strings.IndexFunc(r, unicode.IsControl) >= 0 {
				return nil, errors.New("roles must be a list of role names")
			}
		}
		body["roles"] = roles
	}
	return body, nil
}

// missingCredentials names what a sign-in body lacks, and what was sent
// instead when that explains it (a JSON body under a form Content-Type is
// refused before this; a body with other field names is not).
func missingCredentials(in input, username, password string) string {
	if len(in.fields) == 0 && len(in.lists) == 0 {
		return `username and password are required: the body held no fields; send JSON {"username":…,"password":…} or a form`
	}
	switch {
	case username == "" && password == "":
		return "username and password are required"
	case username == "":
		return `username is required (or "email")`
	default:
		return "password is required"
	}
}
