package qelostest

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

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

func TestGatewayBehaviour(t *testing.T) {
	s := start(t, Options{})
	r := call(t, s, "GET", "/api/v1/me", nil, nil) // transcript #4
	r.want(t, 404, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET /api/v1/me</pre>\n</body>\n</html>\n")
	if r.header.Get("X-API-Version") != "v1" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers = %v", r.header)
	}
	call(t, s, "PUT", "/api/me", nil, nil).want(t, 404, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot PUT /api/me</pre>\n</body>\n</html>\n")
	call(t, s, "GET", "/api/me", header("Accept-Version", "v2"), nil).want(t, 400, `{"message":"Unsupported API version: v2"}`) // #5
	call(t, s, "GET", "/api/me", header("Accept-Version", "v1"), nil).want(t, 401, bodyNotLoggedIn)
}

// The cookie Domain is the request host without its port.
func TestCookieDomain(t *testing.T) {
	s := NewHandler(Options{})
	defer s.Close()
	tests := []struct {
		host, tenanthost, want string
	}{
		{"localhost:3000", "", "Domain=localhost;"},
		{"app.example.com", "", "Domain=app.example.com;"},
		{"[::1]:9000", "", "Domain=::1;"},
		{"127.0.0.1:9000", "tenant.example.com", "Domain=tenant.example.com;"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/signin", strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123"}`))
			req.Host = tt.host
			req.Header.Set("Content-Type", "application/json")
			if tt.tenanthost != "" {
				req.Header.Set("tenanthost", tt.tenanthost)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if sc := rec.Header().Get("Set-Cookie"); !contains(sc, "; "+tt.want) {
				t.Fatalf("Set-Cookie = %s", sc)
			}
		})
	}
}

func TestURIComponent(t *testing.T) {
	tests := []struct{ in, enc string }{
		{"Acme Team", "Acme%20Team"},
		{"R&D/Ops?", "R%26D%2FOps%3F"},
		{"it's(ok)!~*.-_", "it's(ok)!~*.-_"},
		{"Zoë", "Zo%C3%AB"},
		{"100%", "100%25"},
	}
	for _, tt := range tests {
		if got := encodeIfNeeded(tt.in); got != tt.enc {
			t.Errorf("encodeIfNeeded(%q) = %q, want %q", tt.in, got, tt.enc)
		}
		if got := encodeIfNeeded(tt.enc); got != tt.enc {
			t.Errorf("encodeIfNeeded(%q) re-encoded to %q", tt.enc, got)
		}
		if got := decodeIfNeeded(tt.enc); got != tt.in {
			t.Errorf("decodeIfNeeded(%q) = %q", tt.enc, got)
		}
	}
	if got := decodeIfNeeded("%E0%A4%A"); got != "%E0%A4%A" {
		t.Errorf("malformed escape decoded to %q", got)
	}
}

// The request log never carries credentials.
func TestLoggerOmitsSecrets(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	s := start(t, Options{Logger: slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))})
	access, rt := oauthPair(t, s, AdminEmail, AdminPassword)
	call(t, s, "POST", "/api/auth/callback?rt="+rt, nil, nil)
	call(t, s, "GET", "/api/me", bearer(access), nil)
	s.InjectFault(EndpointMe, Fault{Status: 500})
	call(t, s, "GET", "/api/me", bearer(access), nil)
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if !contains(out, `endpoint="GET /api/me"`) || !contains(out, "status=200") || !contains(out, "qelostest fault") {
		t.Errorf("log lacks request records:\n%s", out)
	}
	for _, secret := range []string{access, rt, AdminPassword, "eyJ"} {
		if contains(out, secret) {
			t.Fatalf("log leaks %q:\n%s", secret[:min(len(secret), 12)], out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// NewHandler serves without listening; Close can be called twice.
func TestNewHandler(t *testing.T) {
	s := NewHandler(Options{})
	if s.URL != "" {
		t.Errorf("URL = %q", s.URL)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	res, err := http.Post(ts.URL+"/api/signin", "application/json", strings.NewReader(`{"username":"user@example.com","password":"User-Pass-123","authType":"oauth"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	s.Close()
	s.Close()
}

func TestOptionsDefaults(t *testing.T) {
	s := NewHandler(Options{})
	defer s.Close()
	if s.Secret() != "abcddddd" || s.RefreshSecret() != "a secret 2 phrase!!" || s.CookieName() != "qlt_0" {
		t.Errorf("defaults: %q %q %q", s.Secret(), s.RefreshSecret(), s.CookieName())
	}
	long := NewHandler(Options{Tenant: "64ab12cd34ef56ab78cd90ef", Users: []User{}, Workspaces: []Workspace{}})
	defer long.Close()
	if long.CookieName() != "qlt_64ab12cd" {
		t.Errorf("CookieName = %q", long.CookieName())
	}
	if _, _, err := long.IssuePair(AdminEmail, ""); err == nil {
		t.Error("empty Users still seeded the admin")
	}
}

func TestIssueErrors(t *testing.T) {
	s := NewHandler(Options{})
	defer s.Close()
	if _, _, err := s.IssuePair("nobody@example.com", ""); err == nil {
		t.Error("unknown user accepted")
	}
	if _, _, err := s.IssuePair(UserEmail, AcmeWorkspaceID); err == nil {
		t.Error("non-member workspace accepted")
	}
	if _, err := s.IssueAccessToken(AdminEmail, "nope", time.Hour); err == nil {
		t.Error("unknown workspace accepted")
	}
	if _, err := s.IssueCookie("nobody", ""); err == nil {
		t.Error("unknown user accepted")
	}
}
