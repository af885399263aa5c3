package qelostest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

// Two tenants, chosen by the "tenant" request header as behind the Qelos
// gateway: the same username is a different user in each.
func ExampleOptions_tenants() {
	srv := qelostest.New(qelostest.Options{Tenants: []qelostest.Tenant{{
		ID:    "acme",
		Users: []qelostest.User{{Email: qelostest.AdminEmail, Password: "acme-secret-1", FirstName: "Otto"}},
	}}})
	defer srv.Close()

	signIn := func(tenant, password string) string {
		req, _ := http.NewRequest("POST", srv.URL+"/api/signin", strings.NewReader(
			`{"username":"`+qelostest.AdminEmail+`","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if tenant != "" {
			req.Header.Set("tenant", tenant)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		cookie, _, _ := strings.Cut(res.Header.Get("Set-Cookie"), "=")
		return strings.TrimSpace(fmt.Sprint(res.StatusCode, " ", cookie))
	}
	fmt.Println(signIn("", qelostest.AdminPassword))
	fmt.Println(signIn("acme", qelostest.AdminPassword))
	fmt.Println(signIn("acme", "acme-secret-1"))
	// Output:
	// 200 qlt_0
	// 401
	// 200 qlt_acme
}

// Qelos spends refresh tokens without a lock: concurrent refreshes with one
// refresh token can all succeed. RefreshRace reproduces it, so a client's
// tests can show it refreshes each token once.
func ExampleOptions_refreshRace() {
	srv := qelostest.New(qelostest.Options{RefreshRace: 5 * time.Second})
	defer srv.Close()
	_, refreshToken, _ := srv.IssuePair(qelostest.AdminEmail, "")

	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.URL+"/api/token/refresh", nil)
			req.Header.Set("Authorization", "Bearer "+refreshToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if res.StatusCode == 200 {
				succeeded++
			}
		}()
	}
	wg.Wait()
	fmt.Println("spends that succeeded:", succeeded, "upstream calls:", srv.Calls(qelostest.EndpointRefresh))
	// Output: spends that succeeded: 3 upstream calls: 3
}
