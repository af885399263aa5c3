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
// middleware.Config.RefreshStore, with the first cookie key as the Secret:
//
//	store, err := redisstore.NewFromEnv(redisstore.Options{Secret: cfg.CookieKeys[0].Hash}) // QELOS_REDIS_URL
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	cfg.RefreshStore = store
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
// replica of it, or MONITOR shows neither tokens nor JSON. Every replica must
// be given the same Secret; a value that does not decrypt is treated as
// absent and reported as [ErrUnreadable], never returned as a pair.
//
// # Waking the waiters
//
// Waiters subscribe to the key's channel before they look, and poll every
// [Options.PollInterval] besides (which also notices a crashed owner's
// lapsed lease). [Store.Wait] argues this choice in full.
//
// # When Redis is down or slow
//
// Every Redis round trip is bounded by [Options.OpTimeout] (250 ms by
// default), whether or not the client has its own timeouts, and every method
// returns an error instead of hanging or panicking. The Coordinator then
// logs once and coordinates within each process only, so users keep being
// served. The Coordinator first retries a failing store for its Patience
// (refresh.Options, 2 s by default), so that a Redis that is only slow for a
// moment never makes two replicas spend one token; a refresh during an outage
// is therefore slower by about the Patience plus a few OpTimeouts (about 3 s
// at the defaults), and by about a quarter of that once the outage is known;
// requests that need no refresh never touch Redis.
//
// The residual risk: during an outage (or a partition between one replica
// and Redis), replicas no longer see each other's locks. If one browser's
// parallel requests reach two replicas then, both spend the same refresh
// token; Qelos accepts the first and answers 401 to the second, and the
// user whose request got the 401 is signed out. The same happens if Redis
// fails while a waiter waits (it falls back to refreshing itself) or if
// an owner cannot renew its lease for longer than Lease. Sticky sessions at
// the load balancer make it rarer; without a reachable Redis nothing can
// rule it out.
package redisstore
