package redistest

import (
	"fmt"
	"testing"
)

// TestClusterServesEverySlotAndFailsOver: a 3-master cluster with replicas
// serves a key on the master that owns its slot (and redirects it from the
// others); after a failover the promoted replica serves the same key, with
// the value the dead master had replicated.
func TestClusterServesEverySlotAndFailsOver(t *testing.T) {
	c := StartCluster(t, 3, true)
	owners := map[int]string{} // master index: a key it serves
	for n := 0; len(owners) < 3 && n < 100; n++ {
		key := fmt.Sprintf("key-%d", n)
		i, err := c.MasterOf(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := owners[i]; !ok {
			owners[i] = key
		}
	}
	if len(owners) != 3 {
		t.Fatalf("100 keys fell on %d masters, want 3", len(owners))
	}
	for i, key := range owners {
		if _, err := command(c.Master(i).Addr(), "SET", key, "v"); err != nil {
			t.Fatalf("SET %s on its master %d: %v", key, i, err)
		}
		other := c.Master((i + 1) % 3).Addr()
		if _, err := command(other, "GET", key); err == nil {
			t.Fatalf("GET %s on master %d, which does not own it: no MOVED", key, (i+1)%3)
		}
	}
	setReplicated(t, c.Master(0).Addr(), owners[0], "v") // the replica has it before its master dies
	old := c.Master(0).Addr()
	if err := c.FailOver(0); err != nil {
		t.Fatal(err)
	}
	if c.Master(0).Addr() == old {
		t.Fatal("master 0 is the same server after the failover")
	}
	v, err := command(c.Master(0).Addr(), "GET", owners[0])
	if err != nil || v != "v" {
		t.Fatalf("GET %s on the promoted replica: %v, %v; want v", owners[0], v, err)
	}
}
