package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxQueuedRevocations bounds the revocations a Store keeps for Redis while
// it cannot reach it. Past it Revoke returns an error (the revocation still
// holds in this process).
const MaxQueuedRevocations = 10_000

// maxResync bounds how many revocations one resync loads.
const maxResync = 100_000

// Revoke implements [refresh.Revoker]: it records key as revoked until the
// given time (give the end of the session: its refresh token's expiry) in
// one sorted set, by that time, so that a replica that was cut off can
// reload every revocation still in force when it reconnects; and it tells
// the other Stores at once, whose Coordinators add it to their in-process
// sets. When Redis cannot be reached, the revocation is queued (up to
// MaxQueuedRevocations) and written as soon as a probe or the subscription
// reaches Redis again; Revoke then returns nil, since the revocation is not
// lost. Entries whose time has passed are pruned as new ones arrive.
func (s *Store) Revoke(ctx context.Context, key string, until time.Time) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	if !time.Now().Before(until) {
		return nil
	}
	err := s.writeRevocations(ctx, map[string]time.Time{key: until})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || !isOutage(err) && !errors.Is(err, ErrStoreDown) {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	if old, ok := s.pending[key]; ok {
		s.pending[key] = maxTime(old, until)
		return nil
	}
	if len(s.pending) >= MaxQueuedRevocations {
		return fmt.Errorf("redisstore: revoke: Redis is unreachable and %d revocations already wait for it; this one holds in this process only: %w", len(s.pending), err)
	}
	s.pending[key] = until
	return nil
}

// writeRevocations adds revocations to the set, prunes the ones that have
// ended, and publishes each, in one round trip.
func (s *Store) writeRevocations(ctx context.Context, revs map[string]time.Time) error {
	_, err := run(s, ctx, func(ctx context.Context) (struct{}, error) {
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			now := time.Now()
			for key, until := range revs {
				pipe.ZAddGT(ctx, s.revocations(), redis.Z{Score: float64(until.UnixMilli()), Member: key})
				// The earlier versions' key, read by replicas still on one
				// of them during a rolling upgrade.
				pipe.Set(ctx, s.legacyRevokedKey(key), "1", max(until.Sub(now), time.Millisecond))
			}
			pipe.ZRemRangeByScore(ctx, s.revocations(), "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
			for key, until := range revs {
				pipe.Publish(ctx, s.revokedChannel(), key+" "+strconv.FormatInt(until.UnixMilli(), 10))
			}
			return nil
		})
		return struct{}{}, err
	})
	return err
}

// flushRevocations writes the revocations queued while Redis was away.
func (s *Store) flushRevocations(ctx context.Context) {
	s.pendingMu.Lock()
	batch := make(map[string]time.Time, len(s.pending))
	for k, v := range s.pending {
		batch[k] = v
	}
	s.pendingMu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := s.writeRevocations(ctx, batch); err != nil {
		s.debug("write queued revocations", err)
		return
	}
	s.pendingMu.Lock()
	for k, v := range batch {
		if s.pending[k].Equal(v) {
			delete(s.pending, k)
		}
	}
	s.pendingMu.Unlock()
}

// resyncRevocations hands every revocation still in force to the OnRevoke
// callbacks: what was published while this Store could not hear it.
func (s *Store) resyncRevocations(ctx context.Context) {
	if !s.sub.hasRevokeCallbacks() {
		return
	}
	zs, err := run(s, ctx, func(ctx context.Context) ([]redis.Z, error) {
		return s.client.ZRangeByScoreWithScores(ctx, s.revocations(), &redis.ZRangeBy{
			Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf", Count: maxResync,
		}).Result()
	})
	if err != nil {
		s.debug("reload revocations", err)
		return
	}
	for _, z := range zs {
		key, ok := z.Member.(string)
		if ok && validKey(key) {
			s.sub.deliver(key, time.UnixMilli(int64(z.Score)))
		}
	}
}

// PendingRevocations reports how many revocations wait for Redis to come
// back.
func (s *Store) PendingRevocations() int {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	return len(s.pending)
}

// Revoked implements [refresh.Revoker].
func (s *Store) Revoked(ctx context.Context, key string) (bool, error) {
	if !validKey(key) {
		return false, ErrInvalidKey
	}
	var score *redis.FloatCmd
	var legacy *redis.IntCmd
	_, err := run(s, ctx, func(ctx context.Context) (struct{}, error) {
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			score = pipe.ZScore(ctx, s.revocations(), key)
			// A revocation recorded by a replica still on an earlier
			// version, during a rolling upgrade.
			legacy = pipe.Exists(ctx, s.legacyRevokedKey(key))
			return nil
		})
		if errors.Is(err, redis.Nil) {
			err = nil // no score: not in the set
		}
		return struct{}{}, err
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: revoked: %w", err)
	}
	if legacy.Val() > 0 {
		return true, nil
	}
	sc, err := score.Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && time.Now().Before(time.UnixMilli(int64(sc))), nil
}

// OnRevoke implements [refresh.Revoker]: f is called with every revocation
// any Store on this Redis and Prefix records, from the Store's one
// subscription, and with every revocation in force each time the
// subscription is (re)established or Redis comes back after an outage.
func (s *Store) OnRevoke(f func(key string, until time.Time)) { s.sub.onRevoke(f) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
