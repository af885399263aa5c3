package middleware

// The request budgets of Config.Limits: every attacker-sized input is
// measured here, before any other work, and a request over budget is
// refused whole (431) rather than read in part.

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"

	qelos "github.com/qelos-io/integrator-go"
)

var (
	errTooManyCookies      = errors.New("more cookies than Config.Limits.MaxCookies")
	errCookiesTooLarge     = errors.New("cookie headers larger than Config.Limits.MaxCookieBytes")
	errTooManyQelosCookies = errors.New("more Qelos session cookies than Config.Limits.MaxQelosCookies")
	errCredentialTooLarge  = errors.New("a credential larger than Config.Limits.MaxCredentialBytes")
)

// cookieScan is what admit found: the credential headers (looked up once
// for the whole request) and what one pass over the Cookie headers finds.
type cookieScan struct {
	apiKey, authz, cookies []string // the X-Api-Key, Authorization (once admitAuthorization ran) and Cookie headers
	// access and refresh are the sealed values of the session pair, as
	// cookieJar.value would find each.
	access, refresh string
	// qelos is the first of Qelos's session cookies ("qlt_0=…"), as sent,
	// and qelosCount how many there are; both are left empty when
	// passthrough is off.
	qelos      string
	qelosCount int
	// qelosIgnored is whether a Qelos session cookie was sent and ignored,
	// passthrough being off.
	qelosIgnored bool
}

// admit checks r against the request budgets and scans its cookies, in
// one pass that stops where a budget is exceeded: the lengths of the
// credential headers and of the Cookie headers first (no parsing), then
// the count of cookies, of Qelos cookies and each Qelos cookie's length.
// A request with an x-api-key is identified by the key alone, so only the
// key is judged (and the other fields of the scan are left empty); the
// Authorization header is judged by admitAuthorization when a request
// that the session pair did not identify comes to read it.
func (m *Middleware) admit(r *http.Request, s *cookieScan) error {
	lim := &m.cfg.Limits
	h := r.Header
	s.apiKey = h["X-Api-Key"]
	if len(s.apiKey) > 0 && s.apiKey[0] != "" {
		// The key alone identifies the request (Qelos's precedence):
		// nothing else is read, so nothing else is judged.
		if len(s.apiKey[0]) > lim.MaxCredentialBytes {
			return errCredentialTooLarge
		}
		return nil
	}
	s.cookies = h["Cookie"]
	if len(s.cookies) == 0 {
		return nil
	}
	if len(s.cookies) > lim.MaxCookies {
		return errTooManyCookies
	}
	size := 0
	for _, line := range s.cookies {
		if size += len(line); size > lim.MaxCookieBytes {
			return errCookiesTooLarge
		}
	}
	return m.scanCookies(s)
}

// admitAuthorization looks up r's Authorization header into s, checking
// it against Limits.MaxCredentialBytes before anything reads it.
func (m *Middleware) admitAuthorization(r *http.Request, s *cookieScan) error {
	s.authz = r.Header["Authorization"]
	if len(s.authz) > 0 && len(s.authz[0]) > m.cfg.Limits.MaxCredentialBytes {
		return errCredentialTooLarge
	}
	return nil
}

// scanCookies is admit's pass over the Cookie headers, which must already
// be within Limits.MaxCookieBytes.
func (m *Middleware) scanCookies(s *cookieScan) error {
	lim := &m.cfg.Limits
	j := m.jar
	lines := s.cookies
	passthrough := m.cfg.Proxy.Passthrough
	n, chunked := 0, false
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if n++; n > lim.MaxCookies {
				return errTooManyCookies
			}
			part = textproto.TrimString(part)
			k, v, ok := strings.Cut(part, "=")
			if qelosCookieName(k) {
				if !passthrough {
					s.qelosIgnored = true // looked at, and ignored: see Config.Proxy.Passthrough
					continue
				}
				if s.qelosCount++; s.qelosCount > lim.MaxQelosCookies {
					return errTooManyQelosCookies
				}
				if len(v) > lim.MaxCredentialBytes {
					return errCredentialTooLarge
				}
				if s.qelos == "" {
					s.qelos = part
				}
				continue
			}
			if !ok {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			switch k {
			case j.access.wire:
				if s.access == "" {
					s.access = v
				}
			case j.refresh.wire:
				if s.refresh == "" {
					s.refresh = v
				}
			case j.access.chunks[0], j.refresh.chunks[0]:
				chunked = true
			}
		}
	}
	if chunked {
		if s.access == "" {
			s.access = j.valueIn(lines, j.access)
		}
		if s.refresh == "" {
			s.refresh = j.valueIn(lines, j.refresh)
		}
	}
	return nil
}

// refuseOverBudget answers a request over one of the request budgets:
// 431, through Config.ErrorHandler, its cookies untouched.
func (m *Middleware) refuseOverBudget(w http.ResponseWriter, r *http.Request, err error) {
	m.log.Debug("qelos limits: request refused", "err", err, "path", r.URL.Path)
	m.fail(w, r, &qelos.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Code: qelos.CodeHeadersTooLarge, Message: "the request carries more or larger cookies or credentials than this app accepts; clear this site's cookies and try again"})
}
