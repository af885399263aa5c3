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

// TryLock implements [refresh.Locker]. It takes the lock for key with
// SET NX PX, under a random owner value, for the Lease. While held, the lease
// is renewed every Lease/3 until release is called or ctx is done; after
// that it lapses within one Lease, so the ctx of TryLock should be the
// refresh's own deadline (the Coordinator passes its CallTimeout context).
// release deletes the lock only if this caller still owns it, and may be
// called more than once. When ok is false, release does nothing.
func (s *Store) TryLock(ctx context.Context, key string) (release func(), ok bool, err error) {
	noop := func() {}
	if !validKey(key) {
		return noop, false, ErrInvalidKey
	}
	owner := rand.Text() // 26 base32 characters, 130 random bits
	lockKey := s.lockKey(key)
	ok, err = call(ctx, s.opTimeout, func(ctx context.Context) (bool, error) {
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

	stop := make(chan struct{})
	renewed := make(chan struct{})
	go s.renew(ctx, lockKey, owner, stop, renewed)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			s.unlock(key, owner)
			<-renewed
		})
	}, true, nil
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
		n, err := call(context.Background(), s.opTimeout, func(ctx context.Context) (int64, error) {
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
	call(context.Background(), s.opTimeout, func(ctx context.Context) (int64, error) {
		return releaseScript.Run(ctx, s.client, []string{s.lockKey(key)}, owner, s.channel(key)).Int64()
	})
}

// downPoll is how often Wait polls while the Store's subscription is not
// live.
const downPoll = 100 * time.Millisecond

// Wait implements [refresh.Locker]: it returns the pair once one is stored
// under key (true), reports false once the lock is free with no pair (the
// owner gave up, or died and its lease lapsed), returns an error wrapping
// [refresh.ErrFailedRecently] when the owner's refresh failed, and ctx.Err()
// when ctx is done first. A Redis failure ends it with an error, within
// about one OpTimeout.
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
		p, found, held, failed, err := s.look(ctx, key)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return refresh.Pair{}, false, ctx.Err()
			}
			return refresh.Pair{}, false, fmt.Errorf("redisstore: wait: %w", err)
		case found:
			return p, true, nil
		case failed && !held:
			return refresh.Pair{}, false, refresh.ErrFailedRecently
		case !held:
			return refresh.Pair{}, false, nil
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

// look reads, in one round trip, whether the lock is held, whether a failed
// refresh is being shared, and the pair. A lock seen free followed by no
// pair means the owner let go without one, since an owner stores its pair
// (or its failure) before it releases. A value no secret opens counts as
// absent.
func (s *Store) look(ctx context.Context, key string) (p refresh.Pair, found, held, failed bool, err error) {
	type answer struct {
		held, failed bool
		val          []byte
	}
	a, err := call(ctx, s.opTimeout, func(ctx context.Context) (answer, error) {
		var lock, fail *redis.IntCmd
		var get *redis.StringCmd
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			lock = pipe.Exists(ctx, s.lockKey(key))
			fail = pipe.Exists(ctx, s.failKey(key))
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
		return answer{held: lock.Val() > 0, failed: fail.Val() > 0, val: val}, nil
	})
	if err != nil {
		return refresh.Pair{}, false, false, false, err
	}
	if a.val != nil {
		if p, err := s.keys.Load().open(key, a.val); err == nil {
			return p, true, a.held, a.failed, nil
		}
	}
	return refresh.Pair{}, false, a.held, a.failed, nil
}
