package account

import (
	"cmp"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
)

// SignUp is Middleware.SignUpHandler, whose documentation states what it
// takes and how Qelos's refusals are mapped.
func (h *Handlers) SignUp() http.Handler {
	return h.sessionForm(func(w http.ResponseWriter, r *http.Request, in input) {
		email := strings.TrimSpace(in.get("email"))
		username := cmp.Or(strings.TrimSpace(in.get("username")), email)
		if email == "" && strings.Contains(username, "@") {
			email = username
		}
		body := map[string]string{
			"username":  username,
			"email":     email,
			"password":  in.get("password"),
			"firstName": strings.TrimSpace(in.get("firstName")),
			"lastName":  strings.TrimSpace(in.get("lastName")),
			"fullName":  strings.TrimSpace(in.get("fullName")),
			"birthDate": strings.TrimSpace(in.get("birthDate")),
			"authType":  "oauth",
		}
		if body["fullName"] == "" {
			body["fullName"] = strings.TrimSpace(in.get("name"))
		}
		if bad := signUpOptional(body); len(bad) > 0 {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "birthDate must be a date such as 1990-04-23", Fields: bad})
			return
		}
		if username == "" || body["password"] == "" {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "username and password are required",
				Fields: missing(map[string]string{"username": username, "password": body["password"]})})
			return
		}
		if bad := controlChars(body, "username", "email", "firstName", "lastName", "fullName"); len(bad) > 0 {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "names must not hold control, format or line-separator characters", Fields: bad})
			return
		}
		resp, err := h.core.Call(r.Context(), http.MethodPost, "/api/signup", body, "")
		if err != nil || resp.Status >= 500 || (resp.Status != http.StatusOK && resp.Status != http.StatusCreated) {
			h.core.Logger().Warn("qelos sign-up: Qelos unavailable", "err", err)
			h.core.Fail(w, r, unavailableError())
			return
		}
		if fields, ok := wire.SignUpErrors(resp.Body); ok {
			h.refuseSignUp(w, r, fields)
			return
		}
		h.finishSignIn(w, r, in, resp.Body, email)
	})
}

// refuseSignUp answers Qelos's refusal of a sign-up form, fields mapping
// each field to Qelos's code: 409 when the username is taken, else 400
// with the fields.
func (h *Handlers) refuseSignUp(w http.ResponseWriter, r *http.Request, fields map[string]string) {
	out := make(map[string]string, len(fields))
	for field, code := range fields {
		if code == "FORM_SUBMISSION_FAILED" || strings.HasPrefix(code, "DUPLICATED") {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusConflict, Code: qelos.CodeAlreadyExists, Message: "an account with this username already exists"})
			return
		}
		if field == "" {
			field = "general"
		}
		out[field] = code
	}
	h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "Qelos refused the sign-up form", Fields: out})
}

// controlChars returns the named fields holding invalid UTF-8 or a
// character that is not text, each mapped to "INVALID_CHARACTERS": see
// invisibleRune.
func controlChars(body map[string]string, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		v := body[n]
		if !utf8.ValidString(v) || strings.IndexFunc(v, invisibleRune) >= 0 {
			out[n] = "INVALID_CHARACTERS"
		}
	}
	return out
}

// invisibleRune reports whether r has no place in a name: a control
// character (Cc: NUL, CR, LF, NEL…), a format character (Cf: bidi
// overrides such as U+202E, zero-width joiners and spaces, the BOM, soft
// hyphens), a line or paragraph separator (Zl, Zp: U+2028, U+2029, which
// end a line in JavaScript and in log viewers), a private-use or surrogate
// code point, or a noncharacter (U+FFFE, U+FFFF and the like). They break
// log lines, spoof what a name looks like, or hide in it.
func invisibleRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
		r&0xFFFE == 0xFFFE || 0xFDD0 <= r && r <= 0xFDEF
}

func missing(fields map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range fields {
		if v == "" {
			out[k] = "REQUIRED"
		}
	}
	return out
}

// signUpOptional checks the optional sign-up fields and drops the empty
// ones, so Qelos applies its own defaults; it returns the invalid ones.
func signUpOptional(body map[string]string) map[string]string {
	bad := map[string]string{}
	for _, k := range []string{"fullName", "birthDate"} {
		if body[k] == "" {
			delete(body, k)
		}
	}
	if b, ok := body["birthDate"]; ok && !validDate(b) {
		bad["birthDate"] = "INVALID_DATE"
	}
	return bad
}

// validDate reports whether s is a date ("2006-01-02") or an RFC 3339 time.
func validDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
