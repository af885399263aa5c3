package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/redis/go-redis/v9"
)

// Defaults for [Options].
const (
	// DefaultPrefix starts every Redis key and channel the Store uses.
	DefaultPrefix = "qelos:refresh:"
	// DefaultLease is how long a lock outlives its owner's last renewal:
	// longer than the Coordinator's CallTimeout (refresh.DefaultCallTimeout,
	// 30 s), so that an owner cut off from Redis loses its lock only if its
	// refresh call outlives its own timeout. The price: replicas wait up to
	// this long for an owner whose process died mid-refresh (answering 503,
	// cookies kept), rather than spend the token it may have spent.
	DefaultLease = refresh.DefaultCallTimeout + 5*time.Second
	// DefaultOpTimeout bounds each Redis round trip. Derivation: on a warm
	// pooled connection an operation is one round trip (a pipeline too); a
	// fresh connection costs three (TCP handshake, HELLO/AUTH, the command).
	// 1 s keeps a Redis 100 ms away healthy with 3× headroom even on a cold
	// connection, and 10× on a warm one, while a dead Redis still shows
	// within the Coordinator's Patience (2 s).
	DefaultOpTimeout = time.Second
	// DefaultPoolSize bounds the connections a NewFromURL Store opens for
	// commands (plus at most DefaultPipelinePoolSize for pipelines and one
	// for its subscription), however many users refresh at once; on a
	// Cluster, to each node.
	DefaultPoolSize = 32
	// DefaultPipelinePoolSize bounds the connections kept for pipelines.
	DefaultPipelinePoolSize = 8
	// DefaultPollInterval is how often Wait looks at Redis when no
	// notification has arrived.
	DefaultPollInterval = 50 * time.Millisecond
	// MinSecretLen is the shortest [Options.Secret] accepted.
	MinSecretLen = 16
)

// ErrUnreadable describes a stored value that does not decrypt: it was
// written with a secret this Store was not given, for another key, or
// altered in Redis. Such a value is never returned as a pair: Get and Wait
// return errUnreadableOutcome, which wraps both this and
// [refresh.ErrInDoubt] (the token was spent by a replica whose outcome this
// one cannot read: never a permission to spend it again).
var ErrUnreadable = errors.New("redisstore: stored pair does not decrypt (written with another Secret, or tampered with)")

var errUnreadableOutcome = fmt.Errorf("redisstore: %w: %w (%w)", refresh.ErrOutcomeUnreadable, ErrUnreadable, refresh.ErrInDoubt)

// ErrInvalidKey reports a key that is not a [refresh.Key]. The Store
// refuses it rather than write what might be a raw token into a key name.
var ErrInvalidKey = errors.New("redisstore: key is not a refresh.Key (64 lowercase hex digits)")

// Options configure a [Store]. Only Secret is required; every replica that
// shares the Redis must use the same Secret and Prefix.
type Options struct {
	// Secret encrypts the stored pairs (which hold live tokens). Pass the
	// app's cookie or session key, at least MinSecretLen (16) random bytes.
	// The encryption key is derived from it with HKDF-SHA256 and a label of
	// its own, so reusing the cookie key is safe. Required.
	Secret []byte
	// OldSecrets open stored values as well as Secret (which alone seals):
	// during a key rotation, give every replica all the keys in play (the
	// app's other cookie keys), so that one sealing with the old key and one
	// with the new read each other's values. A value no secret opens counts
	// as absent. Default: none.
	OldSecrets [][]byte
	// Logger receives go-redis's own log lines (failed dials and the like),
	// at Debug level, instead of stderr. go-redis has a single, global
	// logger: every Store routes it to the most recent non-nil Logger given,
	// and without one it is silenced. Default: none.
	Logger *slog.Logger
	// Prefix starts every key and channel name. Default: DefaultPrefix.
	Prefix string
	// Lease is how long a lock survives without renewal; the owner renews
	// it every Lease/3 while its refresh runs. It bounds how long the other
	// replicas wait for a crashed owner. Keep it above the Coordinator's
	// CallTimeout (see DefaultLease). Default: DefaultLease (35 s).
	Lease time.Duration
	// OpTimeout bounds every Redis round trip, whatever the client's own
	// timeouts, so a down or wedged Redis costs a request at most a few of
	// these before the Coordinator falls back to in-process coordination.
	// Default: DefaultOpTimeout (1 s; see there how it is derived).
	OpTimeout time.Duration
	// PollInterval is how often Wait checks Redis when no notification
	// arrives: the fallback for a lost notification and how a crashed
	// owner's lapsed lease is noticed. Default: DefaultPollInterval (50 ms).
	PollInterval time.Duration
	// ProbeInterval is how often a Store that could not reach Redis tries
	// it again. Meanwhile every method fails at once with ErrStoreDown, so a
	// dead Redis costs requests microseconds, not OpTimeout each.
	// Default: DefaultProbeInterval (1 s).
	ProbeInterval time.Duration
}

// Store is a [refresh.Store] and [refresh.Locker] on Redis. It is safe for
// concurrent use. Create it with [New] or [NewFromURL].
type Store struct {
	client    redis.UniversalClient
	cluster   *redis.ClusterClient // client, when it is a Redis Cluster's
	owned     bool
	keys      atomic.Pointer[keyring] // replaced whole by AcceptSecrets
	prefix    string
	lease     time.Duration
	opTimeout time.Duration
	poll      time.Duration
	sub       *subscription

	probeEvery time.Duration
	down       atomic.Bool   // the breaker: open while Redis is unreachable
	slow       atomic.Int32  // operations timed out in a row
	answered   atomic.Int64  // unix ns: Redis's latest answer to an operation
	unsure     atomic.Bool   // the subscription dropped and is not back yet
	doubtUntil atomic.Int64  // unix ns: Redis restarted; in doubt until then
	closing    chan struct{} // closed by Close
	recoverMu  sync.Mutex    // serialises reconnected
	idMu       sync.Mutex
	runIDs     map[string]bool // the run_id of every master, as last seen
	runIDsAt   time.Time       // when runIDs was last confirmed

	heldMu sync.Mutex
	held   map[string]*heldLock // locks this Store holds, by key

	pendingMu sync.Mutex
	pending   map[string]time.Time // revocations waiting for Redis, by key

	recent recentPuts // outcomes recorded here, for reassert

	closeOnce sync.Once
}

var (
	_ refresh.Locker        = (*Store)(nil)
	_ refresh.FailureSharer = (*Store)(nil)
	_ refresh.Forgetter     = (*Store)(nil)
	_ refresh.Revoker       = (*Store)(nil)
	_ refresh.KeyedStore    = (*Store)(nil)
	_ refresh.LockHolder    = (*Store)(nil)
)

// AcceptSecrets implements [refresh.KeyedStore]: stored values then open
// with these secrets too (Secret still seals). middleware.New calls it with
// every cookie key, so that replicas in the middle of a key rotation, which
// seal with different keys, read each other's values. Secrets shorter than
// MinSecretLen are ignored.
func (s *Store) AcceptSecrets(secrets ...[]byte) {
	for {
		old := s.keys.Load()
		next, err := old.with(secrets...)
		if err != nil || s.keys.CompareAndSwap(old, next) {
			return
		}
	}
}

// New returns a Store that keeps its state in Redis through client: a
// *redis.Client (one server, or a Sentinel-managed master through
// redis.NewFailoverClient) or a *redis.ClusterClient (Redis Cluster; what
// redis.NewUniversalClient returns for several addresses without a
// MasterName). A *redis.Ring is refused: its shards neither share pub/sub
// nor fail over, so replicas could not hear each other's outcomes. The
// caller keeps ownership of client: [Store.Close] leaves it open. New does
// not contact Redis; an unreachable Redis shows as errors from the methods,
// which the Coordinator tolerates.
//
// On a Cluster, every key of one token carries the token's hash as a hash
// tag ("{…}"), so a token's lock, outcome and marks live in one slot, on
// one master, and fail over together.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil redis client")
	}
	if _, ok := client.(*redis.Ring); ok {
		return nil, errors.New("redisstore: a *redis.Ring is not supported (its shards share no pub/sub and do not fail over): use a Redis Cluster (redis.NewClusterClient) or Sentinel (redis.NewFailoverClient)")
	}
	if len(opts.Secret) < MinSecretLen {
		return nil, fmt.Errorf("redisstore: Options.Secret has %d bytes, need at least %d: pass the app's cookie/session secret (for example 32 random bytes), the same on every replica", len(opts.Secret), MinSecretLen)
	}
	cluster, _ := client.(*redis.ClusterClient)
	s := &Store{
		client:    client,
		cluster:   cluster,
		prefix:    opts.Prefix,
		lease:     opts.Lease,
		opTimeout: opts.OpTimeout,
		poll:      opts.PollInterval,

		probeEvery: opts.ProbeInterval,
		closing:    make(chan struct{}),
		held:       map[string]*heldLock{},
		pending:    map[string]time.Time{},
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if cluster != nil && strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("redisstore: Options.Prefix %q has a brace: on a Redis Cluster the Store puts each token's hash tag in its key names, and a brace in the prefix would move every key to one slot; choose a prefix without braces", s.prefix)
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
		{"ProbeInterval", &s.probeEvery, DefaultProbeInterval, time.Millisecond},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < d.min:
			return nil, fmt.Errorf("redisstore: Options.%s is %v, want 0 (default %v) or at least %v", d.name, *d.v, d.def, d.min)
		}
	}
	for i, old := range opts.OldSecrets {
		if len(old) < MinSecretLen {
			return nil, fmt.Errorf("redisstore: Options.OldSecrets[%d] has %d bytes, need at least %d", i, len(old), MinSecretLen)
		}
	}
	keys, err := newKeyring(append([][]byte{opts.Secret}, opts.OldSecrets...)...)
	if err != nil {
		return nil, err
	}
	s.keys.Store(keys)
	routeRedisLogs(opts.Logger)
	s.sub = newSubscription(s)
	return s, nil
}

// NewFromURL connects to the Redis that rawURL names and returns a Store
// that owns the client: [Store.Close] closes it. Three forms, as go-redis
// parses them:
//
//   - one server: "redis://[user:password@]host:port/db", or "rediss://"
//     for TLS (redis.ParseURL);
//   - a Redis Cluster: "redis://[user:password@]host1:port?addr=host2:port&addr=host3:port",
//     any of its nodes as seeds (redis.ParseClusterURL);
//   - a master watched by Sentinel: "redis://[user:password@]sentinel1:26379?master_name=mymaster&addr=sentinel2:26379&password=…",
//     the user and password in front being the Sentinels' and the master's
//     given by the username and password parameters (redis.ParseFailoverURL).
//
// Whatever the form, the client gets this package's timeouts and pool
// bounds (see there) unless the URL sets them.
func NewFromURL(rawURL string, opts Options) (*Store, error) {
	client, err := clientFromURL(rawURL, opts.OpTimeout)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the whole URL, password included
		}
		return nil, fmt.Errorf("redisstore: bad Redis URL: %w", err)
	}
	s, err := New(client, opts)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// clientFromURL picks the client for rawURL's form (see NewFromURL).
func clientFromURL(rawURL string, opTimeout time.Duration) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		return tuned(rawURL, opTimeout, redis.ParseFailoverURL, func(o *redis.FailoverOptions) clientTuning {
			return clientTuning{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
				&o.PoolSize, &o.MaxActiveConns, &o.PipelinePoolSize, &o.MinIdleConns, &o.MaxRetries, &o.MinRetryBackoff, &o.MaxRetryBackoff, &o.DialerRetries}
		}, func(o *redis.FailoverOptions) redis.UniversalClient { return redis.NewFailoverClient(o) })
	case q.Has("addr"):
		return tuned(rawURL, opTimeout, redis.ParseClusterURL, func(o *redis.ClusterOptions) clientTuning {
			return clientTuning{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
				&o.PoolSize, &o.MaxActiveConns, &o.PipelinePoolSize, &o.MinIdleConns, &o.MaxRetries, &o.MinRetryBackoff, &o.MaxRetryBackoff, &o.DialerRetries}
		}, func(o *redis.ClusterOptions) redis.UniversalClient { return redis.NewClusterClient(o) })
	}
	return tuned(rawURL, opTimeout, redis.ParseURL, func(o *redis.Options) clientTuning {
		return clientTuning{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.PoolSize, &o.MaxActiveConns, &o.PipelinePoolSize, &o.MinIdleConns, &o.MaxRetries, &o.MinRetryBackoff, &o.MaxRetryBackoff, &o.DialerRetries}
	}, func(o *redis.Options) redis.UniversalClient { return redis.NewClient(o) })
}

// tuned parses rawURL into go-redis options of kind O, gives the fields
// knobs points at the Store's defaults (tune), and only then builds the
// client, which copies its options when it is made.
func tuned[O any](rawURL string, opTimeout time.Duration, parse func(string) (*O, error), knobs func(*O) clientTuning, build func(*O) redis.UniversalClient) (redis.UniversalClient, error) {
	o, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	tune(opTimeout, knobs(o))
	return build(o), nil
}

// clientTuning points at the fields of go-redis's Options, ClusterOptions
// or FailoverOptions that tune sets.
type clientTuning struct {
	dial, read, write, pool                             *time.Duration
	poolSize, maxActive, pipelinePool, minIdle, retries *int
	minBackoff, maxBackoff                              *time.Duration
	dialRetries                                         *int
}

// tune gives a client parsed from a URL the Store's defaults where the URL
// left a field unset.
//
// Warm, bounded pool. Context deadlines are not applied to sockets
// (ContextTimeoutEnabled stays false): with them, every timed-out
// operation discards its connection, and a slow Redis then never keeps a
// warm one. OpTimeout is enforced around each call instead (see call), and
// the socket timeouts bound what an abandoned call can hold.
//
// Fail fast: go-redis retries a failed command three times by default,
// with back-offs of up to half a second, and a failed dial five times, 100
// ms apart, so a refused connection cost each operation about its whole
// OpTimeout (on a Cluster, an operation on a dead master's slot outlived
// it). One immediate retry covers a pooled connection a restart left
// stale; the breaker (see run) covers the rest.
func tune(op time.Duration, t clientTuning) {
	if op <= 0 {
		op = DefaultOpTimeout
	}
	setDuration := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if *t.dial == 0 || *t.dial > op {
		*t.dial = op
	}
	setDuration(t.read, op)
	setDuration(t.write, op)
	setDuration(t.pool, op)
	setInt(t.poolSize, DefaultPoolSize)
	setInt(t.maxActive, *t.poolSize)
	setInt(t.pipelinePool, DefaultPipelinePoolSize)
	setInt(t.minIdle, 2)
	setInt(t.retries, 1)
	setDuration(t.minBackoff, time.Millisecond)
	setDuration(t.maxBackoff, 4*time.Millisecond)
	setInt(t.dialRetries, 1)
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
//	cfg.Refresh.Store = store
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
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		s.sub.close()
		if s.owned {
			err = s.client.Close()
		}
	})
	return err
}

// Get implements [refresh.Store]. A value that no secret opens means
// another replica spent the token and sealed its outcome with a key this
// one lacks (mid key rotation): Get returns an error wrapping
// [refresh.ErrInDoubt], never "absent", which would be a permission to
// spend. While another replica's failed refresh of key is shared (see
// PutFailure), Get returns an error wrapping [refresh.ErrFailedRecently].
func (s *Store) Get(ctx context.Context, key string) (refresh.Pair, bool, error) {
	if !validKey(key) {
		return refresh.Pair{}, false, ErrInvalidKey
	}
	l, err := s.look(ctx, key)
	switch {
	case err != nil:
		return refresh.Pair{}, false, fmt.Errorf("redisstore: get: %w", err)
	case l.found:
		return l.pair, true, nil
	case l.unreadable:
		return refresh.Pair{}, false, errUnreadableOutcome
	case l.failed:
		return refresh.Pair{}, false, refresh.ErrFailedRecently
	}
	return refresh.Pair{}, false, nil
}

// putScript stores a pair, then tells the waiters. One script, so that the
// notification leaves after the write on the node that holds the key: on a
// Cluster a pipeline sends the keyless PUBLISH to another node, in
// parallel, and a waiter woken before the SET landed found nothing and
// slept until its next poll. A failed PUBLISH (an ACL without pub/sub) only
// costs the waiters a poll, so it does not fail the Put.
var putScript = redis.NewScript(`
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.pcall("PUBLISH", ARGV[3], "pair")
return 1`)

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
	val := s.keys.Load().seal(key, p)
	_, err := run(s, ctx, func(ctx context.Context) (int64, error) {
		return putScript.Run(ctx, s.client, []string{s.pairKey(key)}, val, ttl.Milliseconds(), s.channel(key)).Int64()
	})
	if err != nil {
		return fmt.Errorf("redisstore: put: %w", err)
	}
	s.recent.add(key, val, ttl)
	s.heldMu.Lock()
	if h := s.held[key]; h != nil {
		h.recorded = true
	}
	s.heldMu.Unlock()
	return nil
}

// Key layout. Only the refresh.Key hash appears in a name, never a token.
// On a Cluster the hash is a hash tag, so that the keys of one token share a
// slot; elsewhere the names stay those of earlier versions, so a rolling
// upgrade keeps sharing locks.
func (s *Store) pairKey(key string) string   { return s.tokenKey("pair:", key) }
func (s *Store) lockKey(key string) string   { return s.tokenKey("lock:", key) }
func (s *Store) failKey(key string) string   { return s.tokenKey("fail:", key) }
func (s *Store) gaveUpKey(key string) string { return s.tokenKey("gaveup:", key) }
func (s *Store) channel(key string) string   { return s.prefix + "done:" + key }
func (s *Store) revocations() string         { return s.prefix + "revocations" }
func (s *Store) revokedChannel() string      { return s.prefix + "revoked" }

func (s *Store) tokenKey(kind, key string) string {
	if s.cluster != nil {
		return s.prefix + kind + "{" + key + "}"
	}
	return s.prefix + kind + key
}

// legacyRevokedKey is where earlier versions recorded a revocation, one
// key each; kept in step with the set so a rolling upgrade loses none.
func (s *Store) legacyRevokedKey(key string) string { return s.prefix + "revoked:" + key }

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
