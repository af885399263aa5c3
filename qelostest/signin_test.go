package qelostest

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Transcript 1: cookie mode is the default; body, cookie and claims match.
func TestSignInCookieMode(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now})
	r, _ := signIn(t, s, AdminEmail, AdminPassword, "")
	r.want(t, 200, `{"payload":{"user":{"username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","name":"Ada Admin","roles":["admin"]},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","roles":["admin","user"],"labels":[]}}}`)

	if got := r.header.Get("X-API-Version"); got != "v1" {
		t.Errorf("X-API-Version = %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	tok := cookieValue(t, r)
	wantCookie := "qlt_0=" + tok + "; Max-Age=2592000; Domain=127.0.0.1; Path=/api; Expires=Sun, 27 Dec 2026 02:40:01 GMT; HttpOnly; Secure; SameSite=None"
	if got := r.header.Get("Set-Cookie"); got != wantCookie {
		t.Errorf("Set-Cookie\n got %s\nwant %s", got, wantCookie)
	}

	wantKeys := []string{"workspace", "sub", "tenant", "username", "email", "firstName", "lastName", "roles", "tokenIdentifier", "iat", "exp"}
	if got := keyOrder(t, tok); !slices.Equal(got, wantKeys) {
		t.Errorf("claim order = %v, want %v", got, wantKeys)
	}
	payload := string(rawPayload(t, tok))
	const wantPrefix = `{"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme%20Team","roles":["admin","user"],"labels":[]},"sub":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","roles":["admin"],"tokenIdentifier":"1795747201995:`
	if !strings.HasPrefix(payload, wantPrefix) {
		t.Errorf("payload = %s", payload)
	}
	if !strings.HasSuffix(payload, `,"iat":1795747201,"exp":1798339201}`) {
		t.Errorf("payload = %s", payload)
	}
	if !regexp.MustCompile(`"tokenIdentifier":"1795747201995:(MC[A-Za-z0-9+/=]+)"`).MatchString(payload) {
		t.Errorf("tokenIdentifier format: %s", payload)
	}
}

// Transcripts 14 and 43: OAuth mode, with and without a workspace.
func TestSignInOAuthMode(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now})
	tests := []struct {
		name, email, password string
		wantRest              string // the body after "token" and "refreshToken"
		wantAccessKeys        []string
		wantRefreshWorkspace  string
	}{
		{
			name: "admin with workspace", email: AdminEmail, password: AdminPassword,
			wantRest:             `"user":{"username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","name":"Ada Admin","roles":["admin"]},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme Team","roles":["admin","user"],"labels":[]}}}`,
			wantAccessKeys:       []string{"workspace", "sub", "tenant", "username", "email", "firstName", "lastName", "roles", "iat", "exp"},
			wantRefreshWorkspace: AcmeWorkspaceID,
		},
		{
			name: "user without workspace", email: UserEmail, password: UserPassword,
			wantRest:       `"user":{"username":"user@example.com","email":"user@example.com","firstName":"Uma","lastName":"User","name":"Uma User","roles":["user"]}}}`,
			wantAccessKeys: []string{"sub", "tenant", "username", "email", "fullName", "firstName", "lastName", "roles", "iat", "exp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, p := signIn(t, s, tt.email, tt.password, "oauth")
			access, refresh := p["token"].(string), p["refreshToken"].(string)
			want := `{"payload":{"token":"` + access + `","refreshToken":"` + refresh + `",` + tt.wantRest
			r.want(t, 200, want)
			if r.header.Get("Set-Cookie") != "" {
				t.Error("OAuth sign-in set a cookie")
			}
			if got := keyOrder(t, access); !slices.Equal(got, tt.wantAccessKeys) {
				t.Errorf("access claims = %v, want %v", got, tt.wantAccessKeys)
			}
			c := claims(t, access)
			if c["exp"].(float64)-c["iat"].(float64) != 18000 {
				t.Errorf("access lifetime = %v", c["exp"].(float64)-c["iat"].(float64))
			}
			if tt.email == UserEmail && c["fullName"] != "Uma%20User" {
				t.Errorf("fullName claim = %v", c["fullName"])
			}
			wantRefreshKeys := []string{"sub", "tenant", "tokenIdentifier", "iat", "exp"}
			if tt.wantRefreshWorkspace != "" {
				wantRefreshKeys = []string{"sub", "tenant", "workspace", "tokenIdentifier", "iat", "exp"}
			}
			if got := keyOrder(t, refresh); !slices.Equal(got, wantRefreshKeys) {
				t.Errorf("refresh claims = %v, want %v", got, wantRefreshKeys)
			}
			rc := claims(t, refresh)
			if rc["exp"].(float64)-rc["iat"].(float64) != 2592000 {
				t.Errorf("refresh lifetime wrong: %v", rc)
			}
			if ws, _ := rc["workspace"].(string); ws != tt.wantRefreshWorkspace {
				t.Errorf("refresh workspace = %q", ws)
			}
		})
	}
}

// Transcripts 41, 42 and spec 3.6: sign-in refusals.
func TestSignInErrors(t *testing.T) {
	s := start(t, Options{})
	const (
		invalid = `{"errors":{"general":{"message":"Invalid username or password"}}}`
		empty   = `{"errors":{"password":{"code":"EMPTY_PASSWORD"}}}`
		missing = `{"errors":{"password":"password is incorrect"}}`
	)
	tests := []struct {
		name string
		body any
		want string
	}{
		{"wrong password", map[string]any{"username": AdminEmail, "password": "wrong"}, invalid},
		{"missing password", map[string]any{"username": AdminEmail}, empty},
		{"empty password", map[string]any{"username": AdminEmail, "password": ""}, empty},
		{"missing username", map[string]any{"password": "x"}, missing},
		{"unknown user", map[string]any{"username": "nobody@example.com", "password": "x"}, invalid},
		{"role filter excludes", map[string]any{"username": AdminEmail, "password": AdminPassword, "roles": []string{"user"}}, invalid},
		{"empty body", "", empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/signin", nil, tt.body).want(t, 401, tt.want)
		})
	}
	call(t, s, "POST", "/api/signin", nil, "{not json").want(t, 400, `{"message":"malformed JSON body"}`)
}

func TestSignInLoginVariants(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name string
		body map[string]any
	}{
		{"trimmed", map[string]any{"username": "  admin@example.com ", "password": AdminPassword}},
		{"blank username falls back to email", map[string]any{"username": "  ", "email": AdminEmail, "password": AdminPassword}},
		{"role filter matches", map[string]any{"username": AdminEmail, "password": AdminPassword, "roles": []string{"user", "admin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := call(t, s, "POST", "/api/signin", nil, tt.body); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

// The workspace preference wins when the user is a member, and is then
// remembered as the last-login workspace.
func TestSignInWorkspacePick(t *testing.T) {
	s := start(t, Options{})
	body := map[string]any{"username": AdminEmail, "password": AdminPassword, "authType": "oauth"}

	body["workspace"] = BetaWorkspaceID
	r := call(t, s, "POST", "/api/signin", nil, body)
	if !strings.HasSuffix(r.body, `"workspace":{"_id":"6b08ed31a15f3cecd2836599","name":"Beta Lab","roles":["user"],"labels":[]}}}`) {
		t.Fatalf("preferred workspace not picked: %s", r.body)
	}
	delete(body, "workspace")
	r = call(t, s, "POST", "/api/signin", nil, body)
	if !strings.Contains(r.body, `"_id":"6b08ed31a15f3cecd2836599"`) {
		t.Fatalf("last-login workspace not picked: %s", r.body)
	}
	body["workspace"] = "000000000000000000000000" // not a member: no workspace at all, as on Qelos
	r = call(t, s, "POST", "/api/signin", nil, body)
	if strings.Contains(r.body, `"workspace"`) {
		t.Fatalf("a non-member preference still gave a workspace: %s", r.body)
	}
}

// An invalid authType hangs like the real server until the client gives up.
func TestSignInInvalidAuthTypeHangs(t *testing.T) {
	s := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/signin",
		strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123","authType":"jwt"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("got an answer: %d", res.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if n := s.Calls(EndpointSignIn); n != 1 {
		t.Errorf("Calls = %d", n)
	}
}

// Close releases a request that hangs.
func TestCloseReleasesHangingRequest(t *testing.T) {
	s := New(Options{})
	errc := make(chan error, 1)
	go func() {
		res, err := http.Post(s.URL+"/api/signin", "application/json",
			strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123","authType":"x"}`))
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	for s.Calls(EndpointSignIn) == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	if err := <-errc; err == nil {
		t.Fatal("hanging request got an answer")
	}
}
