package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestReadyHandlerReportsQelos: GET /healthz answers 200 while Qelos
// answers (even 401: the auth service is up), 503 with Retry-After when it
// answers 5xx, hangs or is gone, naming the check but not the reason; it
// costs Qelos one anonymous call per probe.
func TestReadyHandlerReportsQelos(t *testing.T) {
	tests := []struct {
		name       string
		fault      *qelostest.Fault
		closed     bool
		wantStatus int
		wantBody   string
	}{
		{"Qelos answers", nil, false, 200, `{"status":"ok","checks":{"qelos":"ok"}}`},
		{"Qelos answers 502", &qelostest.Fault{Status: 502, Body: "<html>bad gateway</html>"}, false, 503, `{"status":"unavailable","checks":{"qelos":"unavailable"}}`},
		{"Qelos hangs", &qelostest.Fault{Delay: time.Minute}, false, 503, `{"status":"unavailable","checks":{"qelos":"unavailable"}}`},
		{"Qelos resets the connection", &qelostest.Fault{Drop: true}, false, 503, `{"status":"unavailable","checks":{"qelos":"unavailable"}}`},
		{"Qelos is gone", nil, true, 503, `{"status":"unavailable","checks":{"qelos":"unavailable"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, qelostest.Options{}, nil)
			ready := httptest.NewServer(h.mw.ReadyHandler())
			t.Cleanup(ready.Close)
			if tt.fault != nil {
				h.qelos.InjectFault(qelostest.EndpointMe, *tt.fault)
				t.Cleanup(h.qelos.ClearFaults)
			}
			if tt.closed {
				h.qelos.Close()
			}
			start := time.Now()
			resp, err := http.Get(ready.URL)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := strings.TrimSpace(string(raw))
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 503 && (resp.Header.Get("Retry-After") == "" || took > 2*time.Second) {
				t.Fatalf("503 after %v with Retry-After %q", took, resp.Header.Get("Retry-After"))
			}
			if !tt.closed && h.qelos.Calls(qelostest.EndpointMe) < 1 {
				t.Fatal("Qelos was not asked")
			}
			if strings.Contains(h.logs.String(), "qelos readiness") != (tt.wantStatus == 503) {
				t.Fatalf("log: %s", h.logs.String())
			}
		})
	}
	t.Run("POST is refused", func(t *testing.T) {
		h := newHarness(t, qelostest.Options{}, nil)
		rec := httptest.NewRecorder()
		h.mw.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("%d", rec.Code)
		}
	})
}

// TestWhoAmIHandlerAnswersTheExamplesJSON: the handler answers what the
// examples' /whoami answers: the user and workspace, or nulls.
func TestWhoAmIHandlerAnswersTheExamplesJSON(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	app := httptest.NewServer(h.mw.Handler(middleware.WhoAmIHandler()))
	t.Cleanup(app.Close)
	cookies := h.signIn(qelostest.AdminEmail, qelostest.AdminPassword)
	want := h.get("/whoami", cookies...).body // the harness app's own whoami
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/whoami", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	got := h.send(req)
	if got.status != 200 || strings.TrimSpace(string(got.body)) != strings.TrimSpace(string(want)) {
		t.Fatalf("WhoAmIHandler: %d %s\nthe examples' whoami: %s", got.status, got.body, want)
	}
	anon := h.send(must(http.NewRequest(http.MethodGet, app.URL+"/whoami", nil)))
	if strings.TrimSpace(string(anon.body)) != `{"user":null,"workspace":null}` {
		t.Fatalf("anonymous: %s", anon.body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestWorkspacePrivilegedIsQelosIsPrivilegedUser: Workspace.Privileged
// agrees with the isPrivilegedUser Qelos answers in GET /api/workspaces
// for each of the user's workspaces.
func TestWorkspacePrivilegedIsQelosIsPrivilegedUser(t *testing.T) {
	h := newHarness(t, qelostest.Options{}, nil)
	for _, tt := range []struct{ user, password string }{
		{qelostest.AdminEmail, qelostest.AdminPassword},
		{qelostest.UserEmail, qelostest.UserPassword},
	} {
		access, _ := h.tokens(h.do(http.MethodPost, "/auth/signin", strings.NewReader(`{"username":"`+tt.user+`","password":"`+tt.password+`"}`), "application/json").cookies)
		req, _ := http.NewRequest(http.MethodGet, h.qelos.URL+"/api/workspaces", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		var qelos []struct {
			ID               string `json:"_id"`
			IsPrivilegedUser bool   `json:"isPrivilegedUser"`
		}
		if err := json.Unmarshal(h.send(req).body, &qelos); err != nil {
			t.Fatal(err)
		}
		for _, q := range qelos {
			r := h.do(http.MethodPost, "/auth/signin", strings.NewReader(`{"username":"`+tt.user+`","password":"`+tt.password+`","workspace":"`+q.ID+`"}`), "application/json")
			w := h.get("/whoami", h.sessionCookies(r)...).whoami(t)
			if w.Workspace == nil || w.Workspace.ID != q.ID || w.Workspace.Privileged() != q.IsPrivilegedUser {
				t.Fatalf("%s in %s: workspace %+v, Privileged() vs Qelos's isPrivilegedUser %v", tt.user, q.ID, w.Workspace, q.IsPrivilegedUser)
			}
			t.Logf("%s in %s: isPrivilegedUser %v", tt.user, q.ID, q.IsPrivilegedUser)
		}
	}
}
