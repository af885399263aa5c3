package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelosapi"
	"github.com/qelos-io/integrator-go/qelostest"
)

// Choose the active workspace by subdomain (acme.app.example →
// "Acme Team"), granting it only to its members: the resolver's Client
// lists the user's workspaces with their roles. An API key created for one
// workspace is locked to it: the resolver sees the key's Scope and serves
// it on that workspace's subdomain only (the middleware would refuse to
// move it anyway, but saying so keeps the rule where it is read).
func ExampleWorkspaceResolver() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t)

	bySubdomain := func(r *http.Request, u *middleware.User, c *qelosapi.Client) (*middleware.Workspace, error) {
		sub, _, _ := strings.Cut(r.Host, ".")
		matches := func(ws *middleware.Workspace) bool { return strings.EqualFold(strings.Fields(ws.Name)[0], sub) }
		if a, ok := middleware.FromContext(r.Context()); ok && a.Scope() != nil {
			if matches(a.Scope()) {
				return a.Scope(), nil // the key's own workspace, as Qelos vouched for it
			}
			return nil, nil // a scoped key never moves to another workspace
		}
		list, err := c.Workspaces(r.Context()) // cached for Config.Limits.IdentityTTL
		if err != nil {
			return nil, err // Qelos unavailable: guards answer 503
		}
		for i := range list {
			if matches(&list[i]) {
				return &list[i], nil
			}
		}
		return nil, nil // not a member: no workspace
	}
	mw := k.Middleware(middleware.Config{ResolveWorkspace: bySubdomain})
	app := mw.Handler(middleware.Require(middleware.HasWorkspace())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, _ := middleware.WorkspaceFrom(r.Context())
		fmt.Fprint(w, ws.Name, " ", ws.Roles)
	})))

	s := k.SignIn(mw, qelostest.AdminEmail, "")
	key, _ := k.IssueAPIToken(qelostest.AdminEmail, qelostest.AcmeWorkspaceID, time.Now().Add(time.Hour))
	for _, host := range []string{"acme.app.example", "beta.app.example", "gamma.app.example"} {
		for _, who := range []string{"session", "Acme key"} {
			req := s.Request("GET", "http://"+host+"/dashboard", nil)
			if who == "Acme key" {
				req = httptest.NewRequest("GET", "http://"+host+"/dashboard", nil)
				req.Header.Set("X-Api-Key", key)
			}
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			fmt.Println(host, who, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
	}
	// Output:
	// acme.app.example session 200 Acme Team [admin user]
	// acme.app.example Acme key 200 Acme Team [admin user]
	// beta.app.example session 200 Beta Lab [user]
	// beta.app.example Acme key 403 {"code":"NO_WORKSPACE"}
	// gamma.app.example session 403 {"code":"NO_WORKSPACE"}
	// gamma.app.example Acme key 403 {"code":"NO_WORKSPACE"}
}

// Choose the active workspace by a route parameter: Handler runs before
// the router, so mount SelectWorkspace on the routes that name one.
func ExampleSelectWorkspace() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})

	byPath := func(r *http.Request, u *middleware.User, c *qelosapi.Client) (*middleware.Workspace, error) {
		list, err := c.Workspaces(r.Context())
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(list, func(ws middleware.Workspace) bool { return ws.ID == r.PathValue("workspace") })
		if i < 0 {
			return nil, nil
		}
		return &list[i], nil
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, _ := middleware.WorkspaceFrom(r.Context())
		fmt.Fprint(w, "reports of ", ws.Name)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /w/{workspace}/reports", middleware.SelectWorkspace(byPath)(
		middleware.Require(middleware.HasWorkspaceRole("admin"))(reports)))
	app := mw.Handler(mux)

	s := k.SignIn(mw, qelostest.AdminEmail, "")
	for _, id := range []string{qelostest.AcmeWorkspaceID, qelostest.BetaWorkspaceID} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, s.Request("GET", "/w/"+id+"/reports", nil))
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 reports of Acme Team
	// 403 {"code":"FORBIDDEN"}
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
