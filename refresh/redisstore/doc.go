// Package redisstore shares refresh coordination between the replicas of an
// app through Redis: a [refresh.Store] that is also a [refresh.Locker].
//
// Qelos refresh tokens are single use. When an app runs as several replicas,
// one browser's parallel requests with the same expired pair land on
// different replicas; with a [Store] behind every replica's
// [refresh.Coordinator], exactly one replica calls the token endpoint and the
// others receive its result:
//
//	replica A                        Redis                      replicas B, C
//	SET lock:<k> NX PX lease ──────▶ lock is A's ◀────────── SET lock:<k> NX PX: refused
//	POST /api/token/refresh          (A renews the lease     SUBSCRIBE done:<k>, then
//	  │  (PEXPIRE every Lease/3)      while it works)         EXISTS lock + GET pair: wait
//	  ▼
//	SET pair:<k> PX grace ─────────▶ encrypted pair
//	PUBLISH done:<k> ──────────────▶ ──────────────────────▶ woken: GET pair ✓, same Pair
//	DEL lock:<k> if still A's ─────▶ lock free
//
// If A dies, nobody renews its lease: the lock expires and the waiters,
// which also poll, find it free with no pair, and one of them takes over.
//
// # With package middleware
//
// Give every replica the same QELOS_COOKIE_KEYS and a Store as its
// middleware.Config.Refresh.Store, with the first cookie key as the Secret:
//
//	store, err := redisstore.NewFromEnv(redisstore.Options{Secret: cfg.CookieKeys[0].Hash}) // QELOS_REDIS_URL
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	cfg.Refresh.Store = store
//
// This package is a Go module of its own
// (github.com/qelos-io/integrator-go/refresh/redisstore), so that apps that
// run as one replica do not link go-redis.
//
// # Redis layout
//
// Under [Options.Prefix] (default "qelos:refresh:"), with <k> the
// [refresh.Key] of the old refresh token (the hex SHA-256, never the token):
//
//	<prefix>pair:<k>  the new pair, AES-256-GCM encrypted, for the grace window
//	<prefix>lock:<k>  a random owner id, expiring after Lease unless renewed
//	<prefix>done:<k>  pub/sub channel: "a pair was stored" or "the lock was released"
//
// The pair is encrypted with a key derived from [Options.Secret] (HKDF-SHA256,
// a fresh subkey per refresh token, random nonces), so a Redis dump, a
// replica of it, or MONITOR shows neither tokens nor JSON. Values open with
// Secret or any of [Options.OldSecrets], so replicas in the middle of a key
// rotation share them; a value none opens means another replica spent the
// token ([refresh.ErrOutcomeUnreadable]): never a permission to spend it.
//
// Besides pairs and locks, the Store keeps, under the same prefix,
// fail:<k> (a refresh of <k> failed transiently, for the Coordinator's
// FailureWindow, 1 s), gaveup:<k> (the owner let go without a pair, 5 s:
// the only sign on which waiters take over), revocations (a sorted set of
// revoked names' hashes, scored by when each revocation ends) and the
// channel "revoked", on which sign-outs are announced to every replica.
//
// On a Redis Cluster (a *redis.ClusterClient, or a NewFromURL URL with
// addr= parameters) <k> is a hash tag in every key name: <prefix>pair:{<k>},
// <prefix>lock:{<k>}, <prefix>fail:{<k>}, <prefix>gaveup:{<k>}, so a token's
// keys share one slot and one master. Channels keep their names (a Cluster
// forwards PUBLISH to every node). On one server or Sentinel the names are
// as above, those of earlier versions.
//
// # Waking the waiters
//
// Each Store holds one long-lived subscription (a pattern over the done:
// channels, and the revoked channel) on a connection of its own; waiters
// register with it and poll every [Options.PollInterval] besides.
// [Store.Wait] argues this choice in full.
//
// # Connections and timeouts
//
// A Store made by [NewFromURL] keeps a warm pool (two idle connections at
// least) of at most [DefaultPoolSize] connections for commands and
// [DefaultPipelinePoolSize] for pipelines, plus its subscription: at most 41
// connections per replica, however many users refresh at once. Context
// deadlines are not applied to sockets (a timed-out operation would discard
// its connection, and a slow Redis would never keep a warm one); every
// round trip is bounded by [Options.OpTimeout] instead, 1 s by default: a
// cold connection costs three round trips (TCP, HELLO, the command) and a
// warm one costs one, so a Redis 100 ms away stays well inside it.
//
// # When Redis is down or slow
//
// Every method returns an error instead of hanging or panicking. A circuit
// breaker opens on a refused or reset connection (or three timeouts in a
// row while Redis answered nothing: operations that time out queueing
// behind a burst, while Redis answers the others, meet a busy Redis, not a
// dead one) and fails every method at once with [ErrStoreDown] until a probe,
// every [Options.ProbeInterval], or the subscription reaches Redis again.
// No token is spent without the lock: while Redis is down, restarted
// moments ago (its run_id changed) or unreadable, the Coordinator answers
// "unavailable" (503, cookies kept) rather than refresh on its own, and a
// replica that has seen an owner waits for that owner's outcome. Revocations
// made while Redis is down are queued and written when it returns; every
// (re)connection reloads the revocations in force. A caller's own deadline
// is never counted as a Redis failure. go-redis's own log lines go to
// [Options.Logger] or nowhere, never to stderr.
//
// The rule for clearing cookies, the measurements and the residual windows
// with their bounds are in docs/REPLICAS.md.
package redisstore
