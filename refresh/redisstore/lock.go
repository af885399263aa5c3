package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/redis/go-redis/v9"
)

// renewScript extends the lease only if the caller still owns the lock: a
// lease that lapsed and was taken by another replica must not be extended
// by the previous owner.
var renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lock only if the caller still owns it, and then
// tells the waiters, who find no pair if the owner gave up, and take over.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	redis.call("DEL", KEYS[1])
	redis.call("PUBLISH", ARGV[2], "released")
	return 1
end
return 0`)

// gaveUpTTL is how long an owner's "gave up" mark lasts: long enough for
// every waiter, notified at once or polling every PollInterval, to read it.
// A waiter that looks later finds neither lock nor mark and, Redis not
// having restarted, reads that as a lapsed lease, which means the same.
const gaveUpTTL = 5 * time.Second

// heldLock is a lock this Store holds.
type heldLock struct {
	owner    string
	recorded bool // a pair was Put under the key while held
}

// TryLock implements [refresh.Locker]. It takes the lock for key with
// SET NX PX, under a random owner value, for the Lease. While held, the lease
// is renewed every Lease/3 until release is called or ctx is done; after
// that it lapses within one Lease, so the ctx of TryLock should be the
// refresh's own deadline (the Coordinator passes its CallTimeout context).
// release deletes the lock only if this caller still owns it, and may be
// called more than once; when no pair was Put under key meanwhile, it first
// leaves a "gave up" mark, the only sign on which waiters take over (a lock
// that merely vanished may have been lost to a restart while its owner is
// still refreshing). When ok is false, release does nothing.
//
// While the Store's subscription is down (Redis may be restarting) TryLock
// fails with an error wrapping [refresh.ErrInDoubt], at once. In the moments
// after Redis restarted or failed over (see restartDoubt) it reports the
// lock as taken without asking Redis: nobody may start spending a token
// that an owner of the previous server may be spending still, and whose
// lock and outcome that owner is putting back.
func (s *Store) TryLock(ctx context.Context, key string) (release func(), ok bool, err error) {
	noop := func() {}
	if !validKey(key) {
		return noop, false, ErrInvalidKey
	}
	if s.down.Load() {
		return noop, false, fmt.Errorf("redisstore: lock: %w", ErrStoreDown)
	}
	if s.unsure.Load() {
		return noop, false, fmt.Errorf("redisstore: lock: %w", errUnsure)
	}
	if s.inDoubt() {
		return noop, false, nil
	}
	owner := rand.Text() // 26 base32 characters, 130 random bits
	lockKey := s.lockKey(key)
	ok, err = run(s, ctx, func(ctx context.Context) (bool, error) {
		return s.client.SetNX(ctx, lockKey, owner, s.lease).Result()
	})
	if err != nil {
		// The SET may have landed after all; don't leave a lock nobody renews.
		go s.unlock(key, owner)
		return noop, false, fmt.Errorf("redisstore: lock: %w", err)
	}
	if !ok {
		return noop, false, nil
	}
	h := &heldLock{owner: owner}
	s.heldMu.Lock()
	s.held[key] = h
	s.heldMu.Unlock()

	stop := make(chan struct{})
	renewed := make(chan struct{})
	go s.renew(ctx, lockKey, owner, stop, renewed)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			s.heldMu.Lock()
			recorded := h.recorded
			if s.held[key] == h {
				delete(s.held, key)
			}
			s.heldMu.Unlock()
			if !recorded {
				s.markGaveUp(key)
			}
			s.unlock(key, owner)
			<-renewed
		})
	}, true, nil
}

// Holds implements [refresh.LockHolder]: it reports whether this Store still
// holds the lock it took for key, on the same Redis server (a restart or
// failover loses every lock, and another replica may have taken it since).
func (s *Store) Holds(ctx context.Context, key string) (bool, error) {
	s.heldMu.Lock()
	h := s.held[key]
	s.heldMu.Unlock()
	if h == nil || s.inDoubt() {
		return false, nil
	}
	v, err := run(s, ctx, func(ctx context.Context) (string, error) {
		return s.client.Get(ctx, s.lockKey(key)).Result()
	})
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redisstore: holds: %w", err)
	}
	return v == h.owner && !s.inDoubt(), nil
}

// markGaveUp tells the waiters that the owner let go without a pair: they
// may take over.
func (s *Store) markGaveUp(key string) {
	run(s, context.Background(), func(ctx context.Context) (string, error) {
		return s.client.Set(ctx, s.gaveUpKey(key), "1", gaveUpTTL).Result()
	})
}

// renew keeps the lease alive until stop is closed, ctx is done, or the
// lock turns out to belong to someone else.
func (s *Store) renew(ctx context.Context, lockKey, owner string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	ms := s.lease.Milliseconds()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return // the refresh is past its deadline: let the lease lapse
		case <-t.C:
		}
		n, err := run(s, context.Background(), func(ctx context.Context) (int64, error) {
			return renewScript.Run(ctx, s.client, []string{lockKey}, owner, ms).Int64()
		})
		if err == nil && n == 0 {
			return // lapsed, perhaps taken over: nothing of ours to renew
		}
		// On an error keep trying: Redis may answer again before the lease lapses.
	}
}

// unlock deletes the lock if owner still holds it, without regard to any
// caller's context: a refresh that timed out must still let go.
func (s *Store) unlock(key, owner string) {
	run(s, context.Background(), func(ctx context.Context) (int64, error) {
		return releaseScript.Run(ctx, s.client, []string{s.lockKey(key)}, owner, s.channel(key)).Int64()
	})
}

// downPoll is how often Wait polls while the Store's subscription is not
// live.
const downPoll = 100 * time.Millisecond

// Wait implements [refresh.Locker]: it returns the pair once one is stored
// under key (true); reports false once the lock is free with no pair and
// either a "gave up" mark (see TryLock) or, Redis having neither restarted
// nor failed over, a lapsed lease (the owner died); returns an error
// wrapping [refresh.ErrFailedRecently] when the owner's refresh failed, one
// wrapping [refresh.ErrInDoubt] when the stored outcome does not decrypt
// (another replica spent the token with a key this one lacks), and
// ctx.Err() when ctx is done first. A lock that vanished with Redis (a
// restart or failover: its run id changed, or the Store is in doubt) is
// waited out: the owner may still be refreshing, and records its outcome on
// the new server. A Redis failure ends it with an error, at once while the
// breaker is open, else within about one OpTimeout.
//
// # How waiters learn of the outcome
//
// Wait combines pub/sub with bounded polling. Put and release PUBLISH on a
// per-key channel after they write. Each Store keeps one long-lived
// subscription (a pattern over every key's channel, on one connection of
// its own, opened once and re-established after a failure); Wait registers
// with it and, if it is live, reads the pair and the lock (one pipelined
// round trip) only after registering. So an outcome is either already there
// when it reads, or published after the registration: no window in which a
// notification is lost. Each notification triggers a re-read; the message
// itself carries nothing, so the stored value stays the one source of truth
// and no pair, even encrypted, travels over pub/sub.
//
// Polling every PollInterval runs as well, because a notification can
// still miss: the subscription connection may be re-establishing, pub/sub
// may be forbidden by ACLs (Wait then polls only), and above all a crashed
// owner publishes nothing: its lease just expires, which only a look at the
// lock key notices. Why not polling alone? It adds PollInterval/2 to every
// waiting replica's answer on average, and a shorter interval multiplies
// Redis load. Why not keyspace notifications for the lease expiry? They
// need notify-keyspace-events configured on the server, which managed
// Redis often forbids, and Redis expires keys lazily.
//
// The cost is one subscriber connection per Store, whatever the number of
// keys waited on, and no dial per Wait.
func (s *Store) Wait(ctx context.Context, key string) (refresh.Pair, bool, error) {
	if !validKey(key) {
		return refresh.Pair{}, false, ErrInvalidKey
	}
	if err := ctx.Err(); err != nil {
		return refresh.Pair{}, false, err
	}
	wake, unregister := s.sub.register(s.channel(key))
	defer unregister()

	timer := time.NewTimer(s.poll)
	defer timer.Stop()
	for {
		l, err := s.look(ctx, key)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return refresh.Pair{}, false, ctx.Err()
			}
			return refresh.Pair{}, false, fmt.Errorf("redisstore: wait: %w", err)
		case l.found:
			return l.pair, true, nil
		case l.unreadable:
			return refresh.Pair{}, false, errUnreadableOutcome
		case l.failed && !l.held:
			return refresh.Pair{}, false, refresh.ErrFailedRecently
		case !l.held && l.gaveUp:
			return refresh.Pair{}, false, nil
		case !l.held && !s.inDoubt():
			// No lock, no pair, no mark: a lapsed lease, unless the lock
			// went with the server.
			changed, err := s.checkRunID(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return refresh.Pair{}, false, ctx.Err()
				}
				return refresh.Pair{}, false, fmt.Errorf("redisstore: wait: %w", err)
			}
			if !changed {
				return refresh.Pair{}, false, nil
			}
		}
		// Without a live subscription (still connecting, or reconnecting)
		// a notification may be lost: poll briskly until it is back.
		if s.sub.isLive() {
			timer.Reset(s.poll)
		} else {
			timer.Reset(min(s.poll, downPoll))
		}
		select {
		case <-ctx.Done():
			return refresh.Pair{}, false, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}

// looked is what look found under a key.
type looked struct {
	pair       refresh.Pair
	found      bool // a pair that opens
	unreadable bool // a pair that no secret opens
	held       bool // the lock
	failed     bool // a shared failure
	gaveUp     bool // the last owner's "gave up" mark
}

// look reads, in one round trip, the lock, a shared failure, the gave-up
// mark and the pair. An owner stores its pair (or its failure, or its mark)
// before it releases, so a lock seen free with none of them means the lock
// lapsed or went with the server.
func (s *Store) look(ctx context.Context, key string) (looked, error) {
	type answer struct {
		held, failed, gaveUp bool
		val                  []byte
	}
	a, err := run(s, ctx, func(ctx context.Context) (answer, error) {
		var lock, fail, gaveUp *redis.IntCmd
		var get *redis.StringCmd
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			lock = pipe.Exists(ctx, s.lockKey(key))
			fail = pipe.Exists(ctx, s.failKey(key))
			gaveUp = pipe.Exists(ctx, s.gaveUpKey(key))
			get = pipe.Get(ctx, s.pairKey(key))
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return answer{}, err
		}
		val, err := get.Bytes()
		if errors.Is(err, redis.Nil) {
			val, err = nil, nil
		}
		if err != nil {
			return answer{}, err
		}
		return answer{held: lock.Val() > 0, failed: fail.Val() > 0, gaveUp: gaveUp.Val() > 0, val: val}, nil
	})
	if err != nil {
		return looked{}, err
	}
	l := looked{held: a.held, failed: a.failed, gaveUp: a.gaveUp}
	if a.val != nil {
		p, err := s.keys.Load().open(key, a.val)
		l.pair, l.found, l.unreadable = p, err == nil, err != nil
	}
	return l, nil
}
