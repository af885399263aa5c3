package qelosecho5

import (
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/middleware"
)

// WorkspaceResolver chooses the active workspace of a signed-in request
// from the echo context, such as a route parameter (c.Param). It follows
// [middleware.WorkspaceResolver]'s contract: check membership with
// cl.Workspaces, return nil, nil for none and an error when the choice
// could not be made.
type WorkspaceResolver func(c *echo.Context, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error)

// SelectWorkspace returns an echo middleware that applies resolve to each
// signed-in request, replacing the active workspace [New] chose:
// [middleware.SelectWorkspace] through echo.WrapMiddleware. Register it on
// the routes whose parameters name the workspace, after New:
//
//	e.GET("/w/:workspace/reports", reports, qelosecho5.SelectWorkspace(byParam), qelosecho5.Require(middleware.HasWorkspace()))
//
// Anonymous requests pass through unchanged. For the common case, a
// route parameter holding the workspace id, use [SelectWorkspaceParam].
func SelectWorkspace(resolve WorkspaceResolver) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			byContext := func(_ *http.Request, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
				return resolve(c, u, cl)
			}
			return echo.WrapMiddleware(middleware.SelectWorkspace(byContext))(next)(c)
		}
	}
}

// SelectWorkspaceParam is SelectWorkspace choosing the workspace whose id
// is the route parameter name (c.Param(name)), when the user belongs to
// it, with the roles the user holds there ([middleware.Client.Membership]);
// none otherwise, so Require(middleware.HasWorkspace()) answers 403
// NO_WORKSPACE:
//
//	e.GET("/w/:workspace/reports", reports, qelosecho5.SelectWorkspaceParam("workspace"), qelosecho5.Require(middleware.HasWorkspace()))
func SelectWorkspaceParam(name string) echo.MiddlewareFunc {
	return SelectWorkspace(func(c *echo.Context, _ *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
		return cl.Membership(c.Request().Context(), c.Param(name))
	})
}
