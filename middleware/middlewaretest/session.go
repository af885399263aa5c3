package middlewaretest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
)

// Session is a signed-in session of one user, made by Kit.SignIn.
type Session struct {
	// Auth is what the middleware attaches to the session's requests. Its
	// Client calls the kit's server as the user, so a handler that calls
	// Qelos can be unit-tested without Handler: see Session.Context.
	Auth *middleware.Auth
	// Cookies are the sealed session cookies, as the browser holds them
	// after signing in.
	Cookies []*http.Cookie
}

// Request returns a request for an app's handler (httptest.NewRequest:
// target is a path or a URL) carrying the session's cookies.
func (s *Session) Request(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	for _, c := range s.Cookies {
		r.AddCookie(c)
	}
	return r
}

// Context returns parent carrying the session's Auth, as Handler would
// attach it: middleware.UserFrom, WorkspaceFrom and ClientFrom find it,
// and the client calls the kit's server. Use it to unit-test one handler:
//
//	req := httptest.NewRequest("GET", "/orders", nil)
//	handler.ServeHTTP(rec, req.WithContext(s.Context(req.Context())))
func (s *Session) Context(parent context.Context) context.Context {
	return middleware.NewContext(parent, s.Auth)
}

// Client returns an HTTP client whose cookie jar holds the session's
// cookies for the app at appURL, as a signed-in browser's would. It follows
// no redirect, so a test sees each answer as it is.
func (s *Session) Client(appURL string) *http.Client {
	u, err := url.Parse(appURL)
	if err != nil {
		panic(fmt.Sprintf("middlewaretest: Session.Client: %v", err))
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, s.Cookies)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
