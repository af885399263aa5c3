package refresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qelos-io/integrator-go/refresh"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzClientRefresh: whatever the token endpoint answers, Refresh returns
// either a whole pair (a 2xx JSON answer holding both tokens), ErrRejected
// (exactly for 401 and 403) or ErrUnavailable; it never panics, never
// follows a redirect, and never puts the refresh token in an error.
func FuzzClientRefresh(f *testing.F) {
	f.Add(200, `{"payload":{"token":"a","refreshToken":"b","user":{}}}`, "")
	f.Add(200, `{"payload":{"token":"a"}}`, "")
	f.Add(200, `{"payload":{"token":"","refreshToken":"b"}}`, "")
	f.Add(201, `{"payload":{"token":"a","refreshToken":"b"}}`+strings.Repeat(" ", 70<<10), "")
	f.Add(401, "", "")
	f.Add(403, `{"message":"forbidden"}`, "")
	f.Add(302, "", "https://evil.example/steal")
	f.Add(500, "<html>", "")
	f.Add(200, "", "")
	f.Add(200, "null", "")
	f.Add(204, `{"payload":null}`, "")
	const secret = "refresh-token-that-must-never-leak"
	f.Fuzz(func(t *testing.T, status int, body, location string) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		redirected := false
		hc := &http.Client{
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Host != "q.example" {
					redirected = true
				}
				return &http.Response{StatusCode: status, Header: http.Header{"Location": {location}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
			}),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		c := &refresh.Client{BaseURL: "https://q.example/", HTTPClient: hc}
		p, err := c.Refresh(context.Background(), secret)
		if redirected {
			t.Fatal("followed a redirect")
		}
		switch {
		case status == 401 || status == 403:
			if !refresh.IsDefinitive(err) {
				t.Fatalf("status %d: %v, want ErrRejected", status, err)
			}
		case err == nil:
			var want struct {
				Payload struct {
					Token        string `json:"token"`
					RefreshToken string `json:"refreshToken"`
				} `json:"payload"`
			}
			if status < 200 || status > 299 || json.Unmarshal([]byte(body), &want) != nil ||
				p.AccessToken == "" || p.AccessToken != want.Payload.Token || p.RefreshToken != want.Payload.RefreshToken {
				t.Fatalf("status %d body %.100q gave pair %+v", status, body, p)
			}
		default:
			if !errors.Is(err, refresh.ErrUnavailable) || refresh.IsDefinitive(err) {
				t.Fatalf("status %d: %v, want ErrUnavailable only", status, err)
			}
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("the error holds the refresh token: %v", err)
		}
	})
}
