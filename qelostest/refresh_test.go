package qelostest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// refreshPayload is the body of a successful refresh.
type refreshPayload struct {
	Payload struct {
		User         json.RawMessage `json:"user"`
		Token        string          `json:"token"`
		RefreshToken string          `json:"refreshToken"`
	} `json:"payload"`
}

func refresh(t *testing.T, s *Server, rt string) (response, refreshPayload) {
	t.Helper()
	r := call(t, s, "POST", "/api/token/refresh", bearer(rt), nil)
	var p refreshPayload
	if r.status == 200 {
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatal(err)
		}
	}
	return r, p
}

// Transcripts 16–18: single use, and the workspace decays over two
// refreshes.
func TestRefreshSingleUseAndWorkspaceDecay(t *testing.T) {
	s := start(t, Options{})
	_, rt0 := oauthPair(t, s, AdminEmail, AdminPassword)

	// transcript 16: first refresh.
	r1, p1 := refresh(t, s, rt0)
	r1.want(t, 200, `{"payload":{"user":{"email":"admin@example.com","roles":["admin"]},"token":"`+p1.Payload.Token+`","refreshToken":"`+p1.Payload.RefreshToken+`"}}`)
	if got := string(rawPayload(t, p1.Payload.Token)); !strings.HasPrefix(got, `{"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":""},"sub":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","roles":["admin"],"iat":`) {
		t.Errorf("1st refreshed access = %s", got)
	}
	if got := keyOrder(t, p1.Payload.RefreshToken); !slices.Equal(got, []string{"sub", "tenant", "tokenIdentifier", "iat", "exp"}) {
		t.Errorf("1st refreshed refresh claims = %v", got)
	}
	call(t, s, "GET", "/api/me", bearer(p1.Payload.Token), nil).want(t, 200,
		`{"_id":"6b08ed3053ba253bfa2e98e9","tenant":"0","username":"admin@example.com","email":"admin@example.com","name":"Ada Admin","firstName":"Ada","lastName":"Admin","fullName":"Ada Admin","roles":["admin"],"metadata":{},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":""}}`)

	// transcript 17: second refresh, no workspace at all.
	r2, p2 := refresh(t, s, p1.Payload.RefreshToken)
	if r2.status != 200 {
		t.Fatalf("2nd refresh: %d", r2.status)
	}
	if got := keyOrder(t, p2.Payload.Token); got[0] != "sub" {
		t.Errorf("2nd refreshed access still has %v", got)
	}

	// transcript 18: reuse of consumed refresh tokens.
	for _, rt := range []string{rt0, p1.Payload.RefreshToken} {
		r, _ := refresh(t, s, rt)
		r.want(t, 401, "")
		if r.header.Get("Content-Length") != "0" || r.header.Get("Content-Type") != "" || r.header.Get("X-API-Version") != "v1" {
			t.Errorf("401 headers = %v", r.header)
		}
	}
	if n := s.Calls(EndpointRefresh); n != 4 {
		t.Errorf("Calls(refresh) = %d, want 4", n)
	}
}

// Transcripts 19, 20 and the other refusals: 401 with an empty body.
func TestRefreshRefusals(t *testing.T) {
	s := start(t, Options{})
	access, rt := oauthPair(t, s, AdminEmail, AdminPassword)
	cookieTok, _ := s.IssueCookie(AdminEmail, "")
	foreign := New(Options{RefreshSecret: "other"})
	defer foreign.Close()
	_, foreignRT, _ := foreign.IssuePair(AdminEmail, "")

	tests := []struct {
		name string
		h    http.Header
		body any
	}{
		{"transcript 20: no Authorization", nil, nil},
		{"transcript 19: access token", bearer(access), nil},
		{"cookie token", bearer(cookieTok), nil},
		{"garbage", bearer("x.y.z"), nil},
		{"foreign secret", bearer(foreignRT), nil},
		{"refresh token in body only", nil, map[string]string{"refreshToken": rt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, s, "POST", "/api/token/refresh", tt.h, tt.body).want(t, 401, "")
		})
	}
	// The real refresh token still works after all that.
	if r, _ := refresh(t, s, rt); r.status != 200 {
		t.Fatalf("refresh: %d", r.status)
	}
}

// 100 concurrent refreshes of one token: exactly one wins.
func TestRefreshConcurrentSingleWinner(t *testing.T) {
	s := start(t, Options{})
	_, rt, err := s.IssuePair(AdminEmail, AcmeWorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	startGate := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-startGate
			res := postRefresh(t, s, rt)
			if res == nil {
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		})
	}
	close(startGate)
	wg.Wait()
	if statuses[200] != 1 || statuses[401] != 99 {
		t.Fatalf("statuses = %v, want one 200 and 99 401", statuses)
	}
	if n := s.Calls(EndpointRefresh); n != 100 {
		t.Errorf("Calls = %d", n)
	}
}

// Millisecond lifetimes expire on the injected clock.
func TestMillisecondAccessTTL(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, AccessTTL: 250 * time.Millisecond})
	access, rt := oauthPair(t, s, AdminEmail, AdminPassword)

	raw := string(rawPayload(t, access))
	if !strings.HasSuffix(raw, `"iat":1795747201,"exp":1795747202.245}`) {
		t.Fatalf("payload = %s, want fractional exp now+250ms", raw)
	}
	call(t, s, "GET", "/api/me", bearer(access), nil).want(t, 200, meAdminAcme)
	clk.Advance(249 * time.Millisecond)
	if r := call(t, s, "GET", "/api/me", bearer(access), nil); r.status != 200 {
		t.Fatalf("expired 1ms early: %d", r.status)
	}
	clk.Advance(time.Millisecond)
	call(t, s, "GET", "/api/me", bearer(access), nil).want(t, 401, bodyBadBearer)

	// The refresh token (30 days) still works and mints a fresh 250ms token.
	r, p := refresh(t, s, rt)
	if r.status != 200 {
		t.Fatalf("refresh: %d", r.status)
	}
	if r := call(t, s, "GET", "/api/me", bearer(p.Payload.Token), nil); r.status != 200 {
		t.Fatalf("refreshed token rejected: %d", r.status)
	}
	clk.Advance(300 * time.Millisecond)
	call(t, s, "GET", "/api/me", bearer(p.Payload.Token), nil).want(t, 401, bodyBadBearer)
}

// Whole-second lifetimes are encoded as integers like the real server, and
// expire on the injected clock.
func TestWholeSecondAccessTTL(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, AccessTTL: 5 * time.Second})
	access, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	if raw := string(rawPayload(t, access)); !strings.HasSuffix(raw, `"iat":1795747201,"exp":1795747206}`) {
		t.Fatalf("payload = %s", raw)
	}
	clk.Advance(4 * time.Second) // 02:40:05.995
	if r := call(t, s, "GET", "/api/me", bearer(access), nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	clk.Advance(5 * time.Millisecond) // 02:40:06.000 == exp
	call(t, s, "GET", "/api/me", bearer(access), nil).want(t, 401, bodyBadBearer)
}

// Transcripts 7–9: cookie refresh with the cookie or the bearer token.
func TestCookieRefresh(t *testing.T) {
	clk := NewClock(captureTime)
	s := start(t, Options{Now: clk.Now, RouteCookieRefresh: true})
	tok := cookieValue(t, call(t, s, "POST", "/api/signin", nil, map[string]any{"username": AdminEmail, "password": AdminPassword}))

	r := call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil) // transcript 7
	var p struct {
		Payload struct {
			CookieToken string `json:"cookieToken"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	tok2 := p.Payload.CookieToken
	r.want(t, 200, `{"payload":{"user":{"_id":"6b08ed3053ba253bfa2e98e9","username":"admin@example.com","email":"admin@example.com","firstName":"Ada","lastName":"Admin","roles":["admin"]},"workspace":{"_id":"6b08ed31a15f3cecd2836587","name":"Acme%20Team","roles":["admin","user"],"labels":[]},"cookieToken":"`+tok2+`"}}`)
	if cookieValue(t, r) != tok2 {
		t.Error("Set-Cookie differs from cookieToken")
	}
	if claims(t, tok2)["tokenIdentifier"] == claims(t, tok)["tokenIdentifier"] {
		t.Error("identifier not rotated")
	}
	call(t, s, "POST", "/api/cookie/refresh", cookie(tok), nil).want(t, 401, "") // transcript 8

	r = call(t, s, "POST", "/api/cookie/refresh", header("Authorization", "bearer "+tok2), nil) // transcript 9
	if r.status != 200 {
		t.Fatalf("bearer cookie refresh: %d", r.status)
	}
	call(t, s, "POST", "/api/cookie/refresh", nil, nil).want(t, 401, "")
	access, _ := oauthPair(t, s, AdminEmail, AdminPassword)
	call(t, s, "POST", "/api/cookie/refresh", bearer(access), nil).want(t, 401, "") // no record
}
