package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

// start runs the command with args on a free port and returns its URL and
// what it printed.
func start(t *testing.T, args ...string) (string, *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &strings.Builder{}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, func(u string) { urls <- u })
	}()
	select {
	case u := <-urls:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return u, out
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	return "", nil
}

func post(t *testing.T, url, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDevServerFlags: the dev server seeds the users, workspaces and
// tenants its flags name, issues tokens of the lifetimes asked, and
// injects the faults asked.
func TestDevServerFlags(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	os.WriteFile(seed, []byte(`{"users":[{"id":"6b08ed31a15f3cecd2830001","username":"seeded@example.com","password":"Seeded-Pass-1","firstName":"Sam","roles":["editor"]}],
		"tenants":[{"id":"acme2","users":[{"username":"t2@example.com","password":"Tenant-Pass-1","firstName":"Tia"}]}]}`), 0o600)
	signIn := func(user, password string) string {
		return `{"username":"` + user + `","password":"` + password + `","authType":"oauth"}`
	}
	tests := []struct {
		name       string
		args       []string
		body       string
		header     []string
		wantStatus int
		wantBody   string
	}{
		{"the demo admin by default", nil, signIn(qelostest.AdminEmail, qelostest.AdminPassword), nil, 200, `"token"`},
		{"-no-demo removes the demo users", []string{"-no-demo"}, signIn(qelostest.AdminEmail, qelostest.AdminPassword), nil, 401, "Invalid username or password"},
		{"-user adds a user with roles", []string{"-user", "dev@example.com:Dev-Pass-123:admin,editor"}, signIn("dev@example.com", "Dev-Pass-123"), nil, 200, `"roles":["admin","editor"]`},
		{"-workspace gives the user a workspace", []string{"-user", "dev@example.com:Dev-Pass-123", "-workspace", "Dev Team:dev@example.com:admin"}, signIn("dev@example.com", "Dev-Pass-123"), nil, 200, `"name":"Dev Team","roles":["admin"]`},
		{"-seed adds users", []string{"-seed", seed}, signIn("seeded@example.com", "Seeded-Pass-1"), nil, 200, `"roles":["editor"]`},
		{"-seed adds tenants", []string{"-seed", seed}, signIn("t2@example.com", "Tenant-Pass-1"), []string{"tenant", "acme2"}, 200, `"token"`},
		{"-tenant serves an empty tenant", []string{"-tenant", "empty"}, signIn(qelostest.AdminEmail, qelostest.AdminPassword), []string{"tenant", "empty"}, 401, "Invalid username or password"},
		{"-fault answers a status", []string{"-fault", "POST /api/signin=503"}, signIn(qelostest.AdminEmail, qelostest.AdminPassword), nil, 503, ""},
		{"-fault with times", []string{"-fault", "POST /api/signin=500+times=1"}, signIn(qelostest.AdminEmail, qelostest.AdminPassword), nil, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := start(t, tt.args...)
			status, body := post(t, url+"/api/signin", tt.body, tt.header...)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("%d %s, want %d with %s", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	t.Run("-access-ttl sets the access token's lifetime", func(t *testing.T) {
		url, out := start(t, "-access-ttl", "30s")
		if !strings.Contains(out.String(), "access tokens live 30s") {
			t.Fatalf("printed %s", out)
		}
		srvOut := out.String()
		if !strings.Contains(srvOut, "QELOS_APP_URL="+url) {
			t.Fatalf("no usage line in %s", srvOut)
		}
	})
}

// TestDevServerFlagErrors: a malformed flag stops the server with an error
// that shows the expected form.
func TestDevServerFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"user without password", []string{"-user", "dev@example.com"}, "EMAIL:PASSWORD"},
		{"workspace of an unknown user", []string{"-workspace", "Team:ghost@example.com"}, "no user"},
		{"fault without a fault", []string{"-fault", "POST /api/signin"}, "ENDPOINT=FAULT"},
		{"fault with a bad part", []string{"-fault", "POST /api/signin=slow"}, "delay=2s"},
		{"seed that is not there", []string{"-seed", "/nonexistent.json"}, "-seed"},
		{"unknown flag", []string{"-nope"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, tt.args...), io.Discard, func(string) { t.Fatal("started") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}
