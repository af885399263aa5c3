package refresh_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

// Ten requests arrive at once with the same expired pair: the Coordinator
// spends the single-use refresh token once and hands all of them the same
// new pair.
func ExampleCoordinator() {
	qelos := qelostest.New(qelostest.Options{}) // a Qelos-compatible server on loopback
	defer qelos.Close()
	_, refreshToken, _ := qelos.IssuePair(qelostest.AdminEmail, "")

	c := refresh.NewCoordinator(&refresh.Client{BaseURL: qelos.URL}, refresh.Options{})
	var wg sync.WaitGroup
	pairs := make([]refresh.Pair, 10)
	for i := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pairs[i], _ = c.Refresh(context.Background(), refreshToken)
		}()
	}
	wg.Wait()
	same := true
	for _, p := range pairs {
		same = same && p == pairs[0] && p.AccessToken != ""
	}
	fmt.Println("upstream refreshes:", qelos.Calls(qelostest.EndpointRefresh))
	fmt.Println("everyone got the same pair:", same)
	// Output:
	// upstream refreshes: 1
	// everyone got the same pair: true
}

// A rejected refresh token ends the session; anything else is transient.
func ExampleIsDefinitive() {
	qelos := qelostest.New(qelostest.Options{})
	defer qelos.Close()
	c := &refresh.Client{BaseURL: qelos.URL}

	_, err := c.Refresh(context.Background(), "spent-or-forged")
	fmt.Println("rejected:", refresh.IsDefinitive(err))

	qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 502})
	_, rt, _ := qelos.IssuePair(qelostest.AdminEmail, "")
	_, err = c.Refresh(context.Background(), rt)
	fmt.Println("502 rejected:", refresh.IsDefinitive(err))
	// Output:
	// rejected: true
	// 502 rejected: false
}
