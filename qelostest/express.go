package qelostest

import (
	"net/http"
	"strings"
)

// staticSegments are the fixed path segments of the routes. Express
// matches routes case-insensitively, so these are matched in any case;
// other segments (ids) are kept as sent.
var staticSegments = map[string]bool{
	"api": true, "me": true, "signin": true, "signup": true, "token": true,
	"refresh": true, "cookie": true, "logout": true, "auth": true,
	"callback": true, "workspaces": true, "activate": true,
	"api-tokens": true, "members": true, "users": true,
}

// optionsAllow is what Express answers to OPTIONS for each route: the
// methods of the routes matching the path, in the order the auth service
// registers them, with HEAD after every GET.
var optionsAllow = map[string]string{
	"/api/signin":                   "POST",
	"/api/signup":                   "POST",
	"/api/token/refresh":            "POST",
	"/api/cookie/refresh":           "POST",
	"/api/logout":                   "POST",
	"/api/auth/callback":            "POST",
	"/api/me":                       "GET,HEAD,POST",
	"/api/me/api-tokens":            "GET,HEAD,POST",
	"/api/me/api-tokens/{id}":       "DELETE",
	"/api/users":                    "GET,HEAD,POST",
	"/api/workspaces":               "GET,HEAD,POST",
	"/api/workspaces/{id}":          "PUT,DELETE,GET,HEAD",
	"/api/workspaces/{id}/members":  "GET,HEAD,POST",
	"/api/workspaces/{id}/activate": "POST",
}

// expressRequest returns r with its path as Express routes it (see
// expressPath), cloned when that changes it.
func expressRequest(r *http.Request) *http.Request {
	p := expressPath(r.URL.Path)
	if p == r.URL.Path {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = p, ""
	return r2
}

// express routes the way the Qelos services do (Express 4 with its default
// options) a request whose path expressRequest has folded: OPTIONS on a
// route answers 200 with the route's methods in Allow and in the body.
func (s *Server) express(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			if r.URL.Path == "/api/cookie/refresh" && !s.opts.RouteCookieRefresh {
				writeGatewayTimeout(w, r)
				return
			}
			if allow, ok := optionsAllow[routeOf(mux, r)]; ok {
				w.Header().Set("Allow", allow)
				writeBody(w, http.StatusOK, "text/html; charset=utf-8", []byte(allow))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// expressPath folds the static segments of p to lower case and drops one
// trailing slash: Express matches routes case-insensitively and not
// strictly.
func expressPath(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if l := strings.ToLower(seg); l != seg && staticSegments[l] {
			segs[i] = l
		}
	}
	return strings.Join(segs, "/")
}

// routeOf returns the path pattern of the route that serves r's path with
// any method, or "".
func routeOf(mux *http.ServeMux, r *http.Request) string {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			_, path, _ := strings.Cut(pattern, " ")
			return path
		}
	}
	return ""
}

// writeGatewayTimeout answers as the Qelos gateway does for a path it
// sends to a service that is not there: 504 with a plain-text body and no
// Content-Type.
func writeGatewayTimeout(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = nil // no sniffing: the gateway sends none
	w.WriteHeader(http.StatusGatewayTimeout)
	_, _ = w.Write([]byte("Error occurred while trying to proxy: " + r.Host + r.URL.RequestURI()))
}
