package redistest

import "testing"

// TestSentinelFailsOverToTheReplica: a value written to the master before
// it crashes is read from the replica the Sentinel promoted.
func TestSentinelFailsOverToTheReplica(t *testing.T) {
	st := StartSentinel(t)
	old := st.Master().Addr()
	setReplicated(t, old, "k", "v") // the replica has it before the master dies
	if err := st.FailOver(); err != nil {
		t.Fatal(err)
	}
	if st.Master().Addr() == old {
		t.Fatal("the master is the same server after the failover")
	}
	if v, err := command(st.Master().Addr(), "GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET k on the promoted replica: %v, %v; want v", v, err)
	}
}
