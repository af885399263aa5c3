// Package wire holds Qelos's JSON documents as its API sends them: the
// shapes the middleware reads from Qelos's answers, kept out of the public
// API (as x/oauth2 keeps internal/token.go). Each document is read here,
// in one place.
package wire

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/jsuri"
)

// ErrorMessage returns the "message" of a Qelos error answer, else its
// "error", else "".
func ErrorMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	if m.Message != "" {
		return m.Message
	}
	return m.Error
}

// APIError is Qelos's answer of a status other than 2xx, with the message
// it gave (see ErrorMessage).
func APIError(status int, body []byte) *qelos.APIError {
	return &qelos.APIError{Status: status, Body: body, Message: ErrorMessage(body)}
}

// NormalizeUser makes a user document as GET /api/me sends it what the
// library hands out: names decoded (see DecodeName), Roles never nil, and
// a workspace without an id dropped.
func NormalizeUser(u *qelos.User) {
	u.Name, u.FirstName, u.LastName, u.FullName = DecodeName(u.Name), DecodeName(u.FirstName), DecodeName(u.LastName), DecodeName(u.FullName)
	if u.Roles == nil {
		u.Roles = []string{}
	}
	if u.Workspace != nil {
		if u.Workspace.ID == "" {
			u.Workspace = nil
		} else {
			u.Workspace.Name = DecodeName(u.Workspace.Name)
		}
	}
}

// WorkspaceList is GET /api/workspaces: the caller's workspaces, each with
// the roles the caller holds there (the one member Qelos lists) and its
// name decoded (see DecodeName).
type WorkspaceList []qelos.Workspace

// UnmarshalJSON reads Qelos's list.
func (l *WorkspaceList) UnmarshalJSON(body []byte) error {
	var raw []struct {
		ID      string   `json:"_id"`
		Name    string   `json:"name"`
		Labels  []string `json:"labels"`
		Members []struct {
			Roles []string `json:"roles"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return err
	}
	list := make(WorkspaceList, 0, len(raw))
	for _, w := range raw {
		ws := qelos.Workspace{ID: w.ID, Name: DecodeName(w.Name), Labels: w.Labels}
		if len(w.Members) > 0 {
			ws.Roles = w.Members[0].Roles
		}
		list = append(list, ws)
	}
	*l = list
	return nil
}

// SignedIn is the answer of POST /api/signin (and /api/signup) in OAuth
// mode: the token pair and the workspace Qelos chose.
type SignedIn struct {
	Token        string
	RefreshToken string
	Workspace    *qelos.Workspace
}

// ReadSignedIn reads a sign-in answer; it is an error when the answer holds
// no token pair (Qelos not in OAuth mode).
func ReadSignedIn(body []byte) (SignedIn, error) {
	var answer struct {
		Payload struct {
			Token        string           `json:"token"`
			RefreshToken string           `json:"refreshToken"`
			Workspace    *qelos.Workspace `json:"workspace"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return SignedIn{}, errors.New("sign-in answer is not JSON")
	}
	p := answer.Payload
	if p.Token == "" || p.RefreshToken == "" {
		return SignedIn{}, errors.New("sign-in answer has no token pair (is Qelos in OAuth mode?)")
	}
	return SignedIn{Token: p.Token, RefreshToken: p.RefreshToken, Workspace: p.Workspace}, nil
}

// SignUpErrors reads the "errors" object of a refused sign-up, each field
// mapped to its code; Qelos writes one as {"field":{"code":"X"}} (or only a
// "message"), or {"field":"X"}. ok is false when the answer has none.
func SignUpErrors(body []byte) (fields map[string]string, ok bool) {
	var answer struct {
		Errors map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &answer) != nil || len(answer.Errors) == 0 {
		return nil, false
	}
	fields = make(map[string]string, len(answer.Errors))
	for field, raw := range answer.Errors {
		var code string
		var obj struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(raw, &code) == nil:
		case json.Unmarshal(raw, &obj) == nil:
			code = obj.Code
			if code == "" {
				code = obj.Message
			}
		}
		fields[field] = code
	}
	return fields, true
}

// DecodeName undoes Qelos's encodeIfNeeded on name fields, by the SDK's
// rule: decode only when encoding the decoded value gives the input back, so
// a literal "100%" or "a b" is left alone.
func DecodeName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	d, ok := jsuri.Decode(s)
	if !ok || jsuri.Encode(d) != s {
		return s
	}
	return d
}
