package refresh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// Pair is an OAuth access token and the refresh token that renews it, as
// Qelos issues them.
type Pair struct {
	AccessToken  string
	RefreshToken string
}

// A Refresher exchanges a refresh token for a new [Pair]. [Client] is the
// Qelos implementation; [Coordinator] wraps any Refresher so that each
// refresh token is spent once.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (Pair, error)
}

// RefresherFunc adapts a function to the [Refresher] interface.
type RefresherFunc func(ctx context.Context, refreshToken string) (Pair, error)

// Refresh calls f(ctx, refreshToken).
func (f RefresherFunc) Refresh(ctx context.Context, refreshToken string) (Pair, error) {
	return f(ctx, refreshToken)
}

// Key is the name under which a refresh token's outcome is coordinated: the
// hex SHA-256 of the token. Stores see only keys, never tokens.
func Key(refreshToken string) string {
	sum := sha256.Sum256([]byte(refreshToken))
	return hex.EncodeToString(sum[:])
}
