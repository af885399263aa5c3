package redisstore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscription is a Store's one long-lived pub/sub connection: a pattern
// over every key's "done" channel, and the revocation channel. It starts
// with the first Wait or OnRevoke, re-establishes itself after a failure
// (go-redis resubscribes on the next receive), and ends with Store.Close.
type subscription struct {
	s *Store

	mu      sync.Mutex
	started bool
	closed  bool
	live    bool // confirmed by Redis and not failed since
	waiters map[string]map[chan struct{}]struct{}
	revoke  []func(key string, until time.Time)
	ps      *redis.PubSub
	done    chan struct{}
}

func newSubscription(s *Store) *subscription {
	return &subscription{s: s, waiters: map[string]map[chan struct{}]struct{}{}, done: make(chan struct{})}
}

// register returns a channel that receives a token (coalesced) whenever
// channel is published to, and a func to unregister. A notification is
// delivered only while the subscription is live; Wait polls besides.
func (sub *subscription) register(channel string) (<-chan struct{}, func()) {
	wake := make(chan struct{}, 1)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.startLocked()
	set := sub.waiters[channel]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		sub.waiters[channel] = set
	}
	set[wake] = struct{}{}
	return wake, func() {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		delete(set, wake)
		if len(set) == 0 && sub.waiters[channel] != nil && len(sub.waiters[channel]) == 0 {
			delete(sub.waiters, channel)
		}
	}
}

// onRevoke registers f for every revocation published.
func (sub *subscription) onRevoke(f func(key string, until time.Time)) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.revoke = append(sub.revoke, f)
	sub.startLocked()
}

func (sub *subscription) startLocked() {
	if sub.started || sub.closed {
		return
	}
	sub.started = true
	sub.ps = sub.s.client.PSubscribe(context.Background()) // no pattern yet: no I/O under the lock
	go sub.run()
}

// run receives until close. Subscription confirmations mark it live (a
// wake-up is then sent to every waiter, so that any message lost while it
// was down is made up for by a look); an error marks it down and backs off.
func (sub *subscription) run() {
	defer close(sub.done)
	// go-redis remembers what was asked for even when the first attempt
	// fails, and subscribes again on its next connection.
	if err := sub.ps.PSubscribe(context.Background(), sub.s.prefix+"done:*"); err != nil {
		sub.s.debug("subscribe to outcomes", err)
	}
	if err := sub.ps.Subscribe(context.Background(), sub.s.revokedChannel()); err != nil {
		sub.s.debug("subscribe to revocations", err)
	}
	backoff := 50 * time.Millisecond
	for {
		msg, err := sub.ps.Receive(context.Background())
		sub.mu.Lock()
		closed := sub.closed
		sub.mu.Unlock()
		if closed {
			return
		}
		if err != nil {
			sub.setLive(false)
			time.Sleep(backoff)
			// Capped well under a second: a replica cut off from Redis must
			// reload the revocations it missed within a second of the heal.
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "psubscribe" || m.Kind == "subscribe" {
				sub.setLive(true)
			}
		case *redis.Message:
			if m.Channel == sub.s.revokedChannel() {
				sub.revoked(m.Payload)
			} else {
				sub.wake(m.Channel)
			}
		}
	}
}

func (sub *subscription) isLive() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.live
}

// setLive records the subscription's state. Losing it puts the Store in
// doubt (Redis may be restarting: see Store.inDoubt) until it is back and
// Store.reconnected has checked Redis's run id, reloaded the revocations
// and closed the breaker.
func (sub *subscription) setLive(live bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	was := sub.live
	sub.live = live
	switch {
	case live && !was:
		for _, set := range sub.waiters {
			for w := range set {
				notify(w)
			}
		}
		go func() {
			if err := sub.s.reconnected(); err != nil {
				sub.s.debug("check Redis after the subscription came back", err)
			}
		}()
	case !live && was:
		sub.s.unsure.Store(true)
	}
}

func (sub *subscription) wake(channel string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for w := range sub.waiters[channel] {
		notify(w)
	}
}

// revoked handles a revocation message: "<key> <unix ms until>".
func (sub *subscription) revoked(payload string) {
	key, ms, ok := strings.Cut(payload, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || !validKey(key) {
		return
	}
	sub.deliver(key, time.UnixMilli(n))
}

// deliver hands one revocation to every OnRevoke callback. The
// Coordinator's costs O(log n), so the subscription goroutine is not held.
func (sub *subscription) deliver(key string, until time.Time) {
	sub.mu.Lock()
	fs := slices.Clone(sub.revoke)
	sub.mu.Unlock()
	for _, f := range fs {
		f(key, until)
	}
}

func (sub *subscription) hasRevokeCallbacks() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.revoke) > 0
}

// maxBackoff caps the pause between two attempts to re-establish the
// subscription.
const maxBackoff = 250 * time.Millisecond

func notify(w chan struct{}) {
	select {
	case w <- struct{}{}:
	default:
	}
}

func (sub *subscription) close() {
	sub.mu.Lock()
	started := sub.started && !sub.closed
	sub.closed = true
	sub.mu.Unlock()
	if started {
		sub.ps.Close()
		<-sub.done
	}
}
