package qelostest

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CookieName returns the name of the default tenant's session cookie:
// "qlt_" followed by the first 8 characters of the tenant ("qlt_0" by
// default). A request naming another tenant in its "tenant" header uses
// that tenant's name.
func (s *Server) CookieName() string {
	return cookieNameFor(s.opts.Tenant)
}

// sessionCookie returns the session token carried by r's cookies: the
// qlt_<tenant> cookie of the request's tenant, else a cookie named "token".
// An empty value counts as absent.
func (s *Server) sessionCookie(r *http.Request) string {
	for _, name := range []string{cookieNameFor(s.tenantHeader(r)), "token"} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// setSessionCookie adds a Set-Cookie for value with maxAge, byte for byte
// like Express 4 with cookie 0.6:
//
//	qlt_0=<jwt>; Max-Age=2592000; Domain=127.0.0.1; Path=/api; Expires=Sun, 27 Dec 2026 02:40:02 GMT; HttpOnly; Secure; SameSite=None
//
// Domain, Secure and SameSite=None are written only when the request host is
// known, as on the real server.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge time.Duration) {
	ms := maxAge.Milliseconds()
	secs := ms / 1000
	if ms < 0 && ms%1000 != 0 {
		secs-- // Math.floor
	}
	var b strings.Builder
	b.WriteString(cookieNameFor(s.tenantHeader(r)) + "=" + value)
	b.WriteString("; Max-Age=" + strconv.FormatInt(secs, 10))
	domain := requestHost(r)
	if domain != "" {
		b.WriteString("; Domain=" + domain)
	}
	b.WriteString("; Path=/api")
	b.WriteString("; Expires=" + s.now().Add(time.Duration(ms)*time.Millisecond).UTC().Format(http.TimeFormat))
	b.WriteString("; HttpOnly")
	if domain != "" {
		b.WriteString("; Secure; SameSite=None")
	}
	w.Header().Add("Set-Cookie", b.String())
}

// clearSessionCookie adds the Set-Cookie the real logout sends:
// an empty value with Max-Age=-1 and Expires=now.
func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	s.setSessionCookie(w, r, "", -time.Millisecond)
}

// requestHost is Qelos's getRequestHost: the tenanthost header, else Host,
// else the host of Origin, without any port. It becomes the cookie Domain.
func requestHost(r *http.Request) string {
	host := r.Header.Get("Tenanthost")
	if host == "" {
		host = r.Host
	}
	if host == "" {
		if u, err := url.Parse(r.Header.Get("Origin")); err == nil {
			host = u.Host
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// bearerToken returns the second space-separated part of the Authorization
// header (the scheme is not checked, as on the real server) and whether the
// header is present at all.
func bearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	parts := strings.Split(h, " ")
	if len(parts) < 2 {
		return "", true
	}
	return parts[1], true
}
