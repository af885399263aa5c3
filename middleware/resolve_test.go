package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// memberOf is a resolver that picks the workspace id returns, if the user
// belongs to it, with the roles the user holds there.
func memberOf(id func(*http.Request) string) middleware.WorkspaceResolver {
	return func(r *http.Request, u *middleware.User, c *qelosapi.Client) (*middleware.Workspace, error) {
		want := id(r)
		if want == "" {
			return u.Workspace, nil
		}
		list, err := c.Workspaces(r.Context())
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(list, func(w middleware.Workspace) bool { return w.ID == want }); i >= 0 {
			return &list[i], nil
		}
		return nil, nil
	}
}

// TestResolveWorkspaceChecksMembership: the resolver gets a working
// Client, so a workspace named by a header (Config.ResolveWorkspace) or a
// route parameter (SelectWorkspace) is granted only to its members, with
// their roles; Qelos unavailable is a 503, not a 403.
func TestResolveWorkspaceChecksMembership(t *testing.T) {
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, _ := middleware.WorkspaceFrom(r.Context())
		json.NewEncoder(w).Encode(ws)
	})
	guarded := middleware.Require(middleware.HasWorkspaceRole("admin"))(whoami)
	byHeader := func(r *http.Request) string { return r.Header.Get("X-Workspace") }
	byPath := func(r *http.Request) string { return r.PathValue("ws") }

	tests := []struct {
		name      string
		perRoute  bool
		workspace string
		fault     bool
		status    int
		want      string // the workspace id answered
	}{
		{"header: a member gets the workspace and its roles", false, qelostest.AcmeWorkspaceID, false, 200, qelostest.AcmeWorkspaceID},
		{"header: a role the member lacks there is refused", false, qelostest.BetaWorkspaceID, false, 403, ""},
		{"header: a workspace the user is not in is refused", false, "000000000000000000000000", false, 403, ""},
		{"header: Qelos unavailable is 503", false, qelostest.AcmeWorkspaceID, true, 503, ""},
		{"route: a member gets the workspace", true, qelostest.AcmeWorkspaceID, false, 200, qelostest.AcmeWorkspaceID},
		{"route: a workspace the user is not in is refused", true, "000000000000000000000000", false, 403, ""},
		{"route: Qelos unavailable is 503", true, qelostest.AcmeWorkspaceID, true, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := middlewaretest.Start(t)
			var cfg middleware.Config
			mux := http.NewServeMux()
			if tt.perRoute {
				mux.Handle("GET /w/{ws}/", middleware.SelectWorkspace(memberOf(byPath))(guarded))
			} else {
				cfg.ResolveWorkspace = memberOf(byHeader)
				mux.Handle("GET /w/{ws}/", guarded)
			}
			mw := k.Middleware(cfg)
			s := k.SignIn(mw, qelostest.AdminEmail, "")
			if tt.fault {
				k.InjectFault(qelostest.EndpointWorkspaces, qelostest.Fault{Status: 503})
			}
			req := s.Request("GET", "/w/"+tt.workspace+"/", nil)
			req.Header.Set("X-Workspace", tt.workspace)
			rec := httptest.NewRecorder()
			mw.Handler(mux).ServeHTTP(rec, req)
			var ws middleware.Workspace
			_ = json.Unmarshal(rec.Body.Bytes(), &ws)
			if rec.Code != tt.status || (tt.want != "" && ws.ID != tt.want) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}
}
