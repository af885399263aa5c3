package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/qelos-io/integrator-go"
)

// Options are what the proxy's handler needs of the middleware: where
// Qelos is, and the hooks into the session state it does not own.
type Options struct {
	// Target is Qelos's URL.
	Target *url.URL
	// Transport sends the proxied requests (see HeaderTimeout).
	Transport http.RoundTripper
	// Passthrough lets Qelos's session cookies (qlt_*, token) through.
	Passthrough bool
	// Logger is Config.Logger.
	Logger *slog.Logger
	// Bearer returns the access token of the request's cookie pair
	// (refreshed first if it expired), or "" for a request without one;
	// ok is false when it has answered (over budget, or 503 when the pair
	// needed a refresh that Qelos could not give).
	Bearer func(w http.ResponseWriter, r *http.Request) (bearer string, ok bool)
	// PairCookie reports whether name is one of the app's own session
	// cookies, which never reach Qelos.
	PairCookie func(name string) bool
	// Answered sees each answer of Qelos before the browser does.
	Answered func(resp *http.Response)
	// Fail answers err through Config.ErrorHandler.
	Fail func(w http.ResponseWriter, r *http.Request, err error)
	// NoStore wraps w so that an answer that sets a cookie is stored by
	// no cache; NoStoreHeader makes h such an answer's headers.
	NoStore       func(w http.ResponseWriter) http.ResponseWriter
	NoStoreHeader func(h http.Header)
	// RewriteDomain gives a Set-Cookie of Qelos's the app's host as its
	// Domain.
	RewriteDomain func(setCookie, host string) string
}

// New returns the /api/** reverse proxy to Qelos that Middleware.Proxy
// documents.
func New(o Options) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			st := pr.In.Context().Value(stateKey{}).(*state)
			pr.Out.URL.Scheme, pr.Out.URL.Host = o.Target.Scheme, o.Target.Host
			pr.Out.Host = o.Target.Host
			h := pr.Out.Header
			StripIdentityHeaders(h)
			// ReverseProxy re-adds an upgrade the client asked for;
			// nothing is switched to another protocol here.
			delete(h, "Upgrade")
			delete(h, "Connection")
			if st.bearer != "" {
				// The middleware's credential, and no credential of the
				// browser's: Qelos prefers a cookie to a bearer and an
				// x-api-key to both, so any of them would win.
				delete(h, "Cookie")
				delete(h, "X-Api-Key")
				h.Set("Authorization", "Bearer "+st.bearer)
			} else {
				dropCookies(h, o.PairCookie, o.Passthrough)
			}
			if st.scrub {
				// The answer is read and rewritten: it must come as plain
				// JSON.
				delete(h, "Accept-Encoding")
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			o.Answered(resp)
			st := resp.Request.Context().Value(stateKey{}).(*state)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return errUpgrade
			}
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) > 0 {
				resp.Header.Del("Set-Cookie")
				for _, c := range cookies {
					resp.Header.Add("Set-Cookie", o.RewriteDomain(c, st.host))
				}
				o.NoStoreHeader(resp.Header)
			}
			if st.scrub {
				return ScrubUserSecrets(resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The details (addresses, ports, the transport's words) are
			// for the log; the browser gets the stable code.
			o.Logger.Warn("qelos proxy: upstream error", "method", r.Method, "path", r.URL.Path, "err", ScrubURL(err))
			o.Fail(w, r, &qelos.Error{Status: http.StatusBadGateway, Code: qelos.CodeProxyUpstreamError, Message: "Qelos could not be reached; try again shortly", Err: ScrubURL(err)})
		},
		Transport: o.Transport,
		ErrorLog:  slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Refuse(r); err != nil {
			o.Fail(w, r, err)
			return
		}
		st := &state{host: r.Host, scrub: UserDocumentRoute(r)}
		bearer, ok := o.Bearer(w, r)
		if !ok {
			return
		}
		st.bearer = bearer
		// A pair refreshed or cleared here, or a Set-Cookie of Qelos's:
		// the answer is made uncacheable when its headers are written.
		rp.ServeHTTP(o.NoStore(w), r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// errUpgrade is why an answer switching protocols is not relayed.
var errUpgrade = errors.New("qelos proxy: Qelos answered 101 Switching Protocols, which is not relayed")

type stateKey struct{}

// state is what the proxy's hooks need to know of the inbound request.
type state struct {
	host   string // inbound Host, for the Set-Cookie Domain rewrite
	bearer string // the pair's access token, if the request had a pair
	scrub  bool   // the answer may hold a user document: see ScrubUserSecrets
}

// dropCookies removes from a Cookie header bound for Qelos the app's own
// session cookies, which Qelos has no use for, and, unless passthrough,
// Qelos's session cookies (qlt_*, token), which only passthrough lets the
// browser use. A name is compared trimmed and in any case, so no spelling
// Qelos's cookie parser might accept slips through.
func dropCookies(h http.Header, pairCookie func(string) bool, passthrough bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			name = strings.TrimSpace(name)
			if part == "" || pairCookie(name) || !passthrough && qelosSessionCookie(name) {
				continue
			}
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// qelosSessionCookie reports whether name, in any case, is one Qelos reads
// as its session: qlt_<tenant>, or the fallback "token", widened to every
// spelling for stripping: no variant a parser upstream might fold can
// pass beside an injected credential.
func qelosSessionCookie(name string) bool {
	return len(name) >= 4 && strings.EqualFold(name[:4], "qlt_") || strings.EqualFold(name, "token")
}

// ScrubURL drops the URL from a transport error: its query may hold a
// credential (a social callback's rt).
func ScrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return err
}

// Proxied reports whether ctx is that of a request the proxy forwards, so
// that the upstream calls it makes can be told from the middleware's own.
func Proxied(ctx context.Context) bool { return ctx.Value(stateKey{}) != nil }
