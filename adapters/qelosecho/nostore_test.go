package qelosecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/qelos-io/integrator-go/adapters/qelosecho"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestThreatSharedCacheSetCookie: a handler's Cache-Control cannot make an
// answer that carries a refreshed pair cacheable, whether the handler
// writes a body or leaves the server to write the headers.
func TestThreatSharedCacheSetCookie(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	e := echo.New()
	e.Use(qelosecho.New(mw))
	e.GET("/cached", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return c.String(http.StatusOK, "page")
	})
	e.GET("/cached-silent", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return nil
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	k.Expire()
	for _, path := range []string{"/cached", "/cached-silent"} {
		res, err := s.Client(srv.URL).Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if len(res.Cookies()) == 0 || res.Header.Get("Cache-Control") != "private, no-store" || res.Header.Get("Vary") != "Cookie" {
			t.Errorf("%s: %d cookies, Cache-Control %q, Vary %q", path, len(res.Cookies()), res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
		}
	}
}
