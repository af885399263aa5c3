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
	// The value must have reached the replica before the master dies:
	// WAIT answers how many replicas acknowledged it, 0 when its timeout
	// ran out first (a loaded machine), so it is asked again.
	for tries, acked := 0, int64(0); acked < 1; tries++ {
		if tries == 10 {
			t.Fatal("WAIT: the replica acknowledged no write in 20 s")
		}
		v, err := command(old, "WAIT", "1", "2000")
		if err != nil {
			t.Fatal(err)
		}
		acked, _ = v.(int64)
		if acked < 1 {
			t.Log("WAIT: the replica has not acknowledged the write yet; asking again")
		}
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
