package qelosapi_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// Manage the user's API tokens from a handler: the request's client
// (middleware.ClientFrom) creates one scoped to a workspace, lists it and
// revokes it; a second revocation is qelos.ErrNotFound.
func ExampleClient_CreateAPIToken() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t)
	s := k.SignIn(k.Middleware(middleware.Config{}), qelostest.AdminEmail, "")
	ctx := s.Context(context.Background()) // in a handler: r.Context()

	c, _ := middleware.ClientFrom(ctx)
	secret, token, err := c.CreateAPIToken(ctx, qelosapi.NewAPIToken{
		Nickname:    "ci",
		ExpiresAt:   time.Now().Add(24 * time.Hour),
		WorkspaceID: qelostest.AcmeWorkspaceID,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(secret[:3], token.Nickname, token.Workspace.ID == qelostest.AcmeWorkspaceID)

	list, _ := c.APITokens(ctx)
	fmt.Println(len(list), list[0].Workspace.Name)

	fmt.Println(c.RevokeAPIToken(ctx, token.ID))
	fmt.Println(errors.Is(c.RevokeAPIToken(ctx, token.ID), qelos.ErrNotFound))
	// Output:
	// ql_ ci true
	// 1 Acme Team
	// <nil>
	// true
}

// exampleT stands in for a test's *testing.T in these examples.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
