package qelos

// Mode says which kind of credential identified a request.
type Mode int

const (
	// ModeAnonymous: no credential, or none that could be used.
	ModeAnonymous Mode = iota
	// ModeCookiePair: the app's own sealed access/refresh cookie pair.
	ModeCookiePair
	// ModeBearer: an Authorization: Bearer access token from a native or
	// SPA client, which owns (and refreshes) its pair.
	ModeBearer
	// ModeAPIToken: an x-api-key: ql_… Qelos API token.
	ModeAPIToken
	// ModePassthrough: Qelos's own session cookie (qlt_<tenant>), checked
	// with Qelos as the Node integrators do.
	ModePassthrough
)

func (m Mode) String() string {
	switch m {
	case ModeCookiePair:
		return "cookie-pair"
	case ModeBearer:
		return "bearer"
	case ModeAPIToken:
		return "api-token"
	case ModePassthrough:
		return "passthrough"
	}
	return "anonymous"
}
