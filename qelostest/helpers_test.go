package qelostest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// captureTime is when the reference transcripts were captured.
var captureTime = time.Date(2026, 11, 27, 2, 40, 1, 995e6, time.UTC)

// start runs a server for one test.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// response is a received answer.
type response struct {
	status int
	header http.Header
	body   string
}

// header builds request headers from "Key", "value" pairs.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var client = &http.Client{Timeout: 5 * time.Second}

// call sends one request; a non-nil body is sent as JSON.
func call(t *testing.T, s *Server, method, path string, h http.Header, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// want checks status and the exact body.
func (r response) want(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.body, status, body)
	}
}

// signIn signs in and returns the payload.
func signIn(t *testing.T, s *Server, email, password, mode string) (response, map[string]any) {
	t.Helper()
	body := map[string]any{"username": email, "password": password}
	if mode != "" {
		body["authType"] = mode
	}
	return signInPayload(t, call(t, s, "POST", "/api/signin", nil, body))
}

// signInPayload decodes the payload of a successful auth answer.
func signInPayload(t *testing.T, r response) (response, map[string]any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	var v struct {
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatal(err)
	}
	return r, v.Payload
}

// oauthPair signs in in OAuth mode.
func oauthPair(t *testing.T, s *Server, email, password string) (access, refresh string) {
	t.Helper()
	_, p := signIn(t, s, email, password, "oauth")
	return p["token"].(string), p["refreshToken"].(string)
}

// cookieValue extracts the session token from a Set-Cookie header.
func cookieValue(t *testing.T, r response) string {
	t.Helper()
	sc := r.header.Get("Set-Cookie")
	v, _, _ := strings.Cut(sc, ";")
	name, val, ok := strings.Cut(v, "=")
	if !ok || name != "qlt_0" || val == "" {
		t.Fatalf("no session cookie in %q", sc)
	}
	return val
}

// claims decodes a JWT payload without verifying it.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(rawPayload(t, tok), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func rawPayload(t *testing.T, tok string) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyOrder returns the top-level keys of a JWT payload in order.
func keyOrder(t *testing.T, tok string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(rawPayload(t, tok)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func cookie(tok string) http.Header { return header("Cookie", "qlt_0="+tok) }
func bearer(tok string) http.Header { return header("Authorization", "Bearer "+tok) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// postRefresh spends the refresh token rt over HTTP, as concurrent
// clients do; nil (and the test marked failed) when the call fails. The
// caller closes the body.
func postRefresh(t *testing.T, s *Server, rt string) *http.Response {
	req, _ := http.NewRequest("POST", s.URL+"/api/token/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+rt)
	res, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return nil
	}
	return res
}
