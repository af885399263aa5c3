package redisstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
	"github.com/redis/go-redis/v9"
)

func TestNewOptions(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer client.Close()
	tests := []struct {
		name    string
		opts    redisstore.Options
		wantErr string // substring; "" means success
	}{
		{"defaults", redisstore.Options{Secret: secret}, ""},
		{"no secret", redisstore.Options{}, "Secret has 0 bytes, need at least 16: pass the app's cookie"},
		{"short secret", redisstore.Options{Secret: []byte("15 bytes only!!")}, "Secret has 15 bytes"},
		{"16 bytes", redisstore.Options{Secret: []byte("exactly 16 bytes")}, ""},
		{"tiny lease", redisstore.Options{Secret: secret, Lease: time.Millisecond}, "Options.Lease"},
		{"negative timeout", redisstore.Options{Secret: secret, OpTimeout: -1}, "Options.OpTimeout"},
		{"negative poll", redisstore.Options{Secret: secret, PollInterval: -1}, "Options.PollInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.New(client, tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr == "" && s == nil:
				t.Fatal("New returned a nil Store")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := redisstore.New(nil, redisstore.Options{Secret: secret}); err == nil {
		t.Error("New(nil client) succeeded")
	}
	_, err := redisstore.NewFromURL("redis://user:hunter2@[::1:6379", redisstore.Options{Secret: secret})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("NewFromURL(bad URL): error %v, want one that does not repeat the password", err)
	}
}

// TestNewTopologies: New takes one server, a Cluster and a failover client
// and refuses a Ring (its shards share no pub/sub and do not fail over);
// NewFromURL builds each from its URL form, and on a Cluster refuses a
// prefix whose brace would defeat the hash tags. Nothing is contacted.
func TestNewTopologies(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := redisstore.New(ring, redisstore.Options{Secret: secret}); err == nil || !strings.Contains(err.Error(), "Ring is not supported") {
		t.Errorf("New(Ring): %v, want a refusal that names the Ring", err)
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	if _, err := redisstore.New(cluster, redisstore.Options{Secret: secret}); err != nil {
		t.Errorf("New(ClusterClient): %v", err)
	}
	if _, err := redisstore.New(cluster, redisstore.Options{Secret: secret, Prefix: "app:{x}:"}); err == nil || !strings.Contains(err.Error(), "brace") {
		t.Errorf("New(ClusterClient) with a braced prefix: %v, want a refusal", err)
	}
	failover := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}})
	defer failover.Close()
	if _, err := redisstore.New(failover, redisstore.Options{Secret: secret}); err != nil {
		t.Errorf("New(FailoverClient): %v", err)
	}
	for _, tt := range []struct{ name, url, wantErr string }{
		{"one server", "redis://127.0.0.1:1/0", ""},
		{"cluster", "redis://127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3", ""},
		{"sentinel", "redis://127.0.0.1:1?master_name=m&addr=127.0.0.1:2", ""},
		{"unknown option", "redis://127.0.0.1:1?addr=127.0.0.1:2&colour=blue", "colour"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.NewFromURL(tt.url, redisstore.Options{Secret: secret, OpTimeout: 10 * time.Millisecond})
			if s != nil {
				s.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewFromURL: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("NewFromURL: %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewFromEnv: QELOS_REDIS_URL unset or malformed gives an error that
// names the variable (and never repeats a password); set, it gives a Store
// on that Redis.
func TestNewFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		want      []string
	}{
		{"unset", "", []string{redisstore.EnvURL, "is not set", "redis://"}},
		{"blank", "  ", []string{redisstore.EnvURL, "is not set"}},
		{"malformed", "redis://user:hunter2@[::1:6379", []string{redisstore.EnvURL, "bad Redis URL"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(redisstore.EnvURL, tt.url)
			s, err := redisstore.NewFromEnv(redisstore.Options{Secret: secret})
			if err == nil {
				s.Close()
				t.Fatal("NewFromEnv succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}

	url := needRedis(t)
	t.Setenv(redisstore.EnvURL, url)
	s, err := redisstore.NewFromEnv(redisstore.Options{Secret: secret, Prefix: testPrefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := refresh.Key(newToken())
	want := refresh.Pair{AccessToken: "a-" + newToken(), RefreshToken: "r-" + newToken()}
	mustPut(t, s, key, want, time.Minute)
	if got, ok, err := s.Get(context.Background(), key); err != nil || !ok || got != want {
		t.Fatalf("Get after Put through NewFromEnv's store: %v, %v, %v; want %v", got, ok, err, want)
	}
}

func TestGetPut(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		ctx := context.Background()
		raw := rawClient(t, url)
		pair := refresh.Pair{AccessToken: "access-ü-" + strings.Repeat("a", 900), RefreshToken: "refresh-" + newToken()}

		tests := []struct {
			name string
			// setup stores something for key and returns the store to read with.
			setup   func(t *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store
			wantOK  bool
			wantErr error
		}{
			{
				name: "round trip",
				setup: func(t *testing.T, s *redisstore.Store, _, key string) *redisstore.Store {
					mustPut(t, s, key, pair, time.Minute)
					return s
				},
				wantOK: true,
			},
			{
				name:  "never stored",
				setup: func(_ *testing.T, s *redisstore.Store, _, _ string) *redisstore.Store { return s },
			},
			{
				name: "expired after ttl",
				setup: func(t *testing.T, s *redisstore.Store, _, key string) *redisstore.Store {
					mustPut(t, s, key, pair, 100*time.Millisecond)
					if _, ok, err := s.Get(ctx, key); !ok || err != nil {
						t.Fatalf("Get right after Put: ok=%v err=%v", ok, err)
					}
					time.Sleep(150 * time.Millisecond)
					return s
				},
			},
			{
				name: "overwritten",
				setup: func(t *testing.T, s *redisstore.Store, _, key string) *redisstore.Store {
					mustPut(t, s, key, refresh.Pair{AccessToken: "old", RefreshToken: "old"}, time.Minute)
					mustPut(t, s, key, pair, time.Minute)
					return s
				},
				wantOK: true,
			},
			{
				name: "another secret cannot read it",
				setup: func(t *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store {
					mustPut(t, s, key, pair, time.Minute)
					return newStore(t, url, redisstore.Options{Secret: []byte("another app's cookie key, 32 b!"), Prefix: prefix})
				},
				wantErr: refresh.ErrInDoubt, // spent elsewhere: never a permission to spend
			},
			{
				name: "tampered ciphertext",
				setup: func(t *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store {
					mustPut(t, s, key, pair, time.Minute)
					v := mustRaw(t, raw, tp.key(prefix, "pair:", key))
					v[len(v)/2] ^= 0x01
					raw.Set(ctx, tp.key(prefix, "pair:", key), v, time.Minute)
					return s
				},
				wantErr: refresh.ErrInDoubt, // spent elsewhere: never a permission to spend
			},
			{
				name: "moved from another key",
				setup: func(t *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store {
					other := refresh.Key(newToken())
					mustPut(t, s, other, pair, time.Minute)
					raw.Set(ctx, tp.key(prefix, "pair:", key), mustRaw(t, raw, tp.key(prefix, "pair:", other)), time.Minute)
					return s
				},
				wantErr: refresh.ErrInDoubt, // spent elsewhere: never a permission to spend
			},
			{
				name: "truncated",
				setup: func(t *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store {
					mustPut(t, s, key, pair, time.Minute)
					v := mustRaw(t, raw, tp.key(prefix, "pair:", key))
					raw.Set(ctx, tp.key(prefix, "pair:", key), v[:len(v)-1], time.Minute)
					return s
				},
				wantErr: refresh.ErrInDoubt, // spent elsewhere: never a permission to spend
			},
			{
				name: "plain JSON planted",
				setup: func(_ *testing.T, s *redisstore.Store, prefix, key string) *redisstore.Store {
					raw.Set(ctx, tp.key(prefix, "pair:", key), `{"a":"forged","r":"forged"}`, time.Minute)
					return s
				},
				wantErr: refresh.ErrInDoubt, // spent elsewhere: never a permission to spend
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				prefix := testPrefix(t)
				s := newStore(t, url, redisstore.Options{Prefix: prefix})
				key := refresh.Key(newToken())
				reader := tt.setup(t, s, prefix, key)
				got, ok, err := reader.Get(ctx, key)
				if ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get: ok=%v err=%v, want ok=%v err=%v", ok, err, tt.wantOK, tt.wantErr)
				}
				switch {
				case ok && got != pair:
					t.Fatalf("Get returned a different pair: %q", got.AccessToken[:20])
				case !ok && got != (refresh.Pair{}):
					t.Fatalf("Get returned a pair with ok=false: %+v", got)
				}
				if tt.wantErr != nil { // a waiter must not take it for a pair either
					wctx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					if p, ok, err := reader.Wait(wctx, key); ok || !errors.Is(err, tt.wantErr) || p != (refresh.Pair{}) {
						t.Fatalf("Wait: ok=%v err=%v, want false and %v", ok, err, tt.wantErr)
					}
				}
			})
		}

		t.Run("bad arguments", func(t *testing.T) {
			s := newStore(t, url, redisstore.Options{Prefix: testPrefix(t)})
			for _, key := range []string{"", "a-raw-refresh-token", strings.ToUpper(refresh.Key("x")), refresh.Key("x") + "0"} {
				if err := s.Put(ctx, key, pair, time.Minute); !errors.Is(err, redisstore.ErrInvalidKey) {
					t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
				}
				if _, _, err := s.Get(ctx, key); !errors.Is(err, redisstore.ErrInvalidKey) {
					t.Errorf("Get(%q): %v, want ErrInvalidKey", key, err)
				}
			}
			if err := s.Put(ctx, refresh.Key("x"), pair, 0); err == nil {
				t.Error("Put with ttl 0 succeeded")
			}
		})
	})
}

// TestNothingReadableInRedis is redis-cli --scan plus GET on every key after
// a Put and a lock: no key or value shows a token, and no value is JSON;
// on a Cluster, the token's keys share one slot.
func TestNothingReadableInRedis(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		ctx := context.Background()
		prefix := testPrefix(t)
		s := newStore(t, url, redisstore.Options{Prefix: prefix})
		raw := rawClient(t, url)

		oldRefresh := newToken()
		pair := refresh.Pair{AccessToken: "eyJhbGciOiJIUzI1NiJ9.access-" + newToken(), RefreshToken: "next-" + newToken()}
		key := refresh.Key(oldRefresh)
		mustPut(t, s, key, pair, time.Minute)
		release, ok, err := s.TryLock(ctx, key)
		if !ok || err != nil {
			t.Fatalf("TryLock: %v %v", ok, err)
		}
		defer release()

		secrets := map[string]string{"old refresh token": oldRefresh, "access token": pair.AccessToken, "new refresh token": pair.RefreshToken}
		var n int
		slots := map[int64]bool{}
		for _, name := range scanAll(t, raw, prefix+"*") {
			n++
			if tp.cluster {
				slots[raw.ClusterKeySlot(ctx, name).Val()] = true
			}
			val := mustRaw(t, raw, name)
			if !strings.Contains(name, key) {
				t.Errorf("key %q does not name the refresh.Key", name)
			}
			for what, tok := range secrets {
				for _, enc := range []string{tok, base64.StdEncoding.EncodeToString([]byte(tok)), base64.RawURLEncoding.EncodeToString([]byte(tok))} {
					if strings.Contains(name, enc) || strings.Contains(string(val), enc) {
						t.Errorf("%s found in key %q or its value", what, name)
					}
				}
				// The tokens' distinctive middles, in case of some other framing.
				if mid := tok[len(tok)/2-6 : len(tok)/2+6]; strings.Contains(string(val), mid) {
					t.Errorf("part of the %s found in the value of %q", what, name)
				}
			}
			if strings.HasPrefix(name, prefix+"pair:") && json.Valid(val) {
				t.Errorf("value of %q parses as JSON: %q", name, val)
			}
			t.Logf("%s = %d bytes", name, len(val))
		}
		if tp.cluster && len(slots) != 1 {
			t.Errorf("the token's keys are in %d slots, want 1 (a hash tag)", len(slots))
		}
		if n != 2 {
			t.Errorf("SCAN found %d keys, want 2 (pair and lock)", n)
		}
	})
}

func mustPut(t *testing.T, s *redisstore.Store, key string, p refresh.Pair, ttl time.Duration) {
	t.Helper()
	if err := s.Put(context.Background(), key, p, ttl); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func mustRaw(t *testing.T, raw redis.UniversalClient, name string) []byte {
	t.Helper()
	v, err := raw.Get(context.Background(), name).Bytes()
	if err != nil {
		t.Fatalf("GET %s: %v", name, err)
	}
	return v
}
