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

// Wait implements [refresh.Locker]: it returns the pair once one is stored
// under key (true), reports false once the lock is free with no pair (the
// owner gave up, or died and its lease lapsed), and returns ctx.Err() when
// ctx is done first. A Redis failure ends it with an error, within about
// two OpTimeouts.
//
// # How waiters learn of the outcome
//
// Wait combines pub/sub with bounded polling. Put and release PUBLISH on a
// per-key channel after they write; Wait first SUBSCRIBEs to that channel
// and waits for Redis to confirm, and only then reads the pair and the lock
// (one pipelined EXISTS + GET). So an outcome is either already there when
// it reads, or published after the subscription is live: no window in which
// a notification is lost. Each notification triggers a re-read; the message
// itself carries nothing, so the stored value stays the one source of
// truth and no pair, even encrypted, travels over pub/sub.
//
// Polling every PollInterval runs as well, because a notification can
// still miss: the subscription connection may drop, pub/sub may be
// forbidden by ACLs (Wait then polls only), and above all a crashed owner
// publishes nothing: its lease just expires, which only a look at the lock
// key notices. Why not polling alone? It adds PollInterval/2 to every
// waiting replica's answer on average, and a shorter interval multiplies
// Redis load; with pub/sub the waiters get the pair one round trip after it
// lands, and the poll can stay slow. Why not keyspace notifications for the
// lease expiry? They need notify-keyspace-events configured on the server,
// which managed Redis often forbids, and Redis expires keys lazily, so the
// event can come late anyway.
//
// The cost is one short-lived subscriber connection per waiting replica and
// key: the Coordinator coalesces the callers in each process, so a burst of
// a hundred requests across three replicas opens two subscriptions, for the
// length of one upstream call.
func (s *Store) Wait(ctx context.Context, key string) (refresh.Pair, bool, error) {
	if !validKey(key) {
		return refresh.Pair{}, false, ErrInvalidKey
	}
	if err := ctx.Err(); err != nil {
		return refresh.Pair{}, false, err
	}
	wake, unsubscribe, err := s.subscribe(ctx, key)
	if err != nil {
		var rerr redis.Error
		if ctx.Err() != nil || !errors.As(err, &rerr) {
			return refresh.Pair{}, false, fmt.Errorf("redisstore: wait: subscribe: %w", err)
		}
		// Redis answered with a refusal (an ACL, a proxy without pub/sub):
		// it is up, so poll only.
	}
	defer unsubscribe()

	timer := time.NewTimer(s.poll)
	defer timer.Stop()
	for {
		p, found, held, err := s.look(ctx, key)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return refresh.Pair{}, false, ctx.Err()
			}
			return refresh.Pair{}, false, fmt.Errorf("redisstore: wait: %w", err)
		case found:
			return p, true, nil
		case !held:
			return refresh.Pair{}, false, nil
		}
		timer.Reset(s.poll)
		select {
		case <-ctx.Done():
			return refresh.Pair{}, false, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}

// look reads, in one round trip, whether the lock is held and then the pair.
// In that order: a lock seen free followed by no pair means the owner let go
// without one, since an owner stores its pair before it releases.
func (s *Store) look(ctx context.Context, key string) (p refresh.Pair, found, held bool, err error) {
	type answer struct {
		held bool
		val  []byte
	}
	a, err := call(ctx, s.opTimeout, func(ctx context.Context) (answer, error) {
		var exists *redis.IntCmd
		var get *redis.StringCmd
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			exists = pipe.Exists(ctx, s.lockKey(key))
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
		n, err := exists.Result()
		return answer{held: n > 0, val: val}, err
	})
	if err != nil {
		return refresh.Pair{}, false, false, err
	}
	if a.val == nil {
		return refresh.Pair{}, false, a.held, nil
	}
	p, err = s.keys.open(key, a.val)
	if err != nil {
		return refresh.Pair{}, false, a.held, err
	}
	return p, true, a.held, nil
}

// subscribe subscribes to key's channel and waits for Redis to confirm. The
// returned channel receives a token (coalesced) for each message; the
// returned func unsubscribes, in the background so that a wedged connection
// cannot hold the caller up.
func (s *Store) subscribe(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	sub := s.client.Subscribe(context.Background()) // no channel yet: no I/O
	ch := s.channel(key)
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (struct{}, error) {
		if err := sub.Subscribe(ctx, ch); err != nil {
			return struct{}{}, err
		}
		msg, err := sub.ReceiveTimeout(ctx, s.opTimeout)
		if err != nil {
			return struct{}{}, err
		}
		if m, ok := msg.(*redis.Subscription); !ok || m.Channel != ch {
			return struct{}{}, fmt.Errorf("unexpected %T before the subscription was confirmed", msg)
		}
		return struct{}{}, nil
	})
	if err != nil {
		go sub.Close() // may wait for the abandoned Subscribe to time out
		return nil, func() {}, err
	}
	wake := make(chan struct{}, 1)
	go func() {
		for {
			if _, err := sub.ReceiveMessage(context.Background()); err != nil {
				return // closed, or the connection failed: polling carries on
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	return wake, func() { go sub.Close() }, nil
}
