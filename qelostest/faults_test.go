package qelostest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{"status with JSON body", Fault{Status: 503, Body: `{"message":"down"}`}, 503, `{"message":"down"}`, "application/json; charset=utf-8"},
		{"status with text body", Fault{Status: 502, Body: "Bad Gateway"}, 502, "Bad Gateway", "text/plain; charset=utf-8"},
		{"status without body", Fault{Status: 500}, 500, "", ""},
		{"garbage", Fault{Garbage: true}, 200, GarbageBody, "application/json; charset=utf-8"},
		{"delay then status", Fault{Delay: 20 * time.Millisecond, Status: 504}, 504, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.InjectFault(EndpointMe, tt.fault)
			defer s.ClearFaults()
			begin := time.Now()
			r := call(t, s, "GET", "/api/me", nil, nil)
			r.want(t, tt.wantStatus, tt.wantBody)
			if got := r.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if r.header.Get("X-API-Version") != "v1" {
				t.Error("no X-API-Version")
			}
			if d := time.Since(begin); d < tt.fault.Delay {
				t.Errorf("answered after %v, before the delay", d)
			}
		})
	}
	// Only the faulted endpoint is affected.
	s.InjectFault(EndpointRefresh, Fault{Status: 500})
	call(t, s, "GET", "/api/me", nil, nil).want(t, 401, bodyNotLoggedIn)
	s.ClearFaults()
	call(t, s, "POST", "/api/token/refresh", nil, nil).want(t, 401, "")
}

func TestFaultDelayThenRealAnswer(t *testing.T) {
	s := start(t, Options{})
	_, rt := oauthPair(t, s, AdminEmail, AdminPassword)
	s.InjectFault(EndpointRefresh, Fault{Delay: 30 * time.Millisecond})
	begin := time.Now()
	r, _ := refresh(t, s, rt)
	if r.status != 200 || time.Since(begin) < 30*time.Millisecond {
		t.Fatalf("status %d after %v", r.status, time.Since(begin))
	}
}

// A delayed request whose client gives up is abandoned, without reaching
// the real handler (the refresh token is not consumed).
func TestFaultDelayRespectsCancellation(t *testing.T) {
	s := start(t, Options{})
	_, rt, _ := s.IssuePair(AdminEmail, "")
	s.InjectFault(EndpointRefresh, Fault{Delay: time.Hour, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/token/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+rt)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	r, _ := refresh(t, s, rt)
	if r.status != 200 {
		t.Fatalf("refresh token consumed by an abandoned request: %d", r.status)
	}
}

func TestFaultDrop(t *testing.T) {
	s := start(t, Options{})
	s.InjectFault(EndpointSignIn, Fault{Drop: true})
	res, err := http.Post(s.URL+"/api/signin", "application/json", nil)
	if err == nil {
		res.Body.Close()
		t.Fatalf("got an answer: %d", res.StatusCode)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("drop error = %v, want EOF or connection reset", err)
	}
	if s.Calls(EndpointSignIn) != 1 {
		t.Errorf("Calls = %d", s.Calls(EndpointSignIn))
	}
}

func TestFaultTimes(t *testing.T) {
	s := start(t, Options{})
	s.InjectFault(EndpointMe, Fault{Status: 503, Times: 2})
	for i, want := range []int{503, 503, 401, 401} {
		if r := call(t, s, "GET", "/api/me", nil, nil); r.status != want {
			t.Fatalf("call %d: %d, want %d", i+1, r.status, want)
		}
	}
	if n := s.Calls(EndpointMe); n != 4 {
		t.Errorf("Calls = %d, want 4 (faulted calls count)", n)
	}
	s.ResetCalls()
	if n := s.Calls(EndpointMe); n != 0 {
		t.Errorf("Calls after reset = %d", n)
	}
	// Times 0 lasts until cleared; a new InjectFault replaces the old.
	s.InjectFault(EndpointMe, Fault{Status: 500})
	s.InjectFault(EndpointMe, Fault{Status: 502})
	for range 3 {
		call(t, s, "GET", "/api/me", nil, nil).want(t, 502, "")
	}
	s.ClearFaults()
	call(t, s, "GET", "/api/me", nil, nil).want(t, 401, bodyNotLoggedIn)
}

// Every endpoint name is routed and counted.
func TestCallsPerEndpoint(t *testing.T) {
	s := start(t, Options{})
	reqs := []struct{ endpoint, method, path string }{
		{EndpointSignIn, "POST", "/api/signin"},
		{EndpointSignUp, "POST", "/api/signup"},
		{EndpointRefresh, "POST", "/api/token/refresh"},
		{EndpointCookieRefresh, "POST", "/api/cookie/refresh"},
		{EndpointMe, "GET", "/api/me"},
		{EndpointWorkspaces, "GET", "/api/workspaces"},
		{EndpointWorkspace, "GET", "/api/workspaces/abc"},
		{EndpointLogout, "POST", "/api/logout"},
		{EndpointAuthCallback, "POST", "/api/auth/callback"},
		{EndpointActivate, "POST", "/api/workspaces/abc/activate"},
		{EndpointAPITokens, "GET", "/api/me/api-tokens"},
		{EndpointCreateAPIToken, "POST", "/api/me/api-tokens"},
		{EndpointDeleteAPIToken, "DELETE", "/api/me/api-tokens/abc"},
	}
	for _, rq := range reqs {
		s.InjectFault(rq.endpoint, Fault{Status: 418})
	}
	for _, rq := range reqs {
		call(t, s, rq.method, rq.path, nil, nil).want(t, 418, "")
		if n := s.Calls(rq.endpoint); n != 1 {
			t.Errorf("Calls(%s) = %d", rq.endpoint, n)
		}
	}
}

// ClearFaults releases requests waiting out a Delay; they get the real
// answer.
func TestClearFaultsReleasesDelayedRequests(t *testing.T) {
	s := start(t, Options{})
	_, rt, _ := s.IssuePair(AdminEmail, "")
	s.InjectFault(EndpointRefresh, Fault{Delay: time.Hour, Status: 503})
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+"/api/token/refresh", nil)
		req.Header.Set("Authorization", "Bearer "+rt)
		res, err := client.Do(req)
		if err != nil {
			got <- 0
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	for s.Calls(EndpointRefresh) == 0 {
		time.Sleep(time.Millisecond)
	}
	s.ClearFaults()
	select {
	case status := <-got:
		if status != 200 {
			t.Fatalf("released request got %d, want the real 200", status)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ClearFaults did not release the delayed request")
	}
}
