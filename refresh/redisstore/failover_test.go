package redisstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestFailoverMidStormSignsNobodyOut: three replicas on a Redis Cluster of
// three masters, each with a replica. An expired pair's 300 requests reach
// the replicas at once; while the owner is in Qelos (a 1 s refresh), the
// master holding the token's lock crashes and its replica takes over. The
// stores find the slot's new master (they reload the cluster's slot map on
// a failed operation): every request gets the owner's pair, nobody a 401 or
// a cleared cookie, the token is spent once, and the browser's final jar
// is signed in on every replica.
func TestFailoverMidStormSignsNobodyOut(t *testing.T) {
	t0 := time.Now()
	c := redistest.StartCluster(t, 3, true)
	t.Logf("cluster of 3 masters and 3 replicas ready in %v", time.Since(t0).Round(time.Millisecond))
	f := newFleet(t, fleetOptions{replicas: 3, url: c.URL()})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: time.Second, Times: 1})

	stormDone := make(chan []answer, 1)
	go func() { stormDone <- f.storm(300, old) }()

	// The owner is in Qelos: its lock is in the cluster. Fail over the
	// master that holds it.
	raw := rawClient(t, c.URL())
	var lock string
	eventually(t, 5*time.Second, func() bool {
		if f.refreshes() != 1 {
			return false
		}
		keys, _ := scanKeys(raw, "*lock:*")
		for _, k := range keys {
			if !strings.Contains(k, "readiness") {
				lock = k
			}
		}
		return lock != ""
	})
	i, err := c.MasterOf(lock)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if err := c.FailOver(i); err != nil {
		t.Fatal(err)
	}
	t.Logf("master %d (holding %s) failed over in %v", i, lock, time.Since(t0).Round(time.Millisecond))
	answers := <-stormDone
	f.judge("primary failover mid-storm", newJar(old), answers)
	c0 := count(answers)
	t.Logf("storm during the failover: %s, %d upstream refresh(es), slowest %v", c0, f.refreshes(), c0.worst.Round(time.Millisecond))
	// The failover takes milliseconds: the waiting requests get the owner's
	// pair within their UpstreamTimeout (5 s), once the stores route the
	// slot to the promoted replica.
	if c0.statuses[200] != len(answers) {
		f.dumpLogs()
		t.Errorf("%s during a failover of milliseconds, want 300 × 200", c0)
	}
}
