package account

import (
	"cmp"
	"errors"
	"net/http"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/wire"
	"github.com/qelos-io/integrator-go/refresh"
)

// SignIn is Middleware.SignInHandler, whose documentation states what it
// takes and answers.
func (h *Handlers) SignIn() http.Handler {
	return h.sessionForm(func(w http.ResponseWriter, r *http.Request, in input) {
		username := cmp.Or(strings.TrimSpace(in.get("username")), strings.TrimSpace(in.get("email")))
		password := in.get("password")
		if username == "" || password == "" {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: missingCredentials(in, username, password)})
			return
		}
		body, err := signInBody(in, username, password)
		if err != nil {
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusBadRequest, Code: qelos.CodeInvalidInput, Message: err.Error()})
			return
		}
		if !h.core.AllowSignIn(w, r, username) {
			return
		}
		resp, err := h.core.Call(r.Context(), http.MethodPost, "/api/signin", body, "")
		switch {
		case err != nil:
			h.core.Logger().Warn("qelos sign-in: Qelos unavailable", "err", err)
			h.core.Fail(w, r, unavailableError())
			return
		case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
			h.core.Fail(w, r, &qelos.Error{Status: http.StatusUnauthorized, Code: qelos.CodeInvalidCredentials, Message: "wrong username or password"})
			return
		case resp.Status != http.StatusOK:
			h.core.Logger().Warn("qelos sign-in: unexpected answer", "status", resp.Status)
			h.core.Fail(w, r, unavailableError())
			return
		}
		h.finishSignIn(w, r, in, resp.Body, "")
	})
}

// finishSignIn starts the session an OAuth sign-in or sign-up answer
// carries and answers the browser: 303 to a same-origin "returnTo", else
// 200 {"user":…,"workspace":…}; 503 when the answer holds no usable pair.
// email, when set, stands in for a token that names none.
func (h *Handlers) finishSignIn(w http.ResponseWriter, r *http.Request, in input, answer []byte, email string) {
	u, ws, err := h.startSession(w, r, answer, email)
	if errors.Is(err, qelos.ErrSessionTooLarge) {
		h.core.Logger().Warn("qelos sign-in: the session does not fit in its cookies: the user's names or picture URL in the access token are too large", "path", r.URL.Path)
		h.core.Fail(w, r, &qelos.Error{Status: http.StatusUnprocessableEntity, Code: qelos.CodeSessionTooLarge, Message: "your profile (names, picture) is too large to keep you signed in; shorten it and sign in again"})
		return
	}
	if err != nil {
		h.core.Logger().Warn("qelos sign-in: unusable answer", "path", r.URL.Path, "err", err)
		h.core.Fail(w, r, unavailableError())
		return
	}
	h.core.Emit(r, true, u.ID)
	if to := in.orQuery("returnTo"); SafeRedirect(to) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	WriteJSON(w, http.StatusOK, Body{User: u, Workspace: ws})
}

// Body is the answer of the session handlers and of WhoAmIHandler.
type Body struct {
	User      *qelos.User      `json:"user"`
	Workspace *qelos.Workspace `json:"workspace"`
}

// startSession reads an OAuth sign-in (or sign-up) answer and starts a
// session from its pair.
func (h *Handlers) startSession(w http.ResponseWriter, r *http.Request, body []byte, email string) (*qelos.User, *qelos.Workspace, error) {
	p, err := wire.ReadSignedIn(body)
	if err != nil {
		return nil, nil, err
	}
	return h.core.Start(w, r, refresh.Pair{AccessToken: p.Token, RefreshToken: p.RefreshToken}, p.Workspace, email)
}

// SignOut is Middleware.SignOutHandler; the session itself is ended by
// Core.End.
func (h *Handlers) SignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = h.core.NoStore(w) // clears the pair: never cacheable
		if !h.allowPost(w, r) {
			return
		}
		userID := h.core.End(w, r)
		h.core.Emit(r, false, userID)
		if to := r.URL.Query().Get("returnTo"); SafeRedirect(to) {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
