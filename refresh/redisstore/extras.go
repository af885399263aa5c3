package redisstore

import (
	"context"
	"fmt"
	"log/slog"
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
	_, err := run(s, ctx, func(ctx context.Context) (string, error) {
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
	_, err := run(s, ctx, func(ctx context.Context) (int64, error) {
		return s.client.Del(ctx, s.pairKey(key), s.failKey(key)).Result()
	})
	s.recent.forget(key)
	if err != nil {
		return fmt.Errorf("redisstore: forget: %w", err)
	}
	return nil
}

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
