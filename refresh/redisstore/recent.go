package redisstore

import (
	"sync"
	"time"
)

// maxRecent bounds the outcomes a Store remembers for reassert.
const maxRecent = 10_000

// recentPuts remembers the sealed outcomes this Store recorded, until their
// grace ends, so that it can put them back on a Redis that restarted empty:
// a straggler still carrying the old pair then gets the new one instead of
// spending the token a second time.
type recentPuts struct {
	mu sync.Mutex
	m  map[string]recentPut
}

type recentPut struct {
	val     []byte // sealed: the Store never keeps a token in the clear
	expires time.Time
}

func (r *recentPuts) add(key string, val []byte, ttl time.Duration) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]recentPut{}
	}
	if len(r.m) >= maxRecent {
		for k, v := range r.m {
			if !now.Before(v.expires) {
				delete(r.m, k)
			}
		}
		for k := range r.m { // still full: drop any one
			if len(r.m) < maxRecent {
				break
			}
			delete(r.m, k)
		}
	}
	r.m[key] = recentPut{val: val, expires: now.Add(ttl)}
}

func (r *recentPuts) forget(key string) {
	r.mu.Lock()
	delete(r.m, key)
	r.mu.Unlock()
}

// live returns the outcomes whose grace has not ended.
func (r *recentPuts) live(now time.Time) map[string]recentPut {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]recentPut, len(r.m))
	for k, v := range r.m {
		if now.Before(v.expires) {
			out[k] = v
		} else {
			delete(r.m, k)
		}
	}
	return out
}
