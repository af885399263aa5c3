package refresh

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultTimeout bounds one call to the token endpoint when
// [Client.Timeout] is zero.
const DefaultTimeout = 5 * time.Second

// maxResponseBody caps what Client reads of an answer: a token pair is about
// 1 KiB, so anything near this is garbage, not a pair.
const maxResponseBody = 64 << 10

// Client calls Qelos's token endpoint, POST {BaseURL}/api/token/refresh with
// the refresh token as the bearer (the body is ignored by Qelos). It is a
// [Refresher]; wrap it in a [Coordinator] so that concurrent requests spend
// each single-use token once. A Client is safe for concurrent use.
type Client struct {
	// BaseURL is the Qelos app URL, such as "https://app.qelos.example".
	// A trailing slash is ignored. Required.
	BaseURL string
	// HTTPClient sends the request. Default: a client that follows no
	// redirects (a redirect from the token endpoint is a misconfiguration
	// and is reported as ErrUnavailable, never followed with the token).
	HTTPClient *http.Client
	// Timeout bounds each call, on top of the caller's context.
	// Default: DefaultTimeout (5 s).
	Timeout time.Duration
}

var noRedirectClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Refresh exchanges refreshToken for a new pair. A 401 or 403 answer is
// [ErrRejected]; every other failure is [ErrUnavailable].
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Pair, error) {
	if refreshToken == "" {
		return Pair{}, &Error{Kind: ErrRejected, Err: errors.New("empty refresh token")}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/api/token/refresh", nil)
	if err != nil {
		return Pair{}, unavailable(0, fmt.Errorf("bad BaseURL: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+refreshToken)
	req.Header.Set("Accept", "application/json")

	hc := c.HTTPClient
	if hc == nil {
		hc = noRedirectClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Pair{}, unavailable(0, err) // a *url.Error: the URL holds no token, it travels in a header
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		return Pair{}, &Error{Kind: ErrRejected, Status: resp.StatusCode}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		return Pair{}, unavailable(resp.StatusCode, nil)
	}

	var body struct {
		Payload struct {
			Token        string `json:"token"`
			RefreshToken string `json:"refreshToken"`
		} `json:"payload"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return Pair{}, unavailable(resp.StatusCode, err)
	}
	if len(data) > maxResponseBody {
		return Pair{}, unavailable(resp.StatusCode, errors.New("answer larger than 64 KiB"))
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return Pair{}, unavailable(resp.StatusCode, errors.New("answer is not JSON"))
	}
	if body.Payload.Token == "" || body.Payload.RefreshToken == "" {
		return Pair{}, unavailable(resp.StatusCode, errors.New("answer has no token pair"))
	}
	// A 2xx whose tokens are not JWTs is a broken deployment (a proxy, a
	// misrouted path), not a rotation: never record it, never sign out on it.
	if !looksLikeJWT(body.Payload.Token) || !looksLikeJWT(body.Payload.RefreshToken) {
		return Pair{}, unavailable(resp.StatusCode, errors.New("answer's tokens are not JWTs"))
	}
	return Pair{AccessToken: body.Payload.Token, RefreshToken: body.Payload.RefreshToken}, nil
}

// looksLikeJWT reports whether tok has the shape of a signed JWT: three
// base64url parts, the first two JSON objects, the header naming an
// algorithm. It checks shape only; signatures are the middleware's business.
func looksLikeJWT(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] == "" {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	for i, part := range parts[:2] {
		raw, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			return false
		}
		if i == 0 && (json.Unmarshal(raw, &header) != nil || header.Alg == "") {
			return false
		}
		if i == 1 && !json.Valid(raw) {
			return false
		}
	}
	return true
}
