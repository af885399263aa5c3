package middlewaretest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// A test of an app's guarded route, signed in as the demo admin without a
// sign-in form. In a test, pass the test's t to Start.
func ExampleStart() {
	t := &exampleT{}
	defer t.finish()

	k := middlewaretest.Start(t)            // closed when the test ends
	mw := k.Middleware(middleware.Config{}) // AppURL, CookieKeys and the clock from the kit
	app := mw.Handler(middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		fmt.Fprintln(w, u.Email, "in", ws.Name)
	})))

	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, s.Request("GET", "/private", nil))
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 200 admin@example.com in Acme Team
}

// Expire a session without sleeping: the kit's clock is shared by the
// server and the middleware, so the next request refreshes the pair.
func ExampleKit_Expire() {
	t := &exampleT{}
	defer t.finish()

	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})
	app := mw.Handler(middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	s := k.SignIn(mw, qelostest.AdminEmail, "")

	k.Expire()
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, s.Request("GET", "/private", nil))
	fmt.Println(rec.Code, "refreshes:", k.Calls(qelostest.EndpointRefresh), "new cookies:", len(rec.Result().Cookies()))
	// Output:
	// 200 refreshes: 1 new cookies: 2
}

// Unit-test a handler that calls Qelos, without Handler: the session's
// Auth, put in the request's context, has a Client that calls the kit's
// server as the user.
func ExampleSession_Context() {
	t := &exampleT{}
	defer t.finish()

	k := middlewaretest.Start(t)
	s := k.SignIn(k.Middleware(middleware.Config{}), qelostest.AdminEmail, "")

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClientFrom(r.Context())
		ws, err := c.Workspaces(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, len(ws), "workspaces")
	})
	req := httptest.NewRequest("GET", "/my-workspaces", nil)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req.WithContext(s.Context(req.Context())))
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 200 2 workspaces
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
