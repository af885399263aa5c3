package qelosgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/middleware"
)

// WorkspaceResolver chooses the active workspace of a signed-in request
// from the gin context, such as a route parameter (c.Param). It follows
// [middleware.WorkspaceResolver]'s contract: check membership with
// cl.Workspaces, return nil, nil for none and an error when the choice
// could not be made.
type WorkspaceResolver func(c *gin.Context, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error)

// SelectWorkspace returns a gin middleware that applies resolve to each
// signed-in request, replacing the active workspace [New] chose; see
// [middleware.SelectWorkspace]. Register it on the routes whose parameters
// name the workspace, after New:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspace(byParam), qelosgin.RequireWorkspace(), reports)
//
// Anonymous requests pass through unchanged. For the common case, a
// route parameter holding the workspace id, use [SelectWorkspaceParam].
func SelectWorkspace(resolve WorkspaceResolver) gin.HandlerFunc {
	return func(c *gin.Context) {
		byRequest := func(_ *http.Request, u *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
			return resolve(c, u, cl)
		}
		middleware.SelectWorkspace(byRequest)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// SelectWorkspaceParam is SelectWorkspace choosing the workspace whose id
// is the route parameter name (c.Param(name)), when the user belongs to
// it, with the roles the user holds there ([middleware.Client.Membership]);
// none otherwise, so [RequireWorkspace] answers 403 NO_WORKSPACE:
//
//	r.GET("/w/:workspace/reports", qelosgin.SelectWorkspaceParam("workspace"), qelosgin.RequireWorkspace(), reports)
func SelectWorkspaceParam(name string) gin.HandlerFunc {
	return SelectWorkspace(func(c *gin.Context, _ *middleware.User, cl *middleware.Client) (*middleware.Workspace, error) {
		return cl.Membership(c.Request.Context(), c.Param(name))
	})
}
