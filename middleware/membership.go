package middleware

import (
	"context"
	"slices"
)

// Membership returns the workspace id among the user's memberships, with
// the roles the user holds there, or nil when the user does not belong to
// it (or id is empty). It reads c.Workspaces (cached for
// Config.Limits.IdentityTTL), so a WorkspaceResolver may call it on every
// request; an error means Qelos could not be asked.
func (c *Client) Membership(ctx context.Context, id string) (*Workspace, error) {
	if id == "" {
		return nil, nil
	}
	list, err := c.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(list, func(w Workspace) bool { return w.ID == id }); i >= 0 {
		ws := list[i]
		return &ws, nil
	}
	return nil, nil
}
