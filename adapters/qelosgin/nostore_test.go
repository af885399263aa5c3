package qelosgin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/adapters/qelosgin"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestThreatSharedCacheSetCookie: a handler's Cache-Control cannot make an
// answer that carries a refreshed pair cacheable, whether the handler
// writes a body, leaves gin to write the headers, aborts, flushes them
// first or writes a string.
func TestThreatSharedCacheSetCookie(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	r := gin.New()
	r.Use(qelosgin.New(mw))
	r.GET("/cached", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.String(http.StatusOK, "page")
	})
	r.GET("/cached-silent", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Status(http.StatusNoContent)
	})
	r.GET("/cached-abort", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.AbortWithStatus(http.StatusForbidden) // WriteHeaderNow
	})
	r.GET("/cached-flush", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Writer.Flush() // the headers first, as an event stream does
	})
	r.GET("/cached-string", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		io.WriteString(c.Writer, "page") // WriteString, as gin's event streams do
	})
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	k.Expire()
	for _, path := range []string{"/cached", "/cached-silent", "/cached-abort", "/cached-flush", "/cached-string"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, s.Request("GET", path, nil))
		res := rec.Result()
		if len(res.Cookies()) == 0 || res.Header.Get("Cache-Control") != "private, no-store" || res.Header.Get("Vary") != "Cookie" {
			t.Errorf("%s: %d cookies, Cache-Control %q, Vary %q", path, len(res.Cookies()), res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
		}
	}
}
