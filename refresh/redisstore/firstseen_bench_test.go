package redisstore_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
)

// BenchmarkFirstSeenRequest is one request whose session replica 0 has not
// seen before (sealed by replica 1): with Redis healthy (the baseline) and
// with Redis dead (killed; the breaker open after the first failure). A
// valid session asks Redis whether it was signed out (200 either way); an
// expired one is refreshed with Redis healthy (200) and answered 503, its
// cookies kept, with Redis dead. The difference of the medians (-count 5)
// is what a dead Redis adds to such a request.
func BenchmarkFirstSeenRequest(b *testing.B) {
	for _, bb := range []struct {
		name      string
		dead      bool
		accessAge time.Duration // > 0: expired that long ago
		want      int
	}{
		{"valid/redis_healthy", false, -time.Minute, 200},
		{"valid/redis_dead", true, -time.Minute, 200},
		{"expired/redis_healthy", false, time.Minute, 200},
		{"expired/redis_dead", true, time.Minute, 503},
	} {
		b.Run(bb.name, func(b *testing.B) {
			f := newFleet(b, fleetOptions{replicas: 2})
			sessions := make([][]*http.Cookie, b.N)
			for i := range sessions {
				sessions[i] = f.sessionOn(1, bb.accessAge)
			}
			if bb.dead {
				f.redis.Stop()
				f.get(0, f.sessionOn(1, bb.accessAge)) // the first failure opens the breaker
			}
			b.ResetTimer()
			for i := range b.N {
				if a := f.get(0, sessions[i]); a.status != bb.want {
					b.Fatalf("first-seen session: %d %s", a.status, a.body)
				}
			}
		})
	}
}

// sessionOn has replica i seal a fresh pair into session cookies, its
// access token expired accessAge ago (negative: valid that much longer).
func (f *fleet) sessionOn(i int, accessAge time.Duration) []*http.Cookie {
	f.t.Helper()
	_, rt, err := f.qelos.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		f.t.Fatal(err)
	}
	at, err := f.qelos.IssueAccessToken(qelostest.AdminEmail, "", -accessAge)
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"Access": at, "Refresh": rt})
	resp, err := http.Post(f.replicas[i].app.URL+"/test/session", "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var cs []*http.Cookie
	for _, c := range resp.Cookies() {
		cs = append(cs, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return cs
}
