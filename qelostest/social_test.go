package qelostest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hop sends GET url without following redirects and returns the answer
// and its Location.
func hop(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp, resp.Header.Get("Location")
}

// TestSocialSignInRunsEndToEnd: the social start routes of Qelos
// (GET /api/auth/{provider}, its callback) with the server's stand-in
// provider: with a returnUrl the flow ends at returnUrl?rt=…&state=…,
// and the rt exchanges for a session at POST /api/auth/callback; without
// one it sets a session cookie and lands on "/".
func TestSocialSignInRunsEndToEnd(t *testing.T) {
	s := New(Options{})
	t.Cleanup(s.Close)
	for _, p := range socialProviders {
		t.Run(p+" with a returnUrl", func(t *testing.T) {
			resp, loc := hop(t, s.URL+"/api/auth/"+p+"?state=xyz&returnUrl=/auth/callback&login_hint="+url.QueryEscape(AdminEmail))
			if resp.StatusCode != 302 || !strings.Contains(loc, ProviderPath+"/"+p+"/authorize?") {
				t.Fatalf("start: %d %s", resp.StatusCode, loc)
			}
			resp, loc = hop(t, loc)
			if resp.StatusCode != 302 || !strings.Contains(loc, "/api/auth/"+p+"/callback?") || !strings.Contains(loc, "code=") {
				t.Fatalf("provider: %d %s", resp.StatusCode, loc)
			}
			resp, loc = hop(t, loc)
			back, err := url.Parse(loc)
			if resp.StatusCode != 302 || err != nil || back.Path != "/auth/callback" || back.Query().Get("state") != "xyz" || back.Query().Get("rt") == "" {
				t.Fatalf("callback: %d %s", resp.StatusCode, loc)
			}
			r := call(t, s, "POST", "/api/auth/callback?rt="+url.QueryEscape(back.Query().Get("rt")), nil, nil)
			if r.status != 200 || !strings.Contains(r.body, AdminEmail) || !strings.Contains(r.header.Get("Set-Cookie"), "qlt_0=") {
				t.Fatalf("exchange: %d %s", r.status, r.body)
			}
		})
	}
	t.Run("without a returnUrl: a session cookie and /", func(t *testing.T) {
		_, loc := hop(t, s.URL+"/api/auth/github?login_hint=new.social@example.com")
		_, loc = hop(t, loc)
		resp, loc := hop(t, loc)
		if resp.StatusCode != 302 || loc != "/" || !strings.Contains(resp.Header.Get("Set-Cookie"), "qlt_0=") {
			t.Fatalf("callback: %d %s %s", resp.StatusCode, loc, resp.Header.Get("Set-Cookie"))
		}
		s.mu.Lock()
		u := s.userByLogin("new.social@example.com")
		s.mu.Unlock()
		if u == nil || len(u.Roles) != 1 || u.Roles[0] != "user" {
			t.Fatalf("the social user was not registered with role user: %+v", u)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			path   string
			status int
			body   string
		}{
			{"/api/auth/twitter", 404, ""},
			{"/api/auth/google/callback", 400, `{"message":"Invalid authorization code"}`},
			{"/api/auth/google/callback?code=made-up", 400, `{"message":"Failed to get access token"}`},
			{"/api/auth/google?returnUrl=//evil.example/x", 302, ""},
		} {
			r := call(t, s, "GET", tt.path, nil, nil)
			if tt.status == 302 {
				continue // followed by the client: checked below
			}
			if r.status != tt.status || (tt.body != "" && r.body != tt.body) {
				t.Errorf("%s: %d %s, want %d %s", tt.path, r.status, r.body, tt.status, tt.body)
			}
		}
		// An unsafe returnUrl ends as a cookie session on "/", not a redirect off-site.
		_, loc := hop(t, s.URL+"/api/auth/google?returnUrl=//evil.example/x")
		_, loc = hop(t, loc)
		if _, loc = hop(t, loc); loc != "/" {
			t.Fatalf("unsafe returnUrl: redirected to %s", loc)
		}
	})
}

// TestRolesAndInvites: GET /api/roles lists the tenant's roles to
// privileged callers only; a workspace invite by email is listed by
// GET /api/invites and accepted by POST /api/invites.
func TestRolesAndInvites(t *testing.T) {
	s := New(Options{})
	t.Cleanup(s.Close)
	admin, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	user, _ := oauthPair(t, s, UserEmail, UserPassword)
	call(t, s, "GET", "/api/roles", bearer(admin), nil).want(t, 200, `["admin","user"]`)
	call(t, s, "GET", "/api/roles", bearer(user), nil).want(t, 401, `{"message":"you are not privileged."}`)
	call(t, s, "GET", "/api/roles", nil, nil).want(t, 401, `{"message":"you are not authorized. must be logged in."}`)

	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[]`)
	r := call(t, s, "PUT", "/api/workspaces/"+BetaWorkspaceID, bearer(admin), map[string]any{"invites": []any{map[string]any{"email": UserEmail}}})
	if r.status != 200 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[{"_id":"`+BetaWorkspaceID+`","name":"Beta Lab"}]`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{}).want(t, 400, `{"message":"missing workspaceId"}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": BetaWorkspaceID, "kind": "maybe"}).
		want(t, 400, `{"message":"respond kind should be either \"accept\" or \"decline\""}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": AcmeWorkspaceID, "kind": "accept"}).
		want(t, 404, `{"message":"workspace not found","email":"`+UserEmail+`","workspaceId":"`+AcmeWorkspaceID+`"}`)
	call(t, s, "POST", "/api/invites", bearer(user), map[string]any{"workspace": BetaWorkspaceID, "kind": "accept"}).want(t, 200, `{"success":true}`)
	call(t, s, "GET", "/api/invites", bearer(user), nil).want(t, 200, `[]`)
	if r := call(t, s, "GET", "/api/workspaces", bearer(user), nil); r.status != 200 || !strings.Contains(r.body, `"roles":["user"]`) || !strings.Contains(r.body, BetaWorkspaceID) {
		t.Fatalf("after accepting: %d %s", r.status, r.body)
	}
}
