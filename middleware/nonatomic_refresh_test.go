package middleware_test

import (
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

// TestRefreshStormAgainstNonAtomicQelos: Qelos does not spend refresh tokens
// atomically (qelostest.Options.RefreshRace reproduces it: every concurrent
// spend succeeds and forks the session). The coordinator must still spend
// each refresh token exactly once, so an app behind this library never
// forks a session: 200 concurrent requests with one expired pair make one
// upstream refresh, and every request gets the same new pair.
func TestRefreshStormAgainstNonAtomicQelos(t *testing.T) {
	h := newHarness(t, qelostest.Options{RefreshRace: 5 * time.Second}, nil)
	h.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: 100 * time.Millisecond, Times: 1}) // hold the door open
	cookies := h.pair(qelostest.AdminEmail, acmeID, true)

	const n = 200
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.get("/private", cookies...)
		}()
	}
	wg.Wait()

	if got := h.qelos.Calls(qelostest.EndpointRefresh); got != 1 {
		t.Fatalf("%d upstream refreshes for %d concurrent requests with one pair, want exactly 1", got, n)
	}
	var firstAccess, firstRefresh string
	for i, r := range replies {
		if r.status != 200 || r.whoami(t).User == nil {
			t.Fatalf("request %d: status %d %s", i, r.status, r.body)
		}
		a, rf := h.tokens(r.cookies)
		if i == 0 {
			firstAccess, firstRefresh = a, rf
		} else if a != firstAccess || rf != firstRefresh {
			t.Fatalf("request %d received a different pair: the session forked", i)
		}
	}
}
