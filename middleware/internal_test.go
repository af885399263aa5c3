package middleware

import (
	"net/http"
	"testing"
	"time"
)

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"only cookie", []string{"q_access_token=abc"}, "abc"},
		{"among others", []string{"a=1; q_access_token=abc; b=2"}, "abc"},
		{"prefix of another name is not a match", []string{"q_access_token_old=zzz; q_access_token=abc"}, "abc"},
		{"split headers (HTTP/2)", []string{"a=1", "q_access_token=abc"}, "abc"},
		{"quoted", []string{`q_access_token="abc"`}, "abc"},
		{"first wins", []string{"q_access_token=one; q_access_token=two"}, "one"},
		{"absent", []string{"a=1"}, ""},
		{"no header", nil, ""},
		{"malformed", []string{";;=;q_access_token"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: http.Header{"Cookie": tt.header}}
			if got := cookieValue(r, "q_access_token"); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCookieValueDoesNotAllocate(t *testing.T) {
	r := &http.Request{Header: http.Header{"Cookie": {"a=1; q_access_token=abc; b=2"}}}
	if n := testing.AllocsPerRun(100, func() { cookieValue(r, "q_access_token") }); n != 0 {
		t.Fatalf("cookieValue allocates %v times", n)
	}
}

// TestCoarseClockFollowsTheWallClock: the default clock reads what
// time.Now reads, within the second it may lag (and the millisecond an
// NTP slew may put between the two clocks in a second).
func TestCoarseClockFollowsTheWallClock(t *testing.T) {
	now := coarseClock()
	for i := range 1000 {
		// Wall readings (Round(0)): with their monotonic ones, times
		// compare by those, which would prove nothing here.
		before := time.Now().Round(0)
		got := now().Round(0)
		after := time.Now().Round(0)
		if got.After(after.Add(time.Millisecond)) || got.Before(before.Add(-time.Second)) {
			t.Fatalf("call %d: %v, outside [%v - 1s, %v]", i, got, before, after)
		}
	}
}
