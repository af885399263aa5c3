package qelosecho5_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/adapters/qelosecho5"
	"github.com/qelos-io/integrator-go/internal/conformance"
	"github.com/qelos-io/integrator-go/middleware"
)

// mount serves the conformance app with echo v5. /whoami reads the session
// through the adapter's accessors and /private through middleware's own,
// so both are proven to see the same Auth.
func mount(mw *middleware.Middleware) http.Handler {
	e := echo.New()
	e.Use(qelosecho5.New(mw))
	e.GET("/whoami", func(c *echo.Context) error {
		u, _ := qelosecho5.User(c)
		ws, _ := qelosecho5.Workspace(c)
		return c.JSON(http.StatusOK, map[string]any{"user": u, "workspace": ws})
	})
	e.GET("/private", func(c *echo.Context) error {
		u, _ := middleware.UserFrom(c.Request().Context())
		ws, _ := middleware.WorkspaceFrom(c.Request().Context())
		return c.JSON(http.StatusOK, map[string]any{"user": u, "workspace": ws})
	}, qelosecho5.Require(middleware.SignedIn()))
	whoami := func(c *echo.Context) error {
		u, _ := qelosecho5.User(c)
		ws, _ := qelosecho5.Workspace(c)
		return c.JSON(http.StatusOK, map[string]any{"user": u, "workspace": ws})
	}
	e.GET("/admin", whoami, qelosecho5.Require(middleware.HasRole("admin")))
	e.GET("/editor", whoami, qelosecho5.Require(middleware.HasWorkspaceRole("editor")))
	e.GET("/workspace", whoami, qelosecho5.Require(middleware.HasWorkspace()))
	e.GET("/w/:id", whoami, qelosecho5.SelectWorkspaceParam("id"), qelosecho5.Require(middleware.HasWorkspace()))
	e.GET("/health", func(c *echo.Context) error {
		_, ok := qelosecho5.Auth(c)
		return c.JSON(http.StatusOK, map[string]bool{"hasAuth": ok})
	})
	e.GET("/abort", func(c *echo.Context) error {
		return echo.ErrForbidden
	})
	e.GET("/ping", func(c *echo.Context) error {
		if _, ok := qelosecho5.User(c); ok {
			return c.NoContent(http.StatusNoContent)
		}
		return c.NoContent(http.StatusOK)
	})
	return e
}

func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

// The warm-request cost of echo v5 against plain net/http, from one run:
//
//	go test -run '^$' -bench ValidPair -benchmem ./adapters/qelosecho5
func BenchmarkEcho5ValidPair(b *testing.B)   { conformance.Bench(b, mount) }
func BenchmarkNetHTTPValidPair(b *testing.B) { conformance.Bench(b, conformance.NetHTTP) }
