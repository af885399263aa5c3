package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelosapi"
)

// routes serves the examples contract and the demo page.
func routes(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page)
	mux.Handle("GET /whoami", middleware.WhoAmIHandler())
	mux.Handle("GET /private", middleware.RequireUser(middleware.WhoAmIHandler()))
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("POST /auth/signout", mw.SignOutHandler())
	mux.Handle("GET /healthz", mw.ReadyHandler())
	mux.Handle("POST /auth/signup", mw.SignUpHandler())
	mux.Handle("POST /auth/workspace", mw.SwitchWorkspaceHandler())
	mux.Handle("GET /tokens", middleware.RequireUser(http.HandlerFunc(listTokens)))
	mux.Handle("POST /tokens", middleware.RequireUser(http.HandlerFunc(createToken)))
	mux.Handle("DELETE /tokens/{id}", middleware.RequireUser(http.HandlerFunc(revokeToken)))
	mux.Handle("/api/", mw.Proxy()) // the same-origin proxy to Qelos
	return mux
}

// The API-token demo: a signed-in user creates a token (shown once), uses
// it as x-api-key against /whoami, and revokes it. ClientFrom calls Qelos
// with the user's own (refreshed) credentials.

func listTokens(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClientFrom(r.Context())
	list, err := c.APITokens(r.Context())
	if err != nil {
		writeClientError(w, r, err)
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]any{"tokens": list})
}

func createToken(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClientFrom(r.Context())
	nickname := r.FormValue("nickname")
	if nickname == "" {
		nickname = "quickstart demo"
	}
	secret, token, err := c.CreateAPIToken(r.Context(), qelosapi.NewAPIToken{Nickname: nickname, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		writeClientError(w, r, err)
		return
	}
	writeJSONBody(w, http.StatusCreated, map[string]any{"token": secret, "apiToken": token})
}

func revokeToken(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClientFrom(r.Context())
	if err := c.RevokeAPIToken(r.Context(), r.PathValue("id")); err != nil {
		writeClientError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeClientError turns Qelos's refusals into answers with a stable code
// and a generic message. The error itself (Qelos's raw message, the
// address it failed to reach) goes to the log, never to the browser.
func writeClientError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, message := http.StatusServiceUnavailable, "QELOS_UNAVAILABLE", "Qelos is unavailable; try again shortly"
	switch {
	case errors.Is(err, qelos.ErrTooManyTokens):
		status, code, message = http.StatusConflict, "TOO_MANY_TOKENS", "you have the maximum of 10 API tokens; revoke one first"
	case errors.Is(err, qelos.ErrInvalid):
		status, code, message = http.StatusBadRequest, "INVALID_INPUT", "Qelos refused the request"
	case errors.Is(err, qelos.ErrForbidden):
		status, code, message = http.StatusForbidden, "FORBIDDEN", "you may not do that"
	case errors.Is(err, qelos.ErrNotFound):
		status, code, message = http.StatusNotFound, "NOT_FOUND", "no such token"
	case errors.Is(err, qelos.ErrUnauthorized):
		status, code, message = http.StatusUnauthorized, "UNAUTHORIZED", "sign in again"
	}
	slog.Warn("quickstart: Qelos call failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	writeJSONBody(w, status, map[string]string{"code": code, "message": message})
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// signInRedirect is the app's Config.ErrorHandler: a browser asking for a
// page it must be signed in for goes to the sign-in form on /; API clients
// and every other refusal get the JSON answer.
func signInRedirect(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, qelos.ErrUnauthorized) && r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, "/?signin=required", http.StatusSeeOther)
		return
	}
	qelos.WriteError(w, r, err)
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// pageData is what the page shows.
type pageData struct {
	User       *middleware.User
	Workspace  *middleware.Workspace
	Workspaces []middleware.Workspace
	ExpiresIn  time.Duration
	Expires    time.Time
}

func page(w http.ResponseWriter, r *http.Request) {
	var d pageData
	if a, ok := middleware.FromContext(r.Context()); ok && a.User != nil {
		d.User, d.Workspace, d.Expires = a.User, a.Workspace, a.Expires()
		d.ExpiresIn = time.Until(d.Expires).Round(time.Second)
		if c, ok := middleware.ClientFrom(r.Context()); ok {
			d.Workspaces, _ = c.Workspaces(r.Context()) // cached per session; none on error
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, d)
}
