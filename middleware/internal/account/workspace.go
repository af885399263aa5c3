package account

import (
	"errors"
	"net/http"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
)

// SwitchWorkspace is Middleware.SwitchWorkspaceHandler: it checks the
// membership with Qelos and records the workspace in the session pair.
func (h *Handlers) SwitchWorkspace() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = h.core.NoStore(w) // sets the pair: never cacheable
		if !h.allowPost(w, r) {
			return
		}
		mode, ok := h.core.Session(w, r)
		if !ok {
			return
		}
		if mode != qelos.ModeCookiePair {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusConflict, Code: qelos.CodeWorkspaceSwitchUnsupported, Message: "only a cookie-pair session can switch workspace; " + mode.String() + " requests choose it at sign-in or token creation"})
			return
		}
		in, err := readInput(w, r)
		id := strings.TrimSpace(in.orQuery("id"))
		if err != nil || id == "" {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: "the workspace id is required"})
			return
		}
		list, err := h.core.Workspaces(r)
		switch {
		case errors.Is(err, qelos.ErrUnauthorized):
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
			return
		case err != nil:
			h.core.Logger().Warn("qelos workspace switch: Qelos unavailable", "err", err)
			h.core.Fail(w, r, unavailableError())
			return
		}
		var ws *qelos.Workspace
		for i := range list {
			if list[i].ID == id {
				ws = &list[i]
			}
		}
		if ws == nil {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusForbidden, Code: qelos.CodeForbidden, Message: "you are not a member of that workspace"})
			return
		}
		recorded, err := h.core.Switch(w, r, ws)
		if err != nil {
			h.core.Logger().Warn("qelos workspace switch: session unusable", "err", err)
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeUnauthorized})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]*qelos.Workspace{"workspace": recorded})
	})
}
