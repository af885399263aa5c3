package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

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
