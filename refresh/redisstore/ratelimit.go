package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/redis/go-redis/v9"
)

var _ refresh.RateCounter = (*Store)(nil)

// takeScript is a sliding-window log in one sorted set per key: members
// scored by their attempt time in microseconds. It drops the attempts that
// left the window, then either records this one (fewer than limit remain)
// or answers how long until the oldest leaves. The set holds at most limit
// members and expires a window after the last recorded attempt.
//
// KEYS[1] the counter; ARGV: now (µs), window (µs), limit, member.
// Returns {1, 0} when recorded, {0, retry-after µs} when refused.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
	redis.call('ZADD', KEYS[1], now, ARGV[4])
	redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
	return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`)

// Take implements [refresh.RateCounter] on Redis, so that replicas sharing
// the Store share the middleware's sign-in rate limit. key must be a
// [refresh.Key] (the middleware hashes what it counts): no user name or
// address is written to Redis. The count is kept under Prefix+"rate:"+key
// with at most limit members, and expires a window after the last
// recorded attempt. now is the caller's clock, so replicas whose clocks
// disagree by d see windows that disagree by d.
func (s *Store) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	if !validKey(key) {
		return false, 0, ErrInvalidKey
	}
	if limit <= 0 || window <= 0 {
		return false, window, nil
	}
	member := rand.Text() // distinct attempts at the same microsecond
	res, err := run(s, ctx, func(ctx context.Context) ([]int64, error) {
		return takeScript.Run(ctx, s.client, []string{s.rateKey(key)},
			now.UnixMicro(), window.Microseconds(), limit, member).Int64Slice()
	})
	if err != nil {
		return false, 0, fmt.Errorf("redisstore: rate count: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redisstore: rate count: unexpected answer %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

func (s *Store) rateKey(key string) string { return s.prefix + "rate:" + key }
