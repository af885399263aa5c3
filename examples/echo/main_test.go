package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/internal/exampletest"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestExample starts this program against qelostest and drives the
// examples contract over HTTP (see exampletest.Suite).
func TestExample(t *testing.T) { exampletest.Suite(t, run) }

// TestExpiredSessionRefreshes is a test of the app's own, written with the
// testing kit: a session whose access token has expired is refreshed, and
// the handler sees the user, without sleeping.
func TestExpiredSessionRefreshes(t *testing.T) {
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	h := app(mw)
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)

	k.Expire()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, s.Request("GET", "/private", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), qelostest.AdminEmail) || len(rec.Result().Cookies()) != 2 {
		t.Fatalf("expired session: %d %s %v, want the user and a rotated pair", rec.Code, rec.Body, rec.Result().Cookies())
	}
	if n := k.Calls(qelostest.EndpointRefresh); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}
