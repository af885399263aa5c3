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

// Spec 3.6: the social-callback exchange.
func TestAuthCallback(t *testing.T) {
	s := start(t, Options{})
	_, rt, _ := s.IssuePair(AdminEmail, AcmeWorkspaceID)
	foreign := New(Options{})
	defer foreign.Close()
	_, unknownRT, _ := foreign.IssuePair(AdminEmail, "") // same secrets, record not here

	tests := []struct {
		name, query string
		status      int
		body        string
	}{
		{"rt missing", "", 401, ""},
		{"rt blank", "?rt=", 400, `{"error":"Refresh token is missing"}`},
		{"rt not a JWT", "?rt=nope", 401, `{"error":"Invalid refresh token"}`},
		{"unknown identifier", "?rt=" + unknownRT, 401, `{"errors":{"general":"Refresh token not valid"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/auth/callback"+tt.query, nil, nil).want(t, tt.status, tt.body)
		})
	}
	r := call(t, s, "POST", "/api/auth/callback?rt="+url.QueryEscape(rt), nil, nil)
	// The whole stored document, secrets included, as the real server
	// answers (controllers/auth-callback.ts).
	if r.status != 200 || !contains(r.body, `"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":""}}}`) ||
		!contains(r.body, `"password":"$2a$10$`) || !contains(r.body, `"salt":"$2a$10$`) || !contains(r.body, `"tokens":[{"kind":"cookie"`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tok := cookieValue(t, r)
	c := claims(t, tok)
	if c["exp"].(float64)-c["iat"].(float64) != 18000 {
		t.Errorf("callback cookie token lifetime = %v, want 300m", c["exp"].(float64)-c["iat"].(float64))
	}
	if !contains(r.header.Get("Set-Cookie"), "; Max-Age=2592000;") {
		t.Errorf("Set-Cookie = %s", r.header.Get("Set-Cookie"))
	}
	call(t, s, "POST", "/api/auth/callback?rt="+url.QueryEscape(rt), nil, nil).want(t, 401, `{"errors":{"general":"Refresh token not valid"}}`)
	call(t, s, "POST", "/api/token/refresh", bearer(rt), nil).want(t, 401, "")
}
