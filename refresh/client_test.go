package refresh_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qelos-io/integrator-go/qelostest"
	"github.com/qelos-io/integrator-go/refresh"
)

func TestClientRefreshIsSingleUse(t *testing.T) {
	q := qelostest.New(qelostest.Options{})
	defer q.Close()
	_, rt, err := q.IssuePair(qelostest.AdminEmail, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &refresh.Client{BaseURL: q.URL + "/"}
	p, err := c.Refresh(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if p.AccessToken == "" || p.RefreshToken == "" || p.RefreshToken == rt {
		t.Fatalf("pair %+v", p)
	}
	_, err = c.Refresh(context.Background(), rt)
	if !refresh.IsDefinitive(err) || !errors.Is(err, refresh.ErrRejected) {
		t.Fatalf("second use: %v, want ErrRejected", err)
	}
	if _, err := c.Refresh(context.Background(), p.RefreshToken); err != nil {
		t.Fatalf("the rotated token: %v", err)
	}
}

func TestClientClassifiesFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      qelostest.Fault
		token      string // "" means a live refresh token
		definitive bool
	}{
		{"401", qelostest.Fault{Status: 401}, "", true},
		{"403", qelostest.Fault{Status: 403}, "", true},
		{"unknown token", qelostest.Fault{}, "not-a-token", true},
		{"500", qelostest.Fault{Status: 500}, "", false},
		{"502", qelostest.Fault{Status: 502, Body: "<html>"}, "", false},
		{"404", qelostest.Fault{Status: 404}, "", false},
		{"timeout", qelostest.Fault{Delay: time.Second}, "", false},
		{"reset", qelostest.Fault{Drop: true}, "", false},
		{"garbage", qelostest.Fault{Garbage: true}, "", false},
		{"200 without a pair", qelostest.Fault{Status: 200, Body: `{"payload":{}}`}, "", false},
		{"200 whose tokens are not JWTs", qelostest.Fault{Status: 200, Body: `{"payload":{"token":"x.y.z","refreshToken":"a.b.c"}}`}, "", false},
		{"200 whose JWT header names no algorithm", qelostest.Fault{Status: 200, Body: `{"payload":{"token":"e30.e30.c2ln","refreshToken":"e30.e30.c2ln"}}`}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := qelostest.New(qelostest.Options{})
			defer q.Close()
			if tt.fault != (qelostest.Fault{}) {
				q.InjectFault(qelostest.EndpointRefresh, tt.fault)
			}
			rt := tt.token
			if rt == "" {
				_, rt, _ = q.IssuePair(qelostest.AdminEmail, "")
			}
			c := &refresh.Client{BaseURL: q.URL, Timeout: 150 * time.Millisecond}
			start := time.Now()
			_, err := c.Refresh(context.Background(), rt)
			if err == nil {
				t.Fatal("no error")
			}
			if refresh.IsDefinitive(err) != tt.definitive {
				t.Fatalf("IsDefinitive(%v) = %v, want %v", err, !tt.definitive, tt.definitive)
			}
			if !tt.definitive && !errors.Is(err, refresh.ErrUnavailable) {
				t.Fatalf("%v is not ErrUnavailable", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v with a 150ms timeout", d)
			}
			if strings.Contains(err.Error(), rt) {
				t.Fatal("the error message contains the refresh token")
			}
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	c := &refresh.Client{BaseURL: "http://127.0.0.1:1"}
	_, err := c.Refresh(context.Background(), "rt")
	if !errors.Is(err, refresh.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
}
