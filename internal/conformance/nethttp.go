package conformance

import (
	"encoding/json"
	"net/http"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
)

// NetHTTP mounts the conformance app on a plain net/http ServeMux behind
// mw.Handler: the reference every adapter is held to.
func NetHTTP(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		writeJSON(w, map[string]any{"user": u, "workspace": ws})
	})
	mux.Handle("GET /whoami", whoami)
	mux.Handle("GET /private", middleware.RequireUser(whoami))
	mux.Handle("GET /admin", middleware.Require(middleware.HasRole("admin"))(whoami))
	mux.Handle("GET /editor", middleware.Require(middleware.HasWorkspaceRole("editor"))(whoami))
	mux.Handle("GET /workspace", middleware.Require(middleware.HasWorkspace())(whoami))
	byParam := func(r *http.Request, _ *middleware.User, c *qelosapi.Client) (*middleware.Workspace, error) {
		return c.Membership(r.Context(), r.PathValue("id"))
	}
	mux.Handle("GET /w/{id}", middleware.SelectWorkspace(byParam)(middleware.Require(middleware.HasWorkspace())(whoami)))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		_, ok := middleware.FromContext(r.Context())
		writeJSON(w, map[string]bool{"hasAuth": ok})
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":"FORBIDDEN"}`, http.StatusForbidden)
	})
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.UserFrom(r.Context()); ok {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return mw.Handler(mux)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
