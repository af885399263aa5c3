package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/qelostest"
)

// The five lines that put Qelos sign-in in front of a net/http app.
func Example() {
	qelos := qelostest.New(qelostest.Options{}) // stands in for https://app.qelos.example
	defer qelos.Close()

	mw, err := middleware.New(middleware.Config{
		AppURL:     qelos.URL,
		CookieKeys: []middleware.CookieKey{middleware.GenerateCookieKey()},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("GET /private", middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		ws, _ := middleware.WorkspaceFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s", u.DisplayName(), ws.Name)
	})))
	app := httptest.NewServer(mw.Handler(mux))
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, _ := browser.Get(app.URL + "/private")
	fmt.Println("before sign-in:", resp.StatusCode)

	creds := `{"username":"admin@example.com","password":"Admin-Pass-123"}`
	resp, _ = browser.Post(app.URL+"/auth/signin", "application/json", strings.NewReader(creds))
	var body struct{ User middleware.User }
	json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println("signed in as:", body.User.Email)

	resp, _ = browser.Get(app.URL + "/private")
	page, _ := io.ReadAll(resp.Body)
	fmt.Println(string(page))
	// Output:
	// before sign-in: 401
	// signed in as: admin@example.com
	// hello Ada Admin of Acme Team
}

// RequireUser answers anonymous requests with the body every Qelos
// integrator uses.
func ExampleRequireUser() {
	h := middleware.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/private", nil))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output: 401 {"code":"UNAUTHORIZED"}
}

// Keys come from the environment in the QELOS_COOKIE_KEYS format; put the
// new set first to rotate.
func ExampleParseCookieKeys() {
	current, previous := middleware.GenerateCookieKey(), middleware.GenerateCookieKey()
	keys, err := middleware.ParseCookieKeys(current.String() + "," + previous.String())
	fmt.Println(len(keys), err)
	// Output: 2 <nil>
}
