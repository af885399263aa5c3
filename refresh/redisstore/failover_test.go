package redisstore_test

import (
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/internal/redistest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// TestFailoverMidStormSignsNobodyOut: three replicas on a Redis Cluster of
// three masters, each with a replica, or on a master and its replica
// watched by Sentinel. An expired pair's 300 requests reach the replicas at
// once; while the owner is in Qelos (a 1 s refresh), the master holding
// the token's lock crashes and its replica takes over. The stores find the
// new master (on a Cluster they reload the slot map on a failed operation;
// the failover client follows the Sentinel): every request gets the
// owner's pair, nobody a 401 or a cleared cookie, the token is spent once,
// and the browser's final jar is signed in on every replica.
func TestFailoverMidStormSignsNobodyOut(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(t *testing.T) (url string, failOver func(lock string) error)
	}{
		{"cluster", func(t *testing.T) (string, func(string) error) {
			c := redistest.StartCluster(t, 3, true)
			return c.URL(), func(lock string) error {
				i, err := c.MasterOf(lock)
				if err != nil {
					return err
				}
				return c.FailOver(i)
			}
		}},
		{"sentinel", func(t *testing.T) (string, func(string) error) {
			st := redistest.StartSentinel(t)
			return st.URL(), func(string) error { return st.FailOver() }
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			url, failOver := tt.start(t)
			t.Logf("Redis with replicas ready in %v", time.Since(t0).Round(time.Millisecond))
			failoverMidStorm(t, url, failOver)
		})
	}
}

func failoverMidStorm(t *testing.T, url string, failOver func(lock string) error) {
	f := newFleet(t, fleetOptions{replicas: 3, url: url})
	old := f.session(time.Minute)
	f.qelos.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Delay: time.Second, Times: 1})

	stormDone := make(chan []answer, 1)
	go func() { stormDone <- f.storm(300, old) }()

	// The owner is in Qelos: its lock is in Redis. Fail over the master
	// that holds it.
	raw := rawClient(t, url)
	var lock string
	eventually(t, 5*time.Second, func() bool {
		if f.refreshes() != 1 {
			return false
		}
		keys, _ := scanKeys(raw, "*lock:*")
		if len(keys) == 1 { // the fleet's Redis is the test's own
			lock = keys[0]
		}
		return lock != ""
	})
	t0 := time.Now()
	if err := failOver(lock); err != nil {
		t.Fatal(err)
	}
	t.Logf("the master holding %s failed over in %v", lock, time.Since(t0).Round(time.Millisecond))
	answers := <-stormDone
	f.judge("primary failover mid-storm", newJar(old), answers)
	c0 := count(answers)
	t.Logf("storm during the failover: %s, %d upstream refresh(es), slowest %v", c0, f.refreshes(), c0.worst.Round(time.Millisecond))
	// The failover takes milliseconds to a second: the waiting requests get
	// the owner's pair within their UpstreamTimeout (5 s).
	if c0.statuses[200] != len(answers) {
		f.dumpLogs()
		t.Errorf("%s during the failover, want 300 × 200", c0)
	}
}
