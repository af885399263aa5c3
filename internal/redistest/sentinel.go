package redistest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
)

// SentinelMaster is the name under which a [Sentinel] watches its master.
const SentinelMaster = "qelos"

// A Sentinel is a master with one replica, watched by one Sentinel
// (redis-server --sentinel), all on loopback ports: the deployment that
// redis.NewFailoverClient serves. Its methods are safe for concurrent use.
type Sentinel struct {
	mu       sync.Mutex
	master   *Server
	replica  *Server
	sentinel *Server
	dead     []*Server // masters crashed by FailOver, closed by Close
}

// LaunchSentinel starts the master, its replica and the Sentinel, and waits
// until the replica is in sync and the Sentinel knows it. It returns
// [ErrNotFound] when redis-server is not on PATH. The caller must call
// [Sentinel.Close].
func LaunchSentinel() (*Sentinel, error) {
	st := &Sentinel{}
	fail := func(err error) (*Sentinel, error) {
		st.Close()
		return nil, err
	}
	var err error
	// The master syncs its replica at once, not after the default 5 s wait
	// for more replicas to share the transfer.
	if st.master, err = launch("", "--repl-diskless-sync-delay", "0"); err != nil {
		return fail(err)
	}
	mport := strconv.Itoa(st.master.port)
	if st.replica, err = launch("", "--replicaof", "127.0.0.1", mport); err != nil {
		return fail(err)
	}
	conf := "sentinel monitor " + SentinelMaster + " 127.0.0.1 " + mport + " 1\n" +
		"sentinel down-after-milliseconds " + SentinelMaster + " 1000\n" +
		"sentinel failover-timeout " + SentinelMaster + " 5000\n"
	if st.sentinel, err = launch(conf, "--sentinel"); err != nil {
		return fail(err)
	}
	if err := st.awaitReplica(); err != nil {
		return fail(err)
	}
	return st, nil
}

// StartSentinel is [LaunchSentinel] for one test: it skips tb with
// [SkipMessage] when redis-server is missing (fails it under the README's
// test command), fails it on any other error, and stops every process when
// tb ends.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	return start(tb, LaunchSentinel)
}

// URL returns the deployment in the form go-redis's ParseFailoverURL reads:
// the Sentinel's address and the master's name.
func (st *Sentinel) URL() string {
	return "redis://" + st.sentinel.Addr() + "?master_name=" + SentinelMaster
}

// Master returns the server that is master now.
func (st *Sentinel) Master() *Server {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.master
}

// FailOver crashes the master (SIGKILL) and has the Sentinel promote the
// replica (SENTINEL FAILOVER); it returns once the Sentinel names the
// replica as master and the replica says it is one. Writes the replica had
// not received are lost, as in a real failover. It can be called once.
func (st *Sentinel) FailOver() error {
	st.mu.Lock()
	old, rep := st.master, st.replica
	st.mu.Unlock()
	if rep == nil {
		return errors.New("redistest: no replica left to fail over to")
	}
	old.Stop()
	// Hold the dead master's port until the replica is promoted: the
	// replica keeps reconnecting to it, and a redis-server another test
	// starts there meanwhile would make it resync from an empty master.
	if hold, err := net.Listen("tcp", old.Addr()); err == nil {
		defer hold.Close()
	}
	if _, err := command(st.sentinel.Addr(), "SENTINEL", "FAILOVER", SentinelMaster); err != nil {
		return fmt.Errorf("redistest: sentinel failover: %w", err)
	}
	st.mu.Lock()
	st.master, st.replica = rep, nil
	st.dead = append(st.dead, old)
	st.mu.Unlock()
	c := &Cluster{all: []*Server{st.sentinel}}
	return c.await("the Sentinel to name the replica as master", func(s *Server) (bool, error) {
		addr, err := command(s.Addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
		if err != nil {
			return false, err
		}
		a, ok := addr.([]any)
		if !ok || len(a) != 2 || a[1] != strconv.Itoa(rep.port) {
			return false, nil
		}
		repl, err := commandString(rep.Addr(), "INFO", "replication")
		return infoField(repl, "role") == "master", err
	})
}

// Close stops every process and removes their directories.
func (st *Sentinel) Close() {
	st.mu.Lock()
	all := append([]*Server{st.sentinel, st.replica, st.master}, st.dead...)
	st.mu.Unlock()
	for _, s := range all {
		if s != nil {
			s.Close()
		}
	}
}

// awaitReplica waits until the replica is in sync and the Sentinel lists it
// as a replica it could promote.
func (st *Sentinel) awaitReplica() error {
	c := &Cluster{all: []*Server{st.replica, st.sentinel}}
	return c.await("the replica to sync and the Sentinel to see it", func(s *Server) (bool, error) {
		if s == st.replica {
			repl, err := commandString(s.Addr(), "INFO", "replication")
			return infoField(repl, "master_link_status") == "up", err
		}
		v, err := command(s.Addr(), "SENTINEL", "REPLICAS", SentinelMaster)
		if err != nil {
			return false, err
		}
		list, _ := v.([]any)
		for _, r := range list {
			fields, _ := r.([]any)
			for i := 0; i+1 < len(fields); i += 2 {
				if fields[i] == "flags" && fields[i+1] == "slave" {
					return true, nil
				}
			}
		}
		return false, nil
	})
}
