package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// PutFailure implements [refresh.FailureSharer]: for ttl, Get and Wait for
// key report [refresh.ErrFailedRecently], so other replicas' callers answer
// "unavailable" at once instead of retrying a failing Qelos together.
func (s *Store) PutFailure(ctx context.Context, key string, ttl time.Duration) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (string, error) {
		return s.client.Set(ctx, s.failKey(key), "1", max(ttl, time.Millisecond)).Result()
	})
	if err != nil {
		return fmt.Errorf("redisstore: put failure: %w", err)
	}
	return nil
}

// Forget implements [refresh.Forgetter]: it deletes the pair recorded for
// key (and any shared failure).
func (s *Store) Forget(ctx context.Context, key string) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (int64, error) {
		return s.client.Del(ctx, s.pairKey(key), s.failKey(key)).Result()
	})
	if err != nil {
		return fmt.Errorf("redisstore: forget: %w", err)
	}
	return nil
}

// Revoke implements [refresh.Revoker]: it records key as revoked until the
// given time (the access token's expiry; the Redis key expires then, so the
// set holds only tokens that are still valid) and tells the other Stores,
// whose Coordinators add it to their in-process sets.
func (s *Store) Revoke(ctx context.Context, key string, until time.Time) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (struct{}, error) {
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, s.revokedKey(key), "1", max(ttl, time.Millisecond))
			pipe.Publish(ctx, s.revokedChannel(), key+" "+strconv.FormatInt(until.UnixMilli(), 10))
			return nil
		})
		return struct{}{}, err
	})
	if err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	return nil
}

// Revoked implements [refresh.Revoker].
func (s *Store) Revoked(ctx context.Context, key string) (bool, error) {
	if !validKey(key) {
		return false, ErrInvalidKey
	}
	n, err := call(ctx, s.opTimeout, func(ctx context.Context) (int64, error) {
		return s.client.Exists(ctx, s.revokedKey(key)).Result()
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: revoked: %w", err)
	}
	return n > 0, nil
}

// OnRevoke implements [refresh.Revoker]: f is called with every revocation
// any Store on this Redis and Prefix records, from the Store's one
// subscription.
func (s *Store) OnRevoke(f func(key string, until time.Time)) { s.sub.onRevoke(f) }

// go-redis logs through one global logger, to stderr by default. Stores
// route it to their Options.Logger, or nowhere.
var (
	redisLogOnce sync.Once
	redisLogTo   atomic.Pointer[slog.Logger]
)

func routeRedisLogs(l *slog.Logger) {
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{}) })
	if l != nil {
		redisLogTo.Store(l)
	}
}

type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := redisLogTo.Load(); l != nil {
		l.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
	}
}

func (s *Store) debug(what string, err error) {
	if l := redisLogTo.Load(); l != nil {
		l.Debug("redisstore: "+what, "err", err)
	}
}
