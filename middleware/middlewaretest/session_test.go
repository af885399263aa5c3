package middlewaretest_test

import (
	"net/http"
	"net/http/httptest"
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
