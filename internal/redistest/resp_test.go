package redistest

import "testing"

// setReplicated sets key on the master at addr and waits until a replica
// has acknowledged it, at most 20 s. WAIT counts the writes of its own
// connection only (on another it answers at once, whatever the replica
// holds), so both share one.
func setReplicated(t *testing.T, addr, key, value string) {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.do("SET", key, value); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	for range 10 {
		v, err := c.do("WAIT", "1", "2000")
		if err != nil {
			t.Fatalf("WAIT: %v", err)
		}
		if n, _ := v.(int64); n >= 1 {
			return
		}
		t.Log("WAIT: no replica has acknowledged the write yet; asking again")
	}
	t.Fatalf("WAIT: no replica acknowledged SET %s in 20 s", key)
}
