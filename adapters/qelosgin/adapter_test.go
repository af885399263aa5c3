package qelosgin_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/adapters/qelosgin"
	"github.com/qelos-io/integrator-go/internal/conformance"
	"github.com/qelos-io/integrator-go/middleware"
)

func init() { gin.SetMode(gin.TestMode) }

// mount serves the conformance app with gin. /whoami reads the session
// through the adapter's accessors and /private through middleware's own,
// so both are proven to see the same Auth.
func mount(mw *middleware.Middleware) http.Handler {
	r := gin.New()
	r.Use(qelosgin.New(mw))
	r.GET("/whoami", func(c *gin.Context) {
		u, _ := qelosgin.User(c)
		ws, _ := qelosgin.Workspace(c)
		c.JSON(http.StatusOK, gin.H{"user": u, "workspace": ws})
	})
	r.GET("/private", qelosgin.Require(middleware.SignedIn()), func(c *gin.Context) {
		u, _ := middleware.UserFrom(c.Request.Context())
		ws, _ := middleware.WorkspaceFrom(c.Request.Context())
		c.JSON(http.StatusOK, gin.H{"user": u, "workspace": ws})
	})
	whoami := func(c *gin.Context) {
		u, _ := qelosgin.User(c)
		ws, _ := qelosgin.Workspace(c)
		c.JSON(http.StatusOK, gin.H{"user": u, "workspace": ws})
	}
	r.GET("/admin", qelosgin.Require(middleware.HasRole("admin")), whoami)
	r.GET("/editor", qelosgin.Require(middleware.HasWorkspaceRole("editor")), whoami)
	r.GET("/workspace", qelosgin.Require(middleware.HasWorkspace()), whoami)
	r.GET("/w/:id", qelosgin.SelectWorkspaceParam("id"), qelosgin.Require(middleware.HasWorkspace()), whoami)
	r.GET("/health", func(c *gin.Context) {
		_, ok := qelosgin.Auth(c)
		c.JSON(http.StatusOK, gin.H{"hasAuth": ok})
	})
	r.GET("/abort", func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"code": qelos.CodeForbidden})
	})
	r.GET("/ping", func(c *gin.Context) {
		if _, ok := qelosgin.User(c); ok {
			c.Status(http.StatusNoContent)
		}
	})
	return r
}

func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

// The warm-request cost of gin against plain net/http, from one run:
//
//	go test -run '^$' -bench ValidPair -benchmem ./adapters/qelosgin
func BenchmarkGinValidPair(b *testing.B)     { conformance.Bench(b, mount) }
func BenchmarkNetHTTPValidPair(b *testing.B) { conformance.Bench(b, conformance.NetHTTP) }
