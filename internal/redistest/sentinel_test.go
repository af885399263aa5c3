package redistest

import "testing"

// TestSentinelFailsOverToTheReplica: a value written to the master before
// it crashes is read from the replica the Sentinel promoted.
func TestSentinelFailsOverToTheReplica(t *testing.T) {
	st := StartSentinel(t)
	old := st.Master().Addr()
	if _, err := command(old, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := command(old, "WAIT", "1", "2000"); err != nil {
		t.Fatal(err)
	}
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
