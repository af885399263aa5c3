package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/redis/go-redis/v9"
)

// ErrStoreDown is returned (wrapped) by every method while the Store's
// circuit breaker is open: an operation failed to reach Redis (a refused or
// reset connection, no answer within OpTimeout) and no probe has reached it
// since. The Store then answers in microseconds instead of waiting on a dead
// server; a probe tries Redis every ProbeInterval (1 s by default), and the
// breaker closes as soon as a probe or the subscription reaches it.
var ErrStoreDown = fmt.Errorf("redisstore: Redis is unreachable; the Store is not asking it again until a probe reaches it (about once a second): %w", refresh.ErrInDoubt)

// errUnsure is why TryLock refuses while the subscription is down.
var errUnsure = fmt.Errorf("%w: the connection to Redis dropped and is not back; until it is, this replica cannot tell whether Redis restarted", refresh.ErrInDoubt)

// DefaultProbeInterval is how often a Store whose breaker is open checks
// whether Redis is back.
const DefaultProbeInterval = time.Second

// run is call with the Store's breaker around it: while the breaker is open
// it fails at once, and an operation that could not reach Redis opens it.
// Redis's own error replies and the caller's cancellation are not outages.
func run[T any](s *Store, ctx context.Context, op func(context.Context) (T, error)) (T, error) {
	if s.down.Load() {
		var zero T
		return zero, ErrStoreDown
	}
	started := time.Now()
	v, err := call(ctx, s.opTimeout, op)
	if err != nil && ctx.Err() == nil && isOutage(err) && s.cluster != nil {
		// A master may have failed over: go-redis learns the new slot map
		// only from a MOVED reply or its periodic reload, and until then
		// sends the slot's commands to the dead node.
		s.cluster.ReloadState(context.Background())
	}
	switch {
	case err == nil || !isOutage(err): // Redis answered
		s.answered.Store(time.Now().UnixNano())
		s.slow.Store(0)
	case ctx.Err() != nil: // the caller gave up: says nothing about Redis
	case isTimeout(err):
		// A slow Redis is a healthy one: only timeouts in a row, with no
		// answer between them, open the breaker. An operation that waited
		// while Redis answered others (a storm queueing for the pool on a
		// loaded machine) met a busy Redis, not a dead one.
		if s.answered.Load() >= started.UnixNano() {
			break
		}
		if s.slow.Add(1) >= timeoutsToTrip {
			s.trip(err)
		}
	default: // refused, reset, closed: nobody is there
		s.trip(err)
	}
	return v, err
}

// timeoutsToTrip is how many operations in a row must time out before the
// breaker opens.
const timeoutsToTrip = 3

// isTimeout reports whether err is an operation that got no answer in time,
// or no pooled connection to send it on (the pool's connections all busy
// with a slow Redis, or being dialled).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) || errors.As(err, &ne) && ne.Timeout()
}

// isOutage reports whether err means Redis could not be reached or did not
// answer, as opposed to an answer (redis.Nil, an error reply).
func isOutage(err error) bool {
	var reply redis.Error
	return !errors.Is(err, redis.Nil) && !errors.As(err, &reply)
}

// trip opens the breaker and starts the probe, once per outage.
func (s *Store) trip(err error) {
	if s.down.Swap(true) {
		return
	}
	s.debug("Redis unreachable; failing fast until a probe reaches it", err)
	go s.probe()
}

// probe checks Redis every ProbeInterval until it answers (then the breaker
// closes) or the Store is closed.
func (s *Store) probe() {
	t := time.NewTicker(s.probeEvery)
	defer t.Stop()
	for s.down.Load() {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		if s.reconnected() == nil {
			return
		}
	}
}

// reconnected runs when Redis answers again after an outage (a probe) or
// the subscription is (re)established: it checks whether Redis restarted
// or failed over meanwhile (then in-flight refreshes cannot be known for
// one Lease: see inDoubt), closes the breaker, writes the revocations
// queued while Redis was away and reloads every revocation into the
// in-process sets, so a sign-out made elsewhere meanwhile is honoured at
// once. Calls are serialised.
func (s *Store) reconnected() error {
	s.recoverMu.Lock()
	defer s.recoverMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.opTimeout)
	defer cancel()
	changed, err := s.checkRunID(ctx)
	if err != nil {
		return err
	}
	if changed {
		s.reassert(ctx)
	}
	s.unsure.Store(false)
	s.slow.Store(0)
	if s.down.Swap(false) {
		s.debug("Redis reachable again", nil)
	}
	s.flushRevocations(ctx)
	s.resyncRevocations(ctx)
	return nil
}

// checkRunID reads Redis's run_id (INFO server; on a Cluster, every
// master's), which changes when a server restarts or another one takes
// over. A change from the ones known puts the Store in doubt (see inDoubt)
// until restartDoubt after the change: by then every replica has
// reconnected (each within ProbeInterval + OpTimeout of the server's
// return) and put back the locks it holds and the outcomes it recorded (see
// reassert), so "no lock, no pair" means again what it says. A server that
// restarted says when (its uptime, the same for every replica); a replica
// promoted by a failover was running before, so the change is dated from
// when this Store noticed it. It reports whether anything changed. A server
// that refuses INFO (some managed offerings) is taken as unchanged.
func (s *Store) checkRunID(ctx context.Context) (bool, error) {
	servers, err := s.servers(ctx)
	var reply redis.Error
	switch {
	case errors.As(err, &reply):
		return false, nil
	case err != nil:
		return false, err
	case len(servers) == 0:
		return false, nil
	}
	now := time.Now()
	s.idMu.Lock()
	defer s.idMu.Unlock()
	old, seenAt := s.runIDs, s.runIDsAt
	s.runIDs, s.runIDsAt = map[string]bool{}, now
	for _, sv := range servers {
		s.runIDs[sv.runID] = true
	}
	if old == nil {
		return false, nil
	}
	var until time.Time
	for _, sv := range servers {
		if old[sv.runID] {
			continue
		}
		// Uptime counts whole seconds: the server may have started up to
		// one second earlier than it says.
		started := now.Add(-sv.uptime - time.Second)
		if started.Before(seenAt) {
			started = now // running when the old one was seen: promoted
		}
		until = maxTime(until, started.Add(s.restartDoubt()))
	}
	if until.IsZero() {
		if len(old) != len(s.runIDs) {
			return true, nil // a master fewer: its slots moved to a known one
		}
		return false, nil
	}
	if until.UnixNano() > s.doubtUntil.Load() {
		s.doubtUntil.Store(until.UnixNano())
	}
	s.debug("Redis restarted or failed over; new refreshes wait until every replica has put back its locks and outcomes", nil)
	return true, nil
}

// server is one Redis master as INFO describes it.
type server struct {
	runID  string
	uptime time.Duration
}

// servers reads INFO server from Redis, or from every master of a Cluster.
func (s *Store) servers(ctx context.Context) ([]server, error) {
	if s.cluster == nil {
		info, err := call(ctx, s.opTimeout, func(ctx context.Context) (string, error) {
			return s.client.Info(ctx, "server").Result()
		})
		if err != nil {
			return nil, err
		}
		if sv, ok := parseServer(info); ok {
			return []server{sv}, nil
		}
		return nil, nil
	}
	return call(ctx, s.opTimeout, func(ctx context.Context) ([]server, error) {
		var mu sync.Mutex
		var out []server
		err := s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			info, err := c.Info(ctx, "server").Result()
			if err != nil {
				return err
			}
			if sv, ok := parseServer(info); ok {
				mu.Lock()
				out = append(out, sv)
				mu.Unlock()
			}
			return nil
		})
		return out, err
	})
}

// parseServer reads run_id and uptime_in_seconds from an INFO answer.
func parseServer(info string) (server, bool) {
	var sv server
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			sv.runID = v
		}
		if v, ok := strings.CutPrefix(line, "uptime_in_seconds:"); ok {
			n, _ := strconv.Atoi(v)
			sv.uptime = time.Duration(n) * time.Second
		}
	}
	return sv, sv.runID != ""
}

// restartDoubt is how long after a Redis (re)start no new refresh begins:
// the time every replica needs to notice (a probe every ProbeInterval, or
// the subscription's reconnection within maxBackoff) and reassert, with a
// margin of one OpTimeout and half a second.
func (s *Store) restartDoubt() time.Duration {
	return max(s.probeEvery, maxBackoff) + 2*s.opTimeout + 500*time.Millisecond
}

// reassert puts back, on a Redis that restarted or failed over, the locks
// this Store holds and the outcomes it recorded that are still within their
// grace: what the previous server held, as far as this replica knows.
// Nothing is overwritten (NX).
func (s *Store) reassert(ctx context.Context) {
	s.heldMu.Lock()
	locks := make(map[string]string, len(s.held))
	for k, h := range s.held {
		locks[k] = h.owner
	}
	s.heldMu.Unlock()
	pairs := s.recent.live(time.Now())
	if len(locks)+len(pairs) == 0 {
		return
	}
	_, err := run(s, ctx, func(ctx context.Context) (struct{}, error) {
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for k, owner := range locks {
				pipe.SetNX(ctx, s.lockKey(k), owner, s.lease)
			}
			for k, r := range pairs {
				pipe.SetNX(ctx, s.pairKey(k), r.val, max(time.Until(r.expires), time.Millisecond))
			}
			return nil
		})
		return struct{}{}, err
	})
	if err != nil {
		s.debug("put back locks and outcomes after a Redis restart", err)
	}
}

// inDoubt reports whether the Store cannot tell whether a token is being
// spent: its subscription dropped and has not been re-established (Redis
// may be restarting), or Redis restarted or failed over less than a Lease
// ago. TryLock then reports the lock as taken, and Wait keeps waiting for
// an outcome instead of reading "no lock, no pair" as "nobody is spending".
func (s *Store) inDoubt() bool {
	return s.unsure.Load() || time.Now().UnixNano() < s.doubtUntil.Load()
}
