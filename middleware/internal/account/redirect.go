package account

import (
	"net/url"
	"strings"
)

// SafeRedirect reports whether target is a same-origin path this app may
// redirect to: it must be an absolute path ("/account?tab=1") with no scheme,
// no host, and nothing a browser would read as one ("//evil.com",
// "/\evil.com", "https:evil.com", encoded or control-character variants).
// Anything else is refused, so a sign-in link cannot bounce the user to
// another site.
func SafeRedirect(target string) bool {
	if target == "" || len(target) > 2048 || target[0] != '/' {
		return false
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return false // scheme-relative: //host or /\host
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false // CR/LF (header injection), tabs browsers strip, backslashes they turn into /
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return false
	}
	// A path that decodes to a scheme-relative one is refused too.
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	return true
}
