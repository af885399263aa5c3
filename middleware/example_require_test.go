package middleware_test

import (
	"fmt"
	qelos "github.com/qelos-io/integrator-go"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// Guards in the standard middleware shape compose like any other
// func(http.Handler) http.Handler: chi's r.With, alice, or plain calls.
func ExampleRequire() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})

	admins := middleware.Require(middleware.HasRole("admin"))
	inWorkspace := middleware.Require(middleware.HasWorkspace())
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the report") })
	mux := http.NewServeMux()
	mux.Handle("GET /report", admins(inWorkspace(report)))
	app := mw.Handler(mux)

	for _, s := range []*middlewaretest.Session{
		k.SignIn(mw, qelostest.UserEmail, ""),
		k.SignIn(mw, qelostest.AdminEmail, ""),
		k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID),
	} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, s.Request("GET", "/report", nil))
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 403 {"code":"FORBIDDEN"}
	// 403 {"code":"NO_WORKSPACE"}
	// 200 the report
}

// Count every call to Qelos by kind and status, as a metrics library
// would, from Config.OnEvent.
func ExampleConfig_onEvent() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t)

	var mu sync.Mutex         // OnEvent runs concurrently
	calls := map[string]int{} // a real app: a counter vector, labelled by e.Call and e.Status
	mw := k.Middleware(middleware.Config{OnEvent: func(e qelos.Event) {
		if e.Kind == qelos.EventUpstreamCall {
			mu.Lock()
			defer mu.Unlock()
			calls[fmt.Sprint(e.Call, " ", e.Status)]++ // e.Duration for a histogram
		}
	}})
	mux := http.NewServeMux()
	mux.Handle("/api/", mw.Proxy())
	app := mw.Handler(mux)

	s := k.SignIn(mw, qelostest.AdminEmail, "")
	app.ServeHTTP(httptest.NewRecorder(), s.Request("GET", "/api/me", nil))
	k.Expire()
	app.ServeHTTP(httptest.NewRecorder(), s.Request("GET", "/api/me", nil))
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(calls)
	// Output:
	// map[proxy 200:2 refresh 200:1]
}
