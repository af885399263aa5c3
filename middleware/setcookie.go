package middleware

import (
	"regexp"
	"strings"
)

// domainAttr matches the first "; Domain=value" segment of a Set-Cookie
// header, whatever its casing and spacing. Group 1 is everything up to the
// value, which is kept byte for byte.
var domainAttr = regexp.MustCompile(`(?i)(;\s*domain\s*=\s*)[^;]+`)

// rewriteSetCookieDomain rewrites the Domain attribute of a Set-Cookie
// header value so the browser stores the cookie for this app's host rather
// than Qelos's, by the exact rule of the Node and Python integrators:
//
//   - a header without a Domain attribute is returned unchanged;
//   - newDomain loses its port ("app.example:8080" → "app.example",
//     "[::1]:8080" → "::1");
//   - an empty newDomain removes the whole "; Domain=…" segment (a
//     host-only cookie), and so does one that is not a host name (a Host
//     header carrying ";" or spaces, say), where the integrators would
//     paste it in verbatim;
//   - otherwise only the value of the first Domain attribute changes: the
//     attribute's casing and every other byte (Path, Expires with its
//     commas, Max-Age, Secure, SameSite, HttpOnly) are kept as they are.
//
// Pass the inbound request's Host as newDomain.
func rewriteSetCookieDomain(setCookie, newDomain string) string {
	loc := domainAttr.FindStringSubmatchIndex(setCookie)
	if loc == nil {
		return setCookie
	}
	host := stripPort(newDomain)
	if host == "" {
		return setCookie[:loc[0]] + setCookie[loc[1]:]
	}
	return setCookie[:loc[3]] + host + setCookie[loc[1]:]
}

// stripPort returns host without its port, and an IPv6 literal without its
// brackets. A bare IPv6 address (several colons, no brackets) is kept whole.
// What is left must be a host name or an IP address — letters, digits, '.',
// '-' and ':' — or stripPort gives "" (no Domain at all), so a crafted Host
// header cannot smuggle attributes such as ";SameSite=None" into a cookie.
func stripPort(host string) string {
	host = strings.TrimSpace(host)
	switch {
	case strings.HasPrefix(host, "["):
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return ""
		}
		host = host[1:end]
	case strings.Count(host, ":") == 1:
		host, _, _ = strings.Cut(host, ":")
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:", c) >= 0) {
			return ""
		}
	}
	return host
}

// pathAPI matches a "; Path=/api" attribute (exactly /api).
var pathAPI = regexp.MustCompile(`(?i)(;\s*path\s*=\s*)/api\s*(;|$)`)

// rewriteSetCookiePath turns Qelos's "Path=/api" into "Path=/", so that a
// relayed Qelos session cookie reaches the app's page routes too, not only
// /api/*. It changes nothing else.
func rewriteSetCookiePath(setCookie string) string {
	return pathAPI.ReplaceAllString(setCookie, "${1}/${2}")
}
