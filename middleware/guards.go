package middleware

import "net/http"

// RequireUser wraps h so that only signed-in requests reach it. Anonymous
// requests get 401 {"code":"UNAUTHORIZED"}; requests whose session could not
// be confirmed because Qelos was unavailable get 503
// {"code":"QELOS_UNAVAILABLE"}, with their cookies untouched.
func RequireUser(h http.Handler) http.Handler {
	return require(h, func(*Auth) bool { return true })
}

// RequireRoles wraps h so that only users holding at least one of the
// tenant roles reach it. A signed-in user without them gets 403
// {"code":"FORBIDDEN"}; others are answered as by RequireUser.
func RequireRoles(h http.Handler, roles ...string) http.Handler {
	return require(h, func(a *Auth) bool { return anyRole(a.User.HasRole, roles) })
}

// RequireWorkspaceRoles wraps h so that only users holding at least one of
// the roles in the request's active workspace reach it; 403
// {"code":"FORBIDDEN"} otherwise (also when no workspace is active).
func RequireWorkspaceRoles(h http.Handler, roles ...string) http.Handler {
	return require(h, func(a *Auth) bool { return a.Workspace != nil && anyRole(a.Workspace.HasRole, roles) })
}

// RequirePrivileged wraps h so that only privileged users (holding one of
// Config.PrivilegedRoles, default "admin") reach it; 403
// {"code":"FORBIDDEN"} otherwise.
func RequirePrivileged(h http.Handler) http.Handler {
	return require(h, func(a *Auth) bool { return a.Privileged })
}

// Allowed reports how a guard answers a request: 0 when it may proceed,
// else the status the guard answers with (401, 403 or 503). Adapters use
// it to express the guards in their framework's idiom.
func Allowed(a *Auth, permit func(*Auth) bool) int {
	switch {
	case a != nil && a.User != nil && permit(a):
		return 0
	case a != nil && a.User != nil:
		return http.StatusForbidden
	case a != nil && a.Err != nil:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// WriteDenied answers a request a guard refused, with the body for status
// (401, 403 or 503) that every guard uses.
func WriteDenied(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusForbidden:
		Forbidden(w)
	case http.StatusServiceUnavailable:
		Unavailable(w)
	default:
		Unauthorized(w)
	}
}

func require(h http.Handler, permit func(*Auth) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := FromContext(r.Context())
		if status := Allowed(a, permit); status != 0 {
			WriteDenied(w, status)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func anyRole(has func(string) bool, roles []string) bool {
	for _, r := range roles {
		if has(r) {
			return true
		}
	}
	return false
}
