package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/refresh"
	"github.com/qelos-io/integrator-go/refresh/redisstore"
)

// TestRollingKeyRotation runs each step of a rolling key rotation as a
// deploy leaves it half done: replicas on the value before and after the
// step serve one browser side by side. Its expired pair's storm costs one
// refresh, nobody is signed out, and the final jar is signed in on every
// replica, whichever key sealed the cookies and the stored outcome.
func TestRollingKeyRotation(t *testing.T) {
	cur, next := middleware.GenerateCookieKey().String(), middleware.GenerateCookieKey().String()
	steady, added, promoted, retired := cur, cur+",~"+next, next+","+cur, next
	for _, step := range []struct {
		name   string
		values [3]string // QELOS_COOKIE_KEYS of replicas 0, 1, 2
	}{
		{"1 add, half deployed", [3]string{steady, added, added}},
		{"1 add, half deployed, the session from a new replica", [3]string{added, steady, steady}},
		{"2 promote, half deployed", [3]string{added, promoted, promoted}},
		{"2 promote, half deployed, the session from a new replica", [3]string{promoted, added, added}},
		{"3 retire, half deployed", [3]string{promoted, retired, retired}},
	} {
		t.Run(step.name, func(t *testing.T) {
			f := newFleet(t, fleetOptions{replicas: 3, keys: func(i int) []middleware.CookieKey {
				keys, err := middleware.ParseCookieKeys(step.values[i])
				if err != nil {
					t.Fatalf("replica %d: QELOS_COOKIE_KEYS: %v", i, err)
				}
				return keys
			}})
			old := f.session(time.Minute) // sealed by replica 0
			answers := f.storm(30, old)
			f.judge("7 rotation step "+step.name, newJar(old), answers)
			if n := f.refreshes(); n != 1 {
				t.Errorf("%d upstream refreshes, want 1", n)
			}
		})
	}
}

// TestUnreadableOutcomeIsSpentElsewhere: a replica finds the outcome of a
// refresh sealed with a key it was not given (a rotation done in one step).
// It never reads that as "no outcome": its callers get ErrUnavailable (503,
// cookies kept) and the token is not spent a second time.
func TestUnreadableOutcomeIsSpentElsewhere(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		url := tp.url
		prefix := testPrefix(t)
		a := newStore(t, url, redisstore.Options{Prefix: prefix, Secret: []byte("the new key, sealing outcomes!!!")})
		b := newStore(t, url, redisstore.Options{Prefix: prefix, Secret: []byte("the old key, which alone it has.")})
		up := &upstream{}
		cs := coordinators([]refresh.Store{a, b}, up, refresh.Options{})
		ctx := context.Background()
		token := newToken()
		if _, err := cs[0].Refresh(ctx, token); err != nil {
			t.Fatal(err)
		}
		_, err := cs[1].Refresh(ctx, token)
		if !errors.Is(err, refresh.ErrUnavailable) || !errors.Is(err, refresh.ErrInDoubt) {
			t.Fatalf("the replica without the key: %v, want ErrUnavailable and ErrInDoubt", err)
		}
		if n := up.calls.Load(); n != 1 {
			t.Fatalf("%d upstream calls, want 1: the token was spent again", n)
		}
	})
}
