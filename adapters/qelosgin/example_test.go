package qelosgin_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/qelos-io/integrator-go/adapters/qelosgin"
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
	r := gin.New()
	r.Use(qelosgin.New(mw))
	r.POST("/auth/signin", gin.WrapH(mw.SignInHandler()))
	r.POST("/auth/signout", gin.WrapH(mw.SignOutHandler()))
	r.GET("/private", qelosgin.Require(middleware.SignedIn()), func(c *gin.Context) {
		u, _ := qelosgin.User(c)
		ws, _ := qelosgin.Workspace(c)
		c.String(http.StatusOK, "hello %s of %s", u.DisplayName(), ws.Name)
	})

	// A browser: /private refuses it, it signs in, /private greets it.
	private := httptest.NewRequest(http.MethodGet, "/private", nil)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, private)
	fmt.Print(w.Code, " ", w.Body)

	signIn := httptest.NewRequest(http.MethodPost, "/auth/signin",
		strings.NewReader(`{"username":"admin@example.com","password":"Admin-Pass-123"}`))
	signIn.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	r.ServeHTTP(w, signIn)
	for _, c := range w.Result().Cookies() {
		private.AddCookie(c)
	}

	w = httptest.NewRecorder()
	r.ServeHTTP(w, private)
	fmt.Println(w.Code, w.Body)
	// Output:
	// 401 {"code":"UNAUTHORIZED"}
	// 200 hello Ada Admin of Acme Team
}
