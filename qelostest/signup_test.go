package qelostest

import (
	"slices"
	"testing"
)

// Transcripts 46–48: sign-up answers 200 for everything.
func TestSignUp(t *testing.T) {
	s := start(t, Options{})
	body := map[string]any{"username": "new@example.com", "email": "new@example.com", "password": "New-Pass-123", "firstName": "Nia", "lastName": "New", "authType": "oauth"}

	// transcript 46: OAuth sign-up.
	r := call(t, s, "POST", "/api/signup", nil, body)
	_, p := signInPayload(t, r)
	access := p["token"].(string)
	r.want(t, 200, `{"payload":{"token":"`+access+`","refreshToken":"`+p["refreshToken"].(string)+`","user":{"username":"new@example.com","email":"new@example.com","name":"Nia New","fullName":"Nia New","firstName":"Nia","lastName":"New","roles":["user"]}}}`)
	if got := keyOrder(t, access); !slices.Equal(got, []string{"sub", "tenant", "username", "fullName", "firstName", "lastName", "roles", "iat", "exp"}) {
		t.Errorf("sign-up access claims = %v (no email, as on the real server)", got)
	}
	if c := claims(t, access); c["fullName"] != "Nia%20New" {
		t.Errorf("fullName = %v", c["fullName"])
	}

	// The new user can sign in.
	signIn(t, s, "new@example.com", "New-Pass-123", "oauth")

	// transcript 47: duplicate.
	delete(body, "authType")
	call(t, s, "POST", "/api/signup", nil, body).want(t, 200, `{"errors":{"":"FORM_SUBMISSION_FAILED"}}`)

	// transcript 48: invalid fields.
	call(t, s, "POST", "/api/signup", nil, map[string]any{"username": "x", "email": "not-an-email", "password": "short", "firstName": "N1"}).
		want(t, 200, `{"errors":{"email":{"code":"INVALID_EMAIL"},"firstName":{"code":"INVALID_NAME"},"password":{"code":"INVALID_PASSWORD"}}}`)

	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{"password 8 after trim", map[string]any{"username": "a@example.com", "email": "a@example.com", "password": "  1234567  ", "firstName": "Al"}, `{"errors":{"password":{"code":"INVALID_PASSWORD"}}}`},
		{"missing first name", map[string]any{"username": "a@example.com", "email": "a@example.com", "password": "12345678"}, `{"errors":{"firstName":{"code":"INVALID_NAME"}}}`},
		{"double space in name", map[string]any{"username": "a@example.com", "email": "a@example.com", "password": "12345678", "firstName": "Mary  Ann"}, `{"errors":{"firstName":{"code":"INVALID_NAME"}}}`},
		{"no username", map[string]any{"email": "a@example.com", "password": "12345678", "firstName": "Al"}, `{"payload":{}}`},
		{"duplicate of seeded email", map[string]any{"username": AdminEmail, "email": AdminEmail, "password": "12345678", "firstName": "Al"}, `{"errors":{"":"FORM_SUBMISSION_FAILED"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/signup", nil, tt.body).want(t, 200, tt.want)
		})
	}
}

// Cookie-mode sign-up sets the session cookie and gives no workspace.
func TestSignUpCookieMode(t *testing.T) {
	s := start(t, Options{})
	r := call(t, s, "POST", "/api/signup", nil, map[string]any{"username": "c@example.com", "email": "c@example.com", "password": "12345678", "firstName": "Mary-Ann", "lastName": "Lee"})
	r.want(t, 200, `{"payload":{"user":{"username":"c@example.com","email":"c@example.com","name":"Mary-Ann Lee","fullName":"Mary-Ann Lee","firstName":"Mary-Ann","lastName":"Lee","roles":["user"]}}}`)
	tok := cookieValue(t, r)
	call(t, s, "GET", "/api/me", cookie(tok), nil).want(t, 200, `{"_id":"`+claims(t, tok)["sub"].(string)+`","tenant":"0","username":"c@example.com","name":"Mary-Ann Lee","firstName":"Mary-Ann","lastName":"Lee","fullName":"Mary-Ann Lee","roles":["user"],"metadata":{}}`)
	call(t, s, "GET", "/api/workspaces", cookie(tok), nil).want(t, 200, `[]`)
}
