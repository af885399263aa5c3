package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

const betaID = "6b08ed31a15f3cecd2836599"

func TestSignUp(t *testing.T) {
	newUser := func(name string) string {
		return `{"username":"` + name + `@example.com","password":"Str0ng-Pass","firstName":"Nia","lastName":"New"}`
	}
	tests := []struct {
		name       string
		body       string
		fault      *qelostest.Fault
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"success signs the user in", newUser("nia"), nil, 200, "", nil},
		{"duplicate username", `{"username":"` + qelostest.UserEmail + `","password":"Str0ng-Pass","firstName":"Uma","lastName":"User"}`, nil, 409, "ALREADY_EXISTS", nil},
		{"invalid fields", `{"username":"x","email":"not-an-email","password":"short","firstName":"N1"}`, nil, 400, "INVALID_INPUT", []string{"email", "firstName", "password"}},
		{"missing password", `{"username":"someone@example.com"}`, nil, 400, "INVALID_INPUT", []string{"password"}},
		{"Qelos down", newUser("down"), &qelostest.Fault{Drop: true}, 503, "QELOS_UNAVAILABLE", nil},
		{"Qelos 500", newUser("boom"), &qelostest.Fault{Status: 500}, 503, "QELOS_UNAVAILABLE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			if tt.fault != nil {
				h.qelos.InjectFault(qelostest.EndpointSignUp, *tt.fault)
			}
			r := h.do(http.MethodPost, "/auth/signup", strings.NewReader(tt.body), "application/json")
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			var body struct {
				Code   string            `json:"code"`
				Errors map[string]string `json:"errors"`
			}
			json.Unmarshal(r.body, &body)
			if body.Code != tt.wantCode {
				t.Fatalf("code %q, want %q (%s)", body.Code, tt.wantCode, r.body)
			}
			for _, f := range tt.wantFields {
				if body.Errors[f] == "" {
					t.Fatalf("no error for field %s: %s", f, r.body)
				}
			}
			if tt.wantStatus != 200 {
				if _, set := r.cookies[accessCookie]; set {
					t.Fatal("a refused sign-up set session cookies")
				}
				return
			}
			w := r.whoami(t)
			if w.User == nil || w.User.FirstName != "Nia" || !w.User.HasRole("user") {
				t.Fatalf("user %+v", w.User)
			}
			if r := h.get("/private", h.sessionCookies(r)...); r.status != 200 {
				t.Fatalf("the new session: %d", r.status)
			}
		})
	}
	t.Run("form body", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		r := h.do(http.MethodPost, "/auth/signup", form("username", "formy@example.com", "password", "Str0ng-Pass", "firstName", "Fo", "lastName", "Rm"), "application/x-www-form-urlencoded")
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// withClient runs f with the request-scoped client of a request carrying
// cookies, inside the app.
func withClient(t *testing.T, h *harness, cookies []*http.Cookie, f func(*qelosapi.Client, context.Context) error) error {
	t.Helper()
	var got error
	var mu sync.Mutex
	clientCalls.Store(func(c *qelosapi.Client, w http.ResponseWriter, r *http.Request) {
		err := f(c, r.Context())
		mu.Lock()
		got = err
		mu.Unlock()
		w.WriteHeader(204)
	})
	if r := h.do(http.MethodPost, "/test/client", nil, "", cookies...); r.status != 204 {
		t.Fatalf("test client route: %d %s", r.status, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestAPITokenLifecycle(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	session := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)

	var secret string
	var token *qelosapi.APIToken
	if err := withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) (err error) {
		secret, token, err = c.CreateAPIToken(ctx, qelosapi.NewAPIToken{Nickname: "ci", ExpiresAt: time.Now().Add(24 * time.Hour), WorkspaceID: acmeID})
		return err
	}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(secret, "ql_") || token.ID == "" || token.Workspace == nil || token.Workspace.ID != acmeID {
		t.Fatalf("created %q %+v", secret[:3], token)
	}

	// Use it: x-api-key identifies the owner, scoped to the workspace.
	useKey := func() reply {
		req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/whoami", nil)
		req.Header.Set("X-Api-Key", secret)
		return h.send(req)
	}
	if w := useKey().whoami(t); w.User == nil || w.User.Email != qelostest.AdminEmail || w.Workspace == nil || w.Workspace.ID != acmeID {
		t.Fatalf("using the key: %+v", w)
	}

	var listed []qelosapi.APIToken
	withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) (err error) {
		listed, err = c.APITokens(ctx)
		return err
	})
	if len(listed) != 1 || listed[0].ID != token.ID || listed[0].Workspace == nil || listed[0].Workspace.Name != acmeName {
		t.Fatalf("listed %+v", listed)
	}

	if err := withClient(t, h, session, func(c *qelosapi.Client, ctx context.Context) error {
		return c.RevokeAPIToken(ctx, token.ID)
	}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	// Refused from then on: by this app at once (the revocation evicts the
	// cached identity), and by a replica with cold caches.
	if r := useKey(); r.status != 200 || r.whoami(t).User != nil {
		t.Fatalf("a revoked key still identifies its owner here: %d %s", r.status, r.body)
	}
	replica := newHarnessSharing(t, h)
	req, _ := http.NewRequest(http.MethodGet, replica.app.URL+"/private", nil)
	req.Header.Set("X-Api-Key", secret)
	if r := replica.send(req); r.status != 401 {
		t.Fatalf("a revoked key answered %d on another replica", r.status)
	}
}

// newHarnessSharing returns a second app in front of h's Qelos, with cold
// caches.
func newHarnessSharing(t *testing.T, h *harness) *harness {
	t.Helper()
	cfg := h.cfg
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h2 := &harness{t: t, qelos: h.qelos, mw: mw, cfg: cfg, logs: h.logs}
	h2.app = newTestServer(t, mw.Handler(appMux(mw)))
	return h2
}

func TestAPITokenRefusalsAreTyped(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	session := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	tests := []struct {
		name string
		run  func(*qelosapi.Client, context.Context) error
		want []error
	}{
		{"expiry in the past", func(c *qelosapi.Client, ctx context.Context) error {
			_, _, err := c.CreateAPIToken(ctx, qelosapi.NewAPIToken{Nickname: "old", ExpiresAt: time.Now().Add(-time.Hour)})
			return err
		}, []error{qelos.ErrInvalid}},
		{"no nickname", func(c *qelosapi.Client, ctx context.Context) error {
			_, _, err := c.CreateAPIToken(ctx, qelosapi.NewAPIToken{ExpiresAt: time.Now().Add(time.Hour)})
			return err
		}, []error{qelos.ErrInvalid}},
		{"unknown token", func(c *qelosapi.Client, ctx context.Context) error {
			return c.RevokeAPIToken(ctx, "000000000000000000000000")
		}, []error{qelos.ErrNotFound}},
		{"more than ten", func(c *qelosapi.Client, ctx context.Context) error {
			for i := range 11 {
				if _, _, err := c.CreateAPIToken(ctx, qelosapi.NewAPIToken{Nickname: fmt.Sprint("t", i), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
					return err
				}
			}
			return nil
		}, []error{qelos.ErrTooManyTokens, qelos.ErrInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withClient(t, h, session, tt.run)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Fatalf("%v is not %v", err, want)
				}
			}
			var apiErr *qelos.APIError
			if !errors.As(err, &apiErr) || apiErr.Message == "" {
				t.Fatalf("%v carries no Qelos message", err)
			}
		})
	}
	t.Run("managed with an API token", func(t *testing.T) {
		key, _ := h.qelos.IssueAPIToken(qelostest.AdminEmail, "", time.Now().Add(time.Hour))
		clientCalls.Store(func(c *qelosapi.Client, w http.ResponseWriter, r *http.Request) {
			_, err := c.APITokens(r.Context())
			if errors.Is(err, qelos.ErrTokenManagementByToken) && errors.Is(err, qelos.ErrForbidden) {
				w.WriteHeader(204)
				return
			}
			http.Error(w, fmt.Sprint(err), 500)
		})
		req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/test/client", nil)
		req.Header.Set("X-Api-Key", key)
		if r := h.send(req); r.status != 204 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

func TestSwitchWorkspace(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	clock := time.Now()
	var mu sync.Mutex
	middleware.SetClock(h.mw, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	session := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	if w := h.get("/whoami", session...).whoami(t); w.Workspace == nil || w.Workspace.ID != acmeID {
		t.Fatalf("signed in to %+v", w.Workspace)
	}

	t.Run("to a workspace the user does not belong to", func(t *testing.T) {
		r := h.do(http.MethodPost, "/auth/workspace", strings.NewReader(`{"id":"000000000000000000000000"}`), "application/json", session...)
		if r.status != 403 || !strings.Contains(string(r.body), "FORBIDDEN") || len(r.cookies) != 0 {
			t.Fatalf("%d %s %v", r.status, r.body, r.cookies)
		}
		if w := h.get("/whoami", session...).whoami(t); w.Workspace.ID != acmeID {
			t.Fatalf("the refused switch changed the workspace to %+v", w.Workspace)
		}
	})

	r := h.do(http.MethodPost, "/auth/workspace", form("id", betaID), "application/x-www-form-urlencoded", session...)
	if r.status != 200 || !strings.Contains(string(r.body), betaID) {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	session = h.sessionCookies(r)
	if w := h.get("/whoami", session...).whoami(t); w.Workspace == nil || w.Workspace.ID != betaID || w.Workspace.Name != "Beta Lab" {
		t.Fatalf("after the switch: %+v", w.Workspace)
	}
	for i := 1; i <= 2; i++ {
		mu.Lock()
		clock = clock.Add(6 * time.Hour)
		mu.Unlock()
		r := h.get("/whoami", session...)
		w := r.whoami(t)
		if w.Workspace == nil || w.Workspace.ID != betaID || w.Workspace.Name != "Beta Lab" {
			t.Fatalf("after refresh %d: %+v", i, w.Workspace)
		}
		session = h.sessionCookies(r)
	}
	if n := h.qelos.Calls(qelostest.EndpointRefresh); n != 2 {
		t.Fatalf("%d refreshes, want 2", n)
	}

	t.Run("bearer sessions cannot switch", func(t *testing.T) {
		tok, _ := h.qelos.IssueAccessToken(qelostest.AdminEmail, acmeID, time.Hour)
		req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/workspace", strings.NewReader(`{"id":"`+betaID+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		if r := h.send(req); r.status != 409 && r.status != 401 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		if r := h.do(http.MethodPost, "/auth/workspace", strings.NewReader(`{"id":"x"}`), "application/json"); r.status != 401 {
			t.Fatalf("%d", r.status)
		}
	})
}

func TestRequireWorkspace(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	if r := h.get("/workspace-only", h.signIn(qelostest.UserEmail, qelostest.UserPassword)...); r.status != 403 || !strings.Contains(string(r.body), `"code":"NO_WORKSPACE"`) {
		t.Fatalf("user without a workspace: %d %s", r.status, r.body)
	}
	if r := h.get("/workspace-only", h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)...); r.status != 200 {
		t.Fatalf("admin in Acme Team: %d", r.status)
	}
	if r := h.get("/workspace-only"); r.status != 401 {
		t.Fatalf("anonymous: %d", r.status)
	}
}
