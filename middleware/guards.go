package middleware

import "net/http"

// RequireUser wraps h so that only signed-in requests reach it. Anonymous
// requests get 401 {"code":"UNAUTHORIZED"}; requests whose session could not
// be confirmed because Qelos was unavailable get 503
// {"code":"QELOS_UNAVAILABLE"}, with their cookies untouched.
func RequireUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := FromContext(r.Context())
		switch {
		case a != nil && a.User != nil:
			h.ServeHTTP(w, r)
		case a != nil && a.Err != nil:
			Unavailable(w)
		default:
			Unauthorized(w)
		}
	})
}
