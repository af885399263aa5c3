package redistest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterReadyTimeout bounds how long a new cluster, or one failing over,
// may take to agree on its slots.
const clusterReadyTimeout = 20 * time.Second

// A Cluster is a Redis Cluster of redis-server children on loopback ports:
// masters that share the 16384 hash slots in even ranges, each with one
// replica when asked for. It is built from Go (CLUSTER ADDSLOTSRANGE, MEET,
// REPLICATE), so redis-cli is not needed. Its methods are safe for
// concurrent use.
//
//	c := redistest.StartCluster(t, 3, true) // 3 masters, 3 replicas
//	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
//	c.FailOver(c.MasterOf(slot)) // the master dies, its replica takes over
type Cluster struct {
	mu       sync.Mutex
	masters  []*Server
	replicas []*Server // replicas[i] follows masters[i]; nil entries without one
	ranges   [][2]int  // ranges[i]: the slots of masters[i], inclusive
	all      []*Server // every node ever started, for Close
}

// LaunchCluster starts a cluster of masters (at least one) and, when
// withReplicas, one replica for each, and waits until every node reports
// the cluster ready. It returns [ErrNotFound] when redis-server is not on
// PATH. The caller must call [Cluster.Close].
func LaunchCluster(masters int, withReplicas bool) (*Cluster, error) {
	if masters < 1 {
		return nil, errors.New("redistest: a cluster needs at least one master")
	}
	c := &Cluster{}
	fail := func(err error) (*Cluster, error) {
		c.Close()
		return nil, err
	}
	start := func() (*Server, error) {
		s, err := launch("", "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000",
			// A replica syncs at once, not after the default 5 s wait for
			// more replicas to share the transfer.
			"--repl-diskless-sync-delay", "0")
		if err == nil {
			c.all = append(c.all, s)
		}
		return s, err
	}
	for i := range masters {
		s, err := start()
		if err != nil {
			return fail(err)
		}
		lo, hi := i*clusterSlots/masters, (i+1)*clusterSlots/masters-1
		c.masters = append(c.masters, s)
		c.ranges = append(c.ranges, [2]int{lo, hi})
		if err := addSlots(s.Addr(), lo, hi); err != nil {
			return fail(fmt.Errorf("redistest: assign slots %d-%d: %w", lo, hi, err))
		}
		c.replicas = append(c.replicas, nil)
	}
	if withReplicas {
		for i := range masters {
			s, err := start()
			if err != nil {
				return fail(err)
			}
			c.replicas[i] = s
		}
	}
	// Distinct config epochs before the nodes meet, as redis-cli does, so
	// they need not resolve collisions first.
	for i, s := range c.all {
		if _, err := command(s.Addr(), "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fail(fmt.Errorf("redistest: set config epoch: %w", err))
		}
	}
	first := c.all[0]
	for _, s := range c.all[1:] {
		if _, err := command(first.Addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(s.port)); err != nil {
			return fail(fmt.Errorf("redistest: cluster meet: %w", err))
		}
	}
	if err := c.await("every node to know every other", func(s *Server) (bool, error) {
		info, err := commandString(s.Addr(), "CLUSTER", "INFO")
		return infoField(info, "cluster_known_nodes") == strconv.Itoa(len(c.all)), err
	}); err != nil {
		return fail(err)
	}
	for i, r := range c.replicas {
		if r == nil {
			continue
		}
		id, err := commandString(c.masters[i].Addr(), "CLUSTER", "MYID")
		if err != nil {
			return fail(err)
		}
		if _, err := command(r.Addr(), "CLUSTER", "REPLICATE", id); err != nil {
			return fail(fmt.Errorf("redistest: cluster replicate: %w", err))
		}
	}
	if err := c.awaitReady(); err != nil {
		return fail(err)
	}
	return c, nil
}

// StartCluster is [LaunchCluster] for one test: it skips tb with
// [SkipMessage] when redis-server is missing (fails it under the README's
// test command), fails it on any other error, and stops the cluster when tb
// ends.
func StartCluster(tb testing.TB, masters int, withReplicas bool) *Cluster {
	tb.Helper()
	return start(tb, func() (*Cluster, error) { return LaunchCluster(masters, withReplicas) })
}

// Addrs returns host:port of every master, as seeds for a cluster client.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.masters))
	for i, s := range c.masters {
		out[i] = s.Addr()
	}
	return out
}

// URL returns the cluster as one URL in the form go-redis's
// ParseClusterURL reads: "redis://first?addr=second&addr=third".
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	q := url.Values{}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	u := "redis://" + addrs[0]
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Masters returns the number of masters.
func (c *Cluster) Masters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.masters)
}

// Master returns master i (after [Cluster.FailOver], its promoted replica).
func (c *Cluster) Master(i int) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.masters[i]
}

// MasterOf returns the index of the master that serves key, by asking the
// cluster for the key's slot (CLUSTER KEYSLOT, which honours hash tags).
func (c *Cluster) MasterOf(key string) (int, error) {
	addr := c.Master(0).Addr()
	n, err := command(addr, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		return 0, err
	}
	slot, ok := n.(int64)
	if !ok {
		return 0, fmt.Errorf("redistest: CLUSTER KEYSLOT answered %T", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.ranges {
		if int(slot) >= r[0] && int(slot) <= r[1] {
			return i, nil
		}
	}
	return 0, fmt.Errorf("redistest: slot %d is served by no master", slot)
}

// FailOver crashes master i (SIGKILL) and has its replica take its slots
// over (CLUSTER FAILOVER TAKEOVER), as an operator does when a master is
// lost; it returns once every live node serves the slots from the replica
// and reports the cluster ready. Writes the replica had not received are
// lost, as in a real failover. The cluster must have been launched with
// replicas; master i has none afterwards.
func (c *Cluster) FailOver(i int) error {
	c.mu.Lock()
	old, rep := c.masters[i], c.replicas[i]
	c.mu.Unlock()
	if rep == nil {
		return fmt.Errorf("redistest: master %d has no replica to fail over to", i)
	}
	old.Stop()
	if _, err := command(rep.Addr(), "CLUSTER", "FAILOVER", "TAKEOVER"); err != nil {
		return fmt.Errorf("redistest: cluster failover: %w", err)
	}
	c.mu.Lock()
	c.masters[i], c.replicas[i] = rep, nil
	c.all = removeServer(c.all, old)
	c.mu.Unlock()
	old.Close()
	id, err := commandString(rep.Addr(), "CLUSTER", "MYID")
	if err != nil {
		return err
	}
	if err := c.await("the replica to serve the failed master's slots", func(s *Server) (bool, error) {
		nodes, err := commandString(s.Addr(), "CLUSTER", "NODES")
		if err != nil {
			return false, err
		}
		for line := range strings.Lines(nodes) {
			f := strings.Fields(line)
			if len(f) > 2 && f[0] == id {
				return strings.Contains(f[2], "master") && !strings.Contains(f[2], "fail"), nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	return c.awaitReady()
}

// Stop kills every node (SIGKILL, as in a crash of the whole cluster):
// connections are refused until [Cluster.Restart].
func (c *Cluster) Stop() {
	for _, s := range c.nodes() {
		s.Stop()
	}
}

// Restart starts every node again on its port, stopping it first if it
// runs, and waits until the cluster is ready. The nodes keep their slots
// (their nodes.conf) but lose their data, as after a crash without
// persistence.
func (c *Cluster) Restart() error {
	for _, s := range c.nodes() {
		if err := s.Restart(); err != nil {
			return err
		}
	}
	return c.awaitReady()
}

// Pause freezes every node with SIGSTOP (see [Server.Pause]).
func (c *Cluster) Pause() error {
	for _, s := range c.nodes() {
		if err := s.Pause(); err != nil {
			return err
		}
	}
	return nil
}

// Resume thaws every node.
func (c *Cluster) Resume() error {
	for _, s := range c.nodes() {
		if err := s.Resume(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) nodes() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Server(nil), c.all...)
}

// Close stops every node and removes their directories.
func (c *Cluster) Close() {
	c.mu.Lock()
	all := c.all
	c.all = nil
	c.mu.Unlock()
	for _, s := range all {
		s.Close()
	}
}

// awaitReady waits until every node reports cluster_state:ok with every
// slot served, and every replica is in sync with its master.
func (c *Cluster) awaitReady() error {
	return c.await("the cluster to be ready", func(s *Server) (bool, error) {
		info, err := commandString(s.Addr(), "CLUSTER", "INFO")
		if err != nil {
			return false, err
		}
		if infoField(info, "cluster_state") != "ok" || infoField(info, "cluster_slots_ok") != strconv.Itoa(clusterSlots) {
			return false, nil
		}
		repl, err := commandString(s.Addr(), "INFO", "replication")
		if err != nil {
			return false, err
		}
		return infoField(repl, "role") == "master" || infoField(repl, "master_link_status") == "up", nil
	})
}

// await polls every live node until cond holds on all of them: the
// cluster's state is only known by asking it.
func (c *Cluster) await(what string, cond func(*Server) (bool, error)) error {
	c.mu.Lock()
	nodes := append([]*Server(nil), c.all...)
	c.mu.Unlock()
	deadline := time.Now().Add(clusterReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		all := true
		for _, s := range nodes {
			ok, err := cond(s)
			if err != nil {
				lastErr = err
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redistest: timed out after %v waiting for %s (last error: %v)", clusterReadyTimeout, what, lastErr)
}

// addSlots assigns slots lo to hi to the node at addr: with ADDSLOTSRANGE,
// or on a Redis older than 7.0, which lacks it, with ADDSLOTS.
func addSlots(addr string, lo, hi int) error {
	_, err := command(addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi))
	var reply replyError
	if !errors.As(err, &reply) {
		return err
	}
	args := []string{"CLUSTER", "ADDSLOTS"}
	for slot := lo; slot <= hi; slot++ {
		args = append(args, strconv.Itoa(slot))
	}
	_, err = command(addr, args...)
	return err
}

func removeServer(list []*Server, s *Server) []*Server {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
