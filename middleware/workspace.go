package middleware

import (
	"errors"
	"net/http"

	"github.com/qelos-io/integrator-go/refresh"
)

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
