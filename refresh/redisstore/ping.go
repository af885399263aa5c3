package redisstore

import (
	"context"
	"fmt"

	"github.com/qelos-io/integrator-go/refresh"
)

var _ refresh.Pinger = (*Store)(nil)

// Ping implements [refresh.Pinger]: one PING round trip, bounded by
// Options.OpTimeout, for a readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (string, error) {
		return s.client.Ping(ctx).Result()
	})
	if err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}
