package refresh_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/refresh"
)

// TestOnRevokeHearsEveryRevocation: every function registered with
// OnRevoke hears each revocation the Coordinator records, with the key
// RevokedKey answers for, including those registered while revocations
// are being recorded on other goroutines.
func TestOnRevokeHearsEveryRevocation(t *testing.T) {
	c := refresh.NewCoordinator(refresh.RefresherFunc(func(context.Context, string) (refresh.Pair, error) {
		return refresh.Pair{}, nil
	}), refresh.Options{})
	var mu sync.Mutex
	heard := map[int][]string{}
	hook := func(i int) func(string) {
		return func(key string) {
			mu.Lock()
			heard[i] = append(heard[i], key)
			mu.Unlock()
		}
	}
	c.OnRevoke(hook(0))
	var wg sync.WaitGroup
	for range 50 { // registrations racing with revocations (-race)
		wg.Add(2)
		go func() { defer wg.Done(); c.OnRevoke(func(string) {}) }()
		go func() { defer wg.Done(); c.Revoke(context.Background(), "warm-up", time.Now().Add(time.Minute)) }()
	}
	wg.Wait()
	c.OnRevoke(hook(1))
	if err := c.Revoke(context.Background(), "session:abc", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := refresh.Key("session:abc")
	if !c.RevokedKey(context.Background(), want, false) {
		t.Fatal("not revoked")
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range 2 {
		if got := heard[i]; len(got) == 0 || got[len(got)-1] != want {
			t.Fatalf("hook %d heard %v, want it to end with %s", i, got, want)
		}
	}
	if len(heard[0]) != 51 {
		t.Fatalf("the first hook heard %d revocations, want 51", len(heard[0]))
	}
}
