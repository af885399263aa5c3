package middlewaretest_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestKitSessionAgainstARunningApp: a session's Client is signed in to an
// app served over HTTP.
func TestKitSessionAgainstARunningApp(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := httptest.NewServer(mw.Handler(kitApp()))
	t.Cleanup(app.Close)

	tests := []struct {
		name, email, workspace, want string
	}{
		{"admin in a workspace", qelostest.AdminEmail, qelostest.AcmeWorkspaceID, `admin@example.com in "Acme Team"`},
		{"user without a workspace", qelostest.UserEmail, "", `user@example.com in ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := k.SignIn(mw, tt.email, tt.workspace).Client(app.URL)
			res, err := c.Get(app.URL + "/private")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(res); res.StatusCode != 200 || got != tt.want {
				t.Fatalf("%d %s, want 200 %s", res.StatusCode, got, tt.want)
			}
		})
	}
}

// TestKitSessionContextHasAWorkingClient: a handler that calls Qelos is
// unit-tested without Handler, with the session's Auth in its context.
func TestKitSessionContextHasAWorkingClient(t *testing.T) {
	k := middlewaretest.Start(t)
	s := k.SignIn(k.Middleware(middleware.Config{}), qelostest.UserEmail, "")
	req := httptest.NewRequest("GET", "/qelos-me", nil)
	res := serve(http.HandlerFunc(qelosMe), req.WithContext(s.Context(req.Context())))
	if got := readAll(res); res.StatusCode != 200 || got != qelostest.UserEmail {
		t.Fatalf("%d %s", res.StatusCode, got)
	}
	if n := k.Calls(qelostest.EndpointMe); n != 1 {
		t.Fatalf("%d calls to /api/me, want 1", n)
	}
}

// TestKitSignInWorkspace: a session's active workspace is the one the
// sign-in answer would name, with the roles the user holds there, and
// survives the sealed cookie.
func TestKitSignInWorkspace(t *testing.T) {
	k := middlewaretest.StartWith(t, qelostest.Options{Workspaces: []qelostest.Workspace{{
		ID: qelostest.AcmeWorkspaceID, Name: "Acme Team", Labels: []string{"paid"},
		Members: []qelostest.Member{{UserID: qelostest.AdminID, Roles: []string{"admin", "user"}}, {UserID: qelostest.UserID}},
	}}})
	mw := k.Middleware(middleware.Config{})
	tests := []struct {
		name, email, workspace string
		want                   *middleware.Workspace
	}{
		{"admin", qelostest.AdminEmail, qelostest.AcmeWorkspaceID, &middleware.Workspace{ID: qelostest.AcmeWorkspaceID, Name: "Acme Team", Roles: []string{"admin", "user"}, Labels: []string{"paid"}}},
		{"member", qelostest.UserEmail, qelostest.AcmeWorkspaceID, &middleware.Workspace{ID: qelostest.AcmeWorkspaceID, Name: "Acme Team", Roles: []string{"user"}, Labels: []string{"paid"}}},
		{"none", qelostest.AdminEmail, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := k.SignIn(mw, tt.email, tt.workspace)
			var got *middleware.Workspace
			app := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = middleware.WorkspaceFrom(r.Context())
			}))
			app.ServeHTTP(httptest.NewRecorder(), s.Request("GET", "/", nil))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("workspace %+v, want %+v", got, tt.want)
			}
		})
	}
}
