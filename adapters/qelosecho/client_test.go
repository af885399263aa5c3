package qelosecho_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/qelos-io/integrator-go/adapters/qelosecho"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// A handler calls Qelos as the request's user through qelosecho.Client.
func ExampleClient() {
	t := &exampleT{}
	defer t.finish()
	k := middlewaretest.Start(t) // in a test: middlewaretest.Start(t)
	mw := k.Middleware(middleware.Config{})

	e := echo.New()
	e.Use(qelosecho.New(mw))
	e.GET("/qelos-me", func(c echo.Context) error {
		client, ok := qelosecho.Client(c)
		if !ok {
			return c.NoContent(http.StatusUnauthorized)
		}
		u, err := client.Me(c.Request().Context())
		if err != nil {
			return c.NoContent(http.StatusBadGateway)
		}
		return c.String(http.StatusOK, u.Email)
	})
	app := http.Handler(e)

	for _, s := range []*middlewaretest.Session{nil, k.SignIn(mw, qelostest.AdminEmail, "")} {
		req := httptest.NewRequest(http.MethodGet, "/qelos-me", nil)
		if s != nil {
			req = s.Request(http.MethodGet, "/qelos-me", nil)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body)))
	}
	fmt.Println("calls to /api/me:", k.Calls(qelostest.EndpointMe))
	// Output:
	// 401
	// 200 admin@example.com
	// calls to /api/me: 1
}

// exampleT stands in for a test's *testing.T in this example.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
