package qelostest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"
)

// Endpoint names accepted by [Server.Calls] and [Server.InjectFault]. Each
// is the method and route pattern the server registers.
const (
	EndpointSignIn         = "POST /api/signin"
	EndpointSignUp         = "POST /api/signup"
	EndpointRefresh        = "POST /api/token/refresh"
	EndpointCookieRefresh  = "POST /api/cookie/refresh"
	EndpointMe             = "GET /api/me"
	EndpointWorkspaces     = "GET /api/workspaces"
	EndpointWorkspace      = "GET /api/workspaces/{id}"
	EndpointLogout         = "POST /api/logout"
	EndpointAuthCallback   = "POST /api/auth/callback"
	EndpointActivate       = "POST /api/workspaces/{id}/activate"
	EndpointAPITokens      = "GET /api/me/api-tokens" // list
	EndpointCreateAPIToken = "POST /api/me/api-tokens"
	EndpointDeleteAPIToken = "DELETE /api/me/api-tokens/{id}"

	EndpointUpdateMe         = "POST /api/me" // profile update
	EndpointUsers            = "GET /api/users"
	EndpointCreateWorkspace  = "POST /api/workspaces"
	EndpointUpdateWorkspace  = "PUT /api/workspaces/{id}"
	EndpointWorkspaceMembers = "GET /api/workspaces/{id}/members"

	// The social sign-in: its start, the stand-in provider (see
	// ProviderPath) and the callback.
	EndpointSocialStart    = "GET /api/auth/{provider}"
	EndpointProvider       = "GET " + ProviderPath + "/{provider}/authorize"
	EndpointSocialCallback = "GET /api/auth/{provider}/callback"

	EndpointRoles         = "GET /api/roles"
	EndpointInvites       = "GET /api/invites"  // the caller's invitations
	EndpointRespondInvite = "POST /api/invites" // accept or decline one
)

// Fault replaces or disturbs the answers of one endpoint; see
// [Server.InjectFault]. The zero Fault does nothing.
//
// When several fields are set they apply in this order: Delay, then the
// first of Drop, Garbage and Status. A Fault with only Delay set delays the
// real answer.
type Fault struct {
	// Status, when non-zero, is answered instead of the real answer, with
	// Body. A Body that is valid JSON is sent as application/json, any other
	// non-empty Body as text/plain.
	Status int
	// Body is the body sent with Status. Default: empty.
	Body string
	// Delay is waited before answering. The wait ends early, without an
	// answer, when the client gives up (its request context is done) or the
	// server is closed; [Server.ClearFaults] ends it early with the real
	// answer.
	Delay time.Duration
	// Drop closes the connection without answering: the client sees a
	// connection reset or an unexpected EOF. Note that Go's http.Transport
	// may retry an idempotent request (GET) that fails on a reused
	// connection, so one client call can count twice in Calls.
	Drop bool
	// Garbage answers 200 with a body that is not JSON, although its
	// Content-Type claims application/json.
	Garbage bool
	// Times limits the fault to the next Times calls of the endpoint.
	// Zero or negative means until [Server.ClearFaults] or another
	// InjectFault for the same endpoint.
	Times int
}

// GarbageBody is the body answered by a [Fault] with Garbage set.
const GarbageBody = "<html><body>502 Bad Gateway</body></html>\x00{\"payload\":"

// InjectFault makes the next calls of endpoint (one of the Endpoint
// constants) misbehave as f says, replacing any fault already set for it.
// Faulted calls are still counted by [Server.Calls].
func (s *Server) InjectFault(endpoint string, f Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults[endpoint] = &f
}

// ClearFaults removes every injected fault. Requests still waiting out a
// Delay are released at once and get the real answer, as if the server had
// just recovered.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	clear(s.faults)
	close(s.cleared)
	s.cleared = make(chan struct{})
}

// Calls returns how many requests endpoint (one of the Endpoint constants)
// has received since the server started or [Server.ResetCalls] was called.
// A request is counted when it arrives, before any fault applies.
func (s *Server) Calls(endpoint string) int {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.calls[endpoint]
}

// ResetCalls sets every counter of [Server.Calls] back to zero.
func (s *Server) ResetCalls() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	clear(s.calls)
}

// arrive counts a request of endpoint and returns the fault to apply to
// it, if any, consuming one of its Times, and a channel closed by the next
// ClearFaults.
func (s *Server) arrive(endpoint string) (f Fault, cleared <-chan struct{}, ok bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.calls[endpoint]++
	fp, ok := s.faults[endpoint]
	if !ok {
		return Fault{}, nil, false
	}
	if fp.Times > 0 {
		fp.Times--
		if fp.Times == 0 {
			delete(s.faults, endpoint)
		}
	}
	return *fp, s.cleared, true
}

// endpoint wraps the handler of one endpoint with counting and faults.
func (s *Server) endpoint(name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, cleared, ok := s.arrive(name); ok {
			if s.applyFault(w, r, f, cleared) {
				return
			}
		}
		h(w, r)
	})
}

// applyFault carries out f and reports whether it answered (or abandoned)
// the request. A Delay cut short by ClearFaults (cleared) lets the real
// handler answer.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault, cleared <-chan struct{}) bool {
	s.logFault(r, f)
	if f.Delay > 0 {
		// Read the body first: net/http notices a client that went away
		// only once the request body has been consumed.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			abort(w)
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-cleared:
			return false
		case <-r.Context().Done():
			abort(w)
			return true
		case <-s.done:
			abort(w)
			return true
		}
	}
	switch {
	case f.Drop:
		abort(w)
	case f.Garbage:
		writeBody(w, http.StatusOK, "application/json; charset=utf-8", []byte(GarbageBody))
	case f.Status != 0:
		ct := ""
		switch {
		case json.Valid([]byte(f.Body)):
			ct = "application/json; charset=utf-8"
		case f.Body != "":
			ct = "text/plain; charset=utf-8"
		}
		writeBody(w, f.Status, ct, []byte(f.Body))
	default:
		return false
	}
	return true
}

// abort ends the request without an answer: it hijacks the connection and
// resets it, or, where hijacking is unsupported (HTTP/2, recorders), aborts
// the handler the way net/http documents.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}
