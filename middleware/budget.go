package middleware

// The request budgets of Config.Limits: every attacker-sized input is
// measured here, before any other work, and a request over budget is
// refused whole (431) rather than read in part.

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"
)

var (
	errTooManyCookies      = errors.New("more cookies than Config.Limits.MaxCookies")
	errCookiesTooLarge     = errors.New("Cookie headers larger than Config.Limits.MaxCookieBytes")
	errTooManyQelosCookies = errors.New("more Qelos session cookies than Config.Limits.MaxQelosCookies")
	errCredentialTooLarge  = errors.New("a credential larger than Config.Limits.MaxCredentialBytes")
)

// cookieScan is what one pass over a request's Cookie headers finds.
type cookieScan struct {
	// access and refresh are the sealed values of the session pair, as
	// cookieJar.value would find each.
	access, refresh string
	// qelos is the first of Qelos's session cookies ("qlt_0=…"), as sent,
	// and qelosCount how many there are; both are left empty when
	// passthrough is off.
	qelos      string
	qelosCount int
}

// admit checks r against the request budgets and scans its cookies, in
// one pass that stops where a budget is exceeded: the lengths of the
// credential headers and of the Cookie headers first (no parsing), then
// the count of cookies, of Qelos cookies and each Qelos cookie's length.
func (m *Middleware) admit(r *http.Request) (cookieScan, error) {
	lim := &m.cfg.Limits
	h := r.Header
	if v := h["Authorization"]; len(v) > 0 && len(v[0]) > lim.MaxCredentialBytes {
		return cookieScan{}, errCredentialTooLarge
	}
	if v := h["X-Api-Key"]; len(v) > 0 && len(v[0]) > lim.MaxCredentialBytes {
		return cookieScan{}, errCredentialTooLarge
	}
	lines := h["Cookie"]
	if len(lines) > lim.MaxCookies {
		return cookieScan{}, errTooManyCookies
	}
	size := 0
	for _, line := range lines {
		if size += len(line); size > lim.MaxCookieBytes {
			return cookieScan{}, errCookiesTooLarge
		}
	}
	return m.scanCookies(lines)
}

// scanCookies is admit's pass over the Cookie headers, which must already
// be within Limits.MaxCookieBytes.
func (m *Middleware) scanCookies(lines []string) (s cookieScan, err error) {
	lim := &m.cfg.Limits
	j := m.jar
	passthrough := !m.cfg.DisablePassthrough
	n, chunked := 0, false
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if n++; n > lim.MaxCookies {
				return cookieScan{}, errTooManyCookies
			}
			part = textproto.TrimString(part)
			k, v, ok := strings.Cut(part, "=")
			if passthrough && qelosCookieName(k) {
				if s.qelosCount++; s.qelosCount > lim.MaxQelosCookies {
					return cookieScan{}, errTooManyQelosCookies
				}
				if len(v) > lim.MaxCredentialBytes {
					return cookieScan{}, errCredentialTooLarge
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
	return s, nil
}

// refuseOverBudget answers a request over one of the request budgets:
// 431, through Config.ErrorHandler, its cookies untouched.
func (m *Middleware) refuseOverBudget(w http.ResponseWriter, r *http.Request, err error) {
	m.log.Debug("qelos limits: request refused", "err", err, "path", r.URL.Path)
	m.fail(w, r, http.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge,
		"the request carries more or larger cookies or credentials than this app accepts; clear this site's cookies and try again")
}
