package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/internal/upstream"
)

// maxUpstreamBody caps what is read of a Qelos answer.
const maxUpstreamBody = 1 << 20

// upstreamResponse is a fully read Qelos answer.
type upstreamResponse = upstream.Answer

// call sends one request to Qelos with the configured client and timeout and
// reads the whole answer (at most 1 MiB). bearer, when set, is sent as
// Authorization. body, when non-nil, is sent as JSON.
func (m *Middleware) call(ctx context.Context, method, path string, body any, bearer string) (*upstreamResponse, error) {
	var h http.Header
	if bearer != "" {
		h = http.Header{"Authorization": {"Bearer " + bearer}}
	}
	return m.send(ctx, method, path, body, h)
}

// send is call with arbitrary credential headers.
func (m *Middleware) send(ctx context.Context, method, path string, body any, header http.Header) (*upstreamResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Limits.UpstreamTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.target+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", qelos.ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: reading answer: %w", qelos.ErrUnavailable, method, path, err)
	}
	if len(data) > maxUpstreamBody {
		return nil, fmt.Errorf("%w: %s %s: answer larger than 1 MiB", qelos.ErrUnavailable, method, path)
	}
	return &upstreamResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}
