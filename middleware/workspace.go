package middleware

import (
	"errors"
	"net/http"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/refresh"
)

// SwitchWorkspaceHandler returns a handler that makes another workspace the
// active one of a cookie-pair session. It takes a POST with a JSON or form
// "id", checks with Qelos (GET /api/workspaces, cached for IdentityTTL) that
// the user belongs to it, and records it in the sealed pair, so every later
// request — and every refresh — sees it as the active workspace, with the
// roles the user holds there. It answers 200 {"workspace":…}.
//
// A workspace the user does not belong to is 403 {"code":"FORBIDDEN"} and
// changes nothing. Mount it behind Handler; an anonymous request is 401.
//
// The choice is this app's record. Qelos's own activation endpoint serves
// only Qelos cookie sessions, so in OAuth mode the access token Qelos
// issued keeps the workspace of the sign-in (thinned to its id after one
// refresh, gone after two): calls made to Qelos with the token (Proxy,
// Client) are judged by Qelos without it. Bearer and API-token requests
// choose their workspace at sign-in or token creation and get 409
// {"code":"WORKSPACE_SWITCH_UNSUPPORTED"}.
func (m *Middleware) SwitchWorkspaceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.allowPost(w, r) {
			return
		}
		if Deny(w, r, SignedIn()) {
			return
		}
		a, _ := FromContext(r.Context())
		if a.Mode != qelos.ModeCookiePair {
			m.fail(w, r, &qelos.Error{Status: http.StatusConflict, Code: qelos.CodeWorkspaceSwitchUnsupported, Message: "only a cookie-pair session can switch workspace; " + a.Mode.String() + " requests choose it at sign-in or token creation"})
			return
		}
		in, err := readInput(w, r)
		id := strings.TrimSpace(in.orQuery("id"))
		if err != nil || id == "" {
			m.fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "the workspace id is required"})
			return
		}
		list, err := (&Client{mw: m, auth: a}).Workspaces(r.Context())
		switch {
		case errors.Is(err, qelos.ErrUnauthorized):
			m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
			return
		case err != nil:
			m.log.Warn("qelos workspace switch: Qelos unavailable", "err", err)
			m.fail(w, r, unavailableError(nil))
			return
		}
		var ws *Workspace
		for i := range list {
			if list[i].ID == id {
				ws = &list[i]
			}
		}
		if ws == nil {
			m.fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "you are not a member of that workspace"})
			return
		}
		b, err := m.recordWorkspace(w, r, a, ws)
		if err != nil {
			m.log.Warn("qelos workspace switch: session unusable", "err", err)
			m.reject(w, r, err)
			m.fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
			return
		}
		writeJSON(w, http.StatusOK, map[string]*Workspace{"workspace": b.Workspace})
	})
}

// recordWorkspace reseals the session pair of a with ws as its workspace,
// in the same session (its id kept), and returns the session's new Auth.
func (m *Middleware) recordWorkspace(w http.ResponseWriter, r *http.Request, a *Auth, ws *Workspace) (*Auth, error) {
	if a.sid == "" {
		return nil, errors.New("the session has no id")
	}
	refreshTok := a.refreshToken
	if refreshTok == "" {
		s, err := m.jar.open(m.jar.refresh, m.jar.value(r, m.jar.refresh))
		if err != nil {
			return nil, err
		}
		refreshTok = s.Token
	}
	t, err := m.tokens.readAccess(a.AccessToken())
	if err != nil {
		return nil, err
	}
	old := m.jar.value(r, m.jar.access)
	b, err := m.issue(w, r, refresh.Pair{AccessToken: a.AccessToken(), RefreshToken: refreshTok}, t, sealed{Session: a.sid, Workspace: ws}, m.now())
	if err != nil {
		return nil, err
	}
	m.cache.remove(old)
	return b, nil
}
