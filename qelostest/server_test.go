package qelostest

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestGatewayBehaviour(t *testing.T) {
	s := start(t, Options{})
	r := call(t, s, "GET", "/api/v1/me", nil, nil) // transcript 4
	r.want(t, 404, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET /api/v1/me</pre>\n</body>\n</html>\n")
	if r.header.Get("X-API-Version") != "v1" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers = %v", r.header)
	}
	call(t, s, "PUT", "/api/me", nil, nil).want(t, 404, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot PUT /api/me</pre>\n</body>\n</html>\n")
	call(t, s, "GET", "/api/me", header("Accept-Version", "v2"), nil).want(t, 400, `{"message":"Unsupported API version: v2"}`) // transcript 5
	call(t, s, "GET", "/api/me", header("Accept-Version", "v1"), nil).want(t, 401, bodyNotLoggedIn)
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
