package middleware

import (
	"net/http"
	"testing"
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
