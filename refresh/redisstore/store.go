package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/redis/go-redis/v9"
)

// Defaults for [Options].
const (
	// DefaultPrefix starts every Redis key and channel the Store uses.
	DefaultPrefix = "qelos:refresh:"
	// DefaultLease is how long a lock outlives its owner's last renewal.
	DefaultLease = 5 * time.Second
	// DefaultOpTimeout bounds each Redis round trip.
	DefaultOpTimeout = 250 * time.Millisecond
	// DefaultPollInterval is how often Wait looks at Redis when no
	// notification has arrived.
	DefaultPollInterval = 50 * time.Millisecond
	// MinSecretLen is the shortest [Options.Secret] accepted.
	MinSecretLen = 16
)

// ErrUnreadable reports a stored value that does not decrypt: it was written
// with another [Options.Secret], for another key, or altered in Redis. Such a
// value is never returned as a pair; the method reports it as absent along
// with this error.
var ErrUnreadable = errors.New("redisstore: stored pair does not decrypt (written with another Secret, or tampered with)")

// ErrInvalidKey reports a key that is not a [refresh.Key]. The Store
// refuses it rather than write what might be a raw token into a key name.
var ErrInvalidKey = errors.New("redisstore: key is not a refresh.Key (64 lowercase hex digits)")

// Options configure a [Store]. Only Secret is required; every replica that
// shares the Redis must use the same Secret and Prefix.
type Options struct {
	// Secret encrypts the stored pairs (which hold live tokens). Pass the
	// app's cookie or session key, at least MinSecretLen (16) random bytes,
	// identical on every replica. The encryption key is derived from it with
	// HKDF-SHA256 and a label of its own, so reusing the cookie key is safe.
	// Required.
	Secret []byte
	// Prefix starts every key and channel name. Default: DefaultPrefix.
	Prefix string
	// Lease is how long a lock survives without renewal; the owner renews
	// it every Lease/3 while its refresh runs. It bounds how long the other
	// replicas wait for a crashed owner. Keep it well above OpTimeout.
	// Default: DefaultLease (5 s).
	Lease time.Duration
	// OpTimeout bounds every Redis round trip, whatever the client's own
	// timeouts, so a down or wedged Redis costs a request at most a few of
	// these before the Coordinator falls back to in-process coordination.
	// Default: DefaultOpTimeout (250 ms).
	OpTimeout time.Duration
	// PollInterval is how often Wait checks Redis when no notification
	// arrives: the fallback for a lost notification and how a crashed
	// owner's lapsed lease is noticed. Default: DefaultPollInterval (50 ms).
	PollInterval time.Duration
}

// Store is a [refresh.Store] and [refresh.Locker] on Redis. It is safe for
// concurrent use. Create it with [New] or [NewFromURL].
type Store struct {
	client    redis.UniversalClient
	owned     bool
	keys      *keyring
	prefix    string
	lease     time.Duration
	opTimeout time.Duration
	poll      time.Duration
}

var _ refresh.Locker = (*Store)(nil)

// New returns a Store that keeps its state in Redis through client, which
// may be a *redis.Client, *redis.ClusterClient, *redis.Ring or failover
// client. The caller keeps ownership of client: [Store.Close] leaves it open.
// New does not contact Redis; an unreachable Redis shows as errors from the
// methods, which the Coordinator tolerates.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil redis client")
	}
	if len(opts.Secret) < MinSecretLen {
		return nil, fmt.Errorf("redisstore: Options.Secret has %d bytes, need at least %d: pass the app's cookie/session secret (for example 32 random bytes), the same on every replica", len(opts.Secret), MinSecretLen)
	}
	s := &Store{
		client:    client,
		prefix:    opts.Prefix,
		lease:     opts.Lease,
		opTimeout: opts.OpTimeout,
		poll:      opts.PollInterval,
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
		min  time.Duration
	}{
		{"Lease", &s.lease, DefaultLease, 10 * time.Millisecond},
		{"OpTimeout", &s.opTimeout, DefaultOpTimeout, time.Millisecond},
		{"PollInterval", &s.poll, DefaultPollInterval, time.Millisecond},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < d.min:
			return nil, fmt.Errorf("redisstore: Options.%s is %v, want 0 (default %v) or at least %v", d.name, *d.v, d.def, d.min)
		}
	}
	keys, err := newKeyring(opts.Secret)
	if err != nil {
		return nil, err
	}
	s.keys = keys
	return s, nil
}

// NewFromURL connects to the Redis at rawURL ("redis://[user:password@]host:port/db",
// or "rediss://" for TLS, as parsed by redis.ParseURL) and returns a Store
// that owns the client: [Store.Close] closes it.
func NewFromURL(rawURL string, opts Options) (*Store, error) {
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the whole URL, password included
		}
		return nil, fmt.Errorf("redisstore: bad Redis URL: %w", err)
	}
	ro.ContextTimeoutEnabled = true // let OpTimeout reach the socket, not only the caller
	client := redis.NewClient(ro)
	s, err := New(client, opts)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// EnvURL names the environment variable [NewFromEnv] reads: the Redis URL
// that every replica of the app shares, such as
// "redis://:password@10.0.0.5:6379/0".
const EnvURL = "QELOS_REDIS_URL"

// NewFromEnv is [NewFromURL] with the URL in the QELOS_REDIS_URL environment
// variable ([EnvURL]). An unset variable is an error that says so: an app
// that runs as one replica as well checks the variable first and keeps
// middleware's in-memory store when it is empty. The usual setup, with the
// app's first cookie key as the Secret so that every replica with the same
// QELOS_COOKIE_KEYS reads what the others wrote:
//
//	store, err := redisstore.NewFromEnv(redisstore.Options{Secret: cfg.CookieKeys[0].Hash})
//	if err != nil { … }
//	defer store.Close()
//	cfg.RefreshStore = store
func NewFromEnv(opts Options) (*Store, error) {
	raw := strings.TrimSpace(os.Getenv(EnvURL))
	if raw == "" {
		return nil, fmt.Errorf("redisstore: %s is not set: set it to the Redis URL every replica shares, such as redis://:password@10.0.0.5:6379/0", EnvURL)
	}
	s, err := NewFromURL(raw, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvURL, err)
	}
	return s, nil
}

// Close closes the Redis client if the Store created it ([NewFromURL]); a
// client passed to [New] is left open. Locks still held are not released;
// their leases lapse.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.client.Close()
}

// Get implements [refresh.Store]. A value that does not decrypt is reported
// as absent, with an error wrapping [ErrUnreadable].
func (s *Store) Get(ctx context.Context, key string) (refresh.Pair, bool, error) {
	if !validKey(key) {
		return refresh.Pair{}, false, ErrInvalidKey
	}
	val, err := call(ctx, s.opTimeout, func(ctx context.Context) ([]byte, error) {
		return s.client.Get(ctx, s.pairKey(key)).Bytes()
	})
	switch {
	case errors.Is(err, redis.Nil):
		return refresh.Pair{}, false, nil
	case err != nil:
		return refresh.Pair{}, false, fmt.Errorf("redisstore: get: %w", err)
	}
	p, err := s.keys.open(key, val)
	if err != nil {
		return refresh.Pair{}, false, err
	}
	return p, true, nil
}

// Put implements [refresh.Store]: it stores p encrypted under key for ttl,
// then notifies the replicas waiting for it.
func (s *Store) Put(ctx context.Context, key string, p refresh.Pair, ttl time.Duration) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: put: ttl is %v, want > 0", ttl)
	}
	ttl = max(ttl, time.Millisecond) // PX counts milliseconds
	val := s.keys.seal(key, p)
	_, err := call(ctx, s.opTimeout, func(ctx context.Context) (struct{}, error) {
		var set *redis.StatusCmd
		_, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			set = pipe.Set(ctx, s.pairKey(key), val, ttl)
			pipe.Publish(ctx, s.channel(key), "pair")
			return nil
		})
		switch {
		case set.Err() != nil:
			return struct{}{}, set.Err()
		case set.Val() != "OK":
			return struct{}{}, fmt.Errorf("SET answered %q (pipeline: %v)", set.Val(), err)
		}
		// The pair is stored. A failed PUBLISH only costs waiters a poll.
		return struct{}{}, nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: put: %w", err)
	}
	return nil
}

// Key layout. Only the refresh.Key hash appears in a name, never a token.
func (s *Store) pairKey(key string) string { return s.prefix + "pair:" + key }
func (s *Store) lockKey(key string) string { return s.prefix + "lock:" + key }
func (s *Store) channel(key string) string { return s.prefix + "done:" + key }

// validKey reports whether key looks like refresh.Key's output.
func validKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// call runs op with a context bounded by timeout and returns when op does or
// when the bound passes, whichever is first. go-redis only applies context
// deadlines to socket reads when the client has ContextTimeoutEnabled, which
// a client handed to New may not; running op aside guarantees the bound
// anyway. An op abandoned this way finishes in the background, within the
// client's own read timeout.
func call[T any](ctx context.Context, timeout time.Duration, op func(context.Context) (T, error)) (T, error) {
	opCtx, cancel := context.WithTimeout(ctx, timeout)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer cancel()
		v, err := op(opCtx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-opCtx.Done():
		select {
		case r := <-done: // finished at the wire: keep the answer
			return r.v, r.err
		default:
		}
		var zero T
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, fmt.Errorf("no answer from Redis within %v: %w", timeout, context.DeadlineExceeded)
	}
}
