package main

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
)

// routes serves the examples contract and the demo page.
func routes(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page)
	mux.HandleFunc("GET /whoami", whoami)
	mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(whoami)))
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	return mux
}

// whoami answers {"user": …, "workspace": …}, nulls when anonymous.
func whoami(w http.ResponseWriter, r *http.Request) {
	u, _ := middleware.UserFrom(r.Context())
	ws, _ := middleware.WorkspaceFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"user": u, "workspace": ws})
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// pageData is what the page shows.
type pageData struct {
	User      *middleware.User
	Workspace *middleware.Workspace
	ExpiresIn time.Duration
	Expires   time.Time
}

func page(w http.ResponseWriter, r *http.Request) {
	var d pageData
	if a, ok := middleware.FromContext(r.Context()); ok {
		d.User, d.Workspace, d.Expires = a.User, a.Workspace, a.Expires()
		d.ExpiresIn = time.Until(d.Expires).Round(time.Second)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, d)
}
