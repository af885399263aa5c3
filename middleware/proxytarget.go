package middleware

import (
	"os"
	"strings"
)

// ResolveProxyTarget returns the Qelos URL that requests are sent to: the
// first non-blank of the environment variables QELOS_PROXY_TARGET, QELOS_IP
// and QELOS_API_IP, else appURL, each trimmed of white space; "" when none
// is set. This is the rule of the Node and Python integrators, with one
// difference: it is used for every call to Qelos, not only the proxy, so
// the identity probe and the request-scoped client cannot disagree.
//
// The overrides are for development. A bare IP makes the Qelos gateway
// answer 400 "no website for host": it finds the tenant by host name.
func ResolveProxyTarget(appURL string) string {
	for _, name := range []string{"QELOS_PROXY_TARGET", "QELOS_IP", "QELOS_API_IP"} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
	}
	return strings.TrimSpace(appURL)
}
