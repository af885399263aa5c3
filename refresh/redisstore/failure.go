package redisstore

import (
	"context"
	"fmt"
	"time"
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
