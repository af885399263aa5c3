package qelostest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/qelos-io/integrator-go/qelostest"
)

// Sign in against the test server in OAuth mode and ask who we are.
func Example() {
	srv := qelostest.New(qelostest.Options{})
	defer srv.Close()

	res, err := http.Post(srv.URL+"/api/signin", "application/json", strings.NewReader(
		`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`","authType":"oauth"}`))
	if err != nil {
		panic(err)
	}
	var signin struct {
		Payload struct {
			Token     string `json:"token"`
			Workspace struct {
				Name string `json:"name"`
			} `json:"workspace"`
		} `json:"payload"`
	}
	_ = json.NewDecoder(res.Body).Decode(&signin)
	res.Body.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+signin.Payload.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var me struct {
		Email string `json:"email"`
	}
	_ = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()

	fmt.Println(me.Email, "in", signin.Payload.Workspace.Name)
	fmt.Println("sign-ins:", srv.Calls(qelostest.EndpointSignIn))
	// Output:
	// admin@example.com in Acme Team
	// sign-ins: 1
}

// Make the next refresh fail with a 503 to test a client's fault handling.
func ExampleServer_InjectFault() {
	srv := qelostest.New(qelostest.Options{})
	defer srv.Close()
	_, refresh, _ := srv.IssuePair(qelostest.AdminEmail, "")

	srv.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	for range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/api/token/refresh", nil)
		req.Header.Set("Authorization", "Bearer "+refresh)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	// Output:
	// 503
	// 200
}
