package middleware

import (
	"context"
	"net/http"
	"sync"
	"time"

	qelos "github.com/qelos-io/integrator-go"
	"github.com/qelos-io/integrator-go/middleware/internal/account"
	"github.com/qelos-io/integrator-go/refresh"
	"golang.org/x/sync/singleflight"
)

// defaultReadyTimeout bounds each check of ReadyHandler, so that a Qelos
// or Redis that does not answer makes the probe answer 503 well within a
// Kubernetes probe's default timeout (1 s) plus slack: within 2 s.
const defaultReadyTimeout = time.Second

// ReadyHandler returns a readiness handler for Kubernetes (readinessProbe)
// or a load balancer's health check: 200 {"status":"ok"} when Qelos
// answers, 503 {"status":"unavailable","checks":{…}} with Retry-After when
// it does not, so that traffic goes to replicas that can sign users in and
// refresh their sessions.
//
// It checks Qelos with one cheap anonymous GET /api/me (any answer below
// 500 means the gateway and the auth service are up), and the
// RefreshStore when it is a [refresh.Pinger] (the Redis store is), each
// within 1 s, concurrently. Concurrent probes share
// one check, so a flood of probes costs Qelos one call at a time. The
// answer names which check failed, never why (the reason is logged).
//
// Mount it on the probe's path, such as GET /healthz. Use it for
// readiness, not liveness: a Qelos outage should take a replica out of
// rotation, not restart it.
func (m *Middleware) ReadyHandler() http.Handler {
	p := &readiness{m: m}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			m.fail(w, r, &qelos.Error{Status: http.StatusMethodNotAllowed, Code: qelos.CodeMethodNotAllowed, Message: "use GET"})
			return
		}
		res := p.check(r.Context())
		if res.status != http.StatusOK {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, res.status, res.body)
	})
}

// readyBody is ReadyHandler's answer.
type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

type readyResult struct {
	status int
	body   readyBody
}

// readiness runs the checks; concurrent probes share one run.
type readiness struct {
	m     *Middleware
	group singleflight.Group
}

func (p *readiness) check(ctx context.Context) *readyResult {
	v, _, _ := p.group.Do("ready", func() (any, error) { return p.run(ctx), nil })
	return v.(*readyResult)
}

func (p *readiness) run(ctx context.Context) *readyResult {
	// Detached from the probe's request: a probe that gives up must not
	// record Qelos as down for the others sharing the run.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultReadyTimeout)
	defer cancel()
	checks := map[string]string{"qelos": "ok"}
	var storeErr error
	var wg sync.WaitGroup
	if pinger, ok := p.m.cfg.Refresh.Store.(refresh.Pinger); ok {
		checks["store"] = "ok"
		wg.Go(func() { storeErr = pinger.Ping(ctx) })
	}
	qelosErr := p.m.pingQelos(ctx)
	wg.Wait()
	res := &readyResult{status: http.StatusOK, body: readyBody{Status: "ok", Checks: checks}}
	if qelosErr != nil {
		p.m.log.Warn("qelos readiness: Qelos did not answer", "err", qelosErr)
		checks["qelos"] = "unavailable"
	}
	if storeErr != nil {
		p.m.log.Warn("qelos readiness: the refresh store did not answer", "err", storeErr)
		checks["store"] = "unavailable"
	}
	if qelosErr != nil || storeErr != nil {
		res.status, res.body.Status = http.StatusServiceUnavailable, "unavailable"
	}
	return res
}

// pingQelos asks Qelos's GET /api/me without a credential: any answer
// below 500 shows the gateway and the auth service answering.
func (m *Middleware) pingQelos(ctx context.Context) error {
	resp, err := m.call(ctx, http.MethodGet, "/api/me", nil, "")
	if err != nil {
		return err
	}
	if resp.Status >= 500 {
		return &statusError{resp.Status}
	}
	return nil
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "Qelos answered " + http.StatusText(e.status) }

// WhoAmIHandler returns a handler answering the request's user and active
// workspace as JSON, 200 {"user":…,"workspace":…}, with nulls when nobody
// is signed in: what a single-page app asks on load to know whether to
// show the sign-in form (as Nuxt's useQelos and Next's context helpers
// do). Mount it behind Handler, such as on GET /whoami; wrap it in
// RequireUser to answer 401 to anonymous callers instead.
func WhoAmIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		ws, _ := WorkspaceFrom(r.Context())
		writeJSON(w, http.StatusOK, account.Body{User: u, Workspace: ws})
	})
}
