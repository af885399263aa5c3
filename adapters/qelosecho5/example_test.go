package qelosecho5_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v5"
	"github.com/qelos-io/integrator-go/adapters/qelosecho5"
	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

func Example() {
	qelos := qelostest.New(qelostest.Options{}) // stands in for your Qelos app
	defer qelos.Close()

	mw, err := middleware.New(middleware.Config{
		AppURL:     qelos.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()}, // keep yours in QELOS_COOKIE_KEYS
	})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.Use(qelosecho5.New(mw))
	e.POST("/auth/signin", echo.WrapHandler(mw.SignInHandler()))
	e.POST("/auth/signout", echo.WrapHandler(mw.SignOutHandler()))
	e.GET("/private", func(c *echo.Context) error {
		u, _ := qelosecho5.User(c)
		ws, _ := qelosecho5.Workspace(c)
		return c.String(http.StatusOK, fmt.Sprintf("hello %s of %s", u.DisplayName(), ws.Name))
	}, qelosecho5.Require(middleware.SignedIn()))

	// A browser: /private refuses it, it signs in, /private greets it.
	private := httptest.NewRequest(http.MethodGet, "/private", nil)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, private)
	fmt.Print(w.Code, " ", w.Body)

	signIn := httptest.NewRequest(http.MethodPost, "/auth/signin",
		strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123"}`))
	signIn.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	e.ServeHTTP(w, signIn)
	for _, c := range w.Result().Cookies() {
		private.AddCookie(c)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, private)
	fmt.Println(w.Code, w.Body)
	// Output:
	// 401 {"code":"UNAUTHORIZED"}
	// 200 hello Ada Admin of Acme Team
}
