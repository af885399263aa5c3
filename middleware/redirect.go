package middleware

import "github.com/qelos-io/integrator-go/middleware/internal/account"

// SafeRedirect reports whether target is a same-origin path this app may
// redirect to: it must be an absolute path ("/account?tab=1") with no scheme,
// no host, and nothing a browser would read as one ("//evil.com",
// "/\evil.com", "https:evil.com", encoded or control-character variants).
// Anything else is refused, so a sign-in link cannot bounce the user to
// another site.
func SafeRedirect(target string) bool { return account.SafeRedirect(target) }
