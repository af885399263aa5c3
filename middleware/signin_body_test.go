package middleware_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestConfigFromEnvCookieKeysNeverPanic: ConfigFromEnv reports a missing,
// blank or malformed QELOS_COOKIE_KEYS with the fix, so a Config read
// without error always has a first key to hand redisstore
// (cfg.CookieKeys[0].Hash cannot panic).
func TestConfigFromEnvCookieKeysNeverPanic(t *testing.T) {
	tests := []struct {
		name    string
		keys    string
		wantErr string
	}{
		{"unset", "", "go run github.com/qelos-io/integrator-go/cmd/qelos-keys"},
		{"blank", "  ", "QELOS_COOKIE_KEYS is required"},
		{"not base64", "!!", "QELOS_COOKIE_KEYS: cookie key set 1"},
		{"too short", "c2hvcnQ=", "use 32 or 64 random bytes"},
		{"valid", middleware.GenerateCookieKey().String(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := middleware.ConfigFromLookup(func(k string) string {
				return map[string]string{"QELOS_APP_URL": "https://q.example", "QELOS_COOKIE_KEYS": tt.keys}[k]
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.CookieKeys[0].Hash) < 32 { // the README's redisstore secret
				t.Fatalf("first key %d bytes", len(cfg.CookieKeys[0].Hash))
			}
		})
	}
}

// TestSignInWithoutContentType: a JSON body sent without a Content-Type
// (or as text/plain) signs in; a body the handler cannot read is answered
// with what is wrong with it, not "username and password are required".
func TestSignInWithoutContentType(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	good := `{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"}`
	tests := []struct {
		name, contentType, body string
		wantStatus              int
		wantMessage             string
	}{
		{"JSON without Content-Type", "", good, 200, ""},
		{"JSON after blanks without Content-Type", "", "\n  " + good, 200, ""},
		{"JSON as text/plain", "text/plain;charset=UTF-8", good, 200, ""},
		{"JSON with a +json type", "application/vnd.app+json", good, 200, ""},
		{"form without Content-Type", "", "username=" + qelostest.AdminEmail + "&password=" + qelostest.AdminPassword, 200, ""},
		{"JSON declared as a form", "application/x-www-form-urlencoded", good, 400, "send Content-Type: application/json"},
		{"empty body", "", "", 400, "the body held no fields"},
		{"wrong field names", "application/json", `{"user":"a","pass":"b"}`, 400, "username and password are required"},
		{"no password", "application/json", `{"username":"a"}`, 400, "password is required"},
		{"XML", "application/xml", "<x/>", 400, "unsupported Content-Type application/xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/auth/signin", strings.NewReader(tt.body), tt.contentType)
			if r.status != tt.wantStatus || !strings.Contains(string(r.body), tt.wantMessage) {
				t.Fatalf("%d %s, want %d with %q", r.status, r.body, tt.wantStatus, tt.wantMessage)
			}
			if tt.wantStatus == 200 && r.whoami(t).User == nil {
				t.Fatalf("no user in %s", r.body)
			}
		})
	}
}

// TestSignInForwardsWorkspaceAndRoles: the sign-in fields Qelos reads to
// choose the workspace and to admit only some roles reach it: asked for
// Beta, the session is in Beta.
func TestSignInForwardsWorkspaceAndRoles(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	admin := func(extra string) string {
		return `{"username":"` + qelostest.AdminEmail + `","password":"` + qelostest.AdminPassword + `"` + extra + `}`
	}
	adminForm := "username=" + qelostest.AdminEmail + "&password=" + qelostest.AdminPassword
	tests := []struct {
		name, contentType, body string
		wantStatus              int
		wantWorkspace           string
	}{
		{"no preference: Qelos's first pick", "application/json", admin(""), 200, qelostest.AcmeWorkspaceID},
		{"workspace Beta", "application/json", admin(`,"workspace":"` + qelostest.BetaWorkspaceID + `"`), 200, qelostest.BetaWorkspaceID},
		{"workspace Beta from a form", "application/x-www-form-urlencoded", adminForm + "&workspace=" + qelostest.BetaWorkspaceID, 200, qelostest.BetaWorkspaceID},
		{"a role the user holds", "application/json", admin(`,"roles":["admin"]`), 200, ""},
		{"roles as a repeated form field", "application/x-www-form-urlencoded", adminForm + "&roles=editor&roles=admin", 200, ""},
		{"roles[] form field", "application/x-www-form-urlencoded", adminForm + "&roles[]=admin", 200, ""},
		{"only roles the user lacks", "application/json", admin(`,"roles":["editor"]`), 401, ""},
		{"roles not strings", "application/json", admin(`,"roles":[1]`), 400, ""},
		{"a workspace id with control characters", "application/json", admin(`,"workspace":"a\u0000b"`), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/auth/signin", strings.NewReader(tt.body), tt.contentType)
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			w := h.get("/whoami", h.sessionCookies(r)...).whoami(t)
			if w.User == nil {
				t.Fatalf("not signed in: %s", r.body)
			}
			if tt.wantWorkspace != "" && (w.Workspace == nil || w.Workspace.ID != tt.wantWorkspace) {
				t.Fatalf("workspace %+v, want %s", w.Workspace, tt.wantWorkspace)
			}
		})
	}
}

// TestSignUpForwardsEveryQelosField: fullName (or name) and birthDate
// reach Qelos, which reports them from /api/me; a birthDate that is no
// date is refused before Qelos is asked.
func TestSignUpForwardsEveryQelosField(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	tests := []struct {
		name, body                  string
		wantStatus                  int
		wantFullName, wantBirthDate string
	}{
		{"fullName and birthDate", `{"username":"ada@example.com","password":"Passw0rd-long","firstName":"Ada","lastName":"Lovelace","fullName":"Augusta Ada King","birthDate":"1815-12-10"}`, 200, "Augusta Ada King", "1815-12-10"},
		{"name stands for fullName", `{"username":"bob@example.com","password":"Passw0rd-long","firstName":"Bob","lastName":"B","name":"Robert B"}`, 200, "Robert B", ""},
		{"Qelos's default fullName", `{"username":"cy@example.com","password":"Passw0rd-long","firstName":"Cy","lastName":"C"}`, 200, "Cy C", ""},
		{"a birthDate that is no date", `{"username":"dee@example.com","password":"Passw0rd-long","firstName":"Dee","birthDate":"yesterday"}`, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.qelos.Calls(qelostest.EndpointSignUp)
			r := h.do(http.MethodPost, "/auth/signup", strings.NewReader(tt.body), "application/json")
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if n := h.qelos.Calls(qelostest.EndpointSignUp) - before; n != 0 {
					t.Fatalf("%d sign-up calls reached Qelos", n)
				}
				return
			}
			access, _ := h.tokens(r.cookies)
			req, _ := http.NewRequest(http.MethodGet, h.qelos.URL+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			me := h.send(req)
			var got struct{ FullName, BirthDate string }
			if err := json.Unmarshal(me.body, &got); err != nil || me.status != 200 {
				t.Fatalf("/api/me %d %s", me.status, me.body)
			}
			if got.FullName != tt.wantFullName || got.BirthDate != tt.wantBirthDate {
				t.Fatalf("fullName %q birthDate %q, want %q %q", got.FullName, got.BirthDate, tt.wantFullName, tt.wantBirthDate)
			}
		})
	}
}
