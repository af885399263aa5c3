package middlewaretest_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/qelos-io/integrator-go/middleware"
	"github.com/qelos-io/integrator-go/middleware/middlewaretest"
	"github.com/qelos-io/integrator-go/qelostest"
)

// recordingT is a test's *testing.T whose log the test reads.
type recordingT struct {
	*testing.T
	mu   sync.Mutex
	logs strings.Builder
}

func (r *recordingT) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.logs, format+"\n", args...)
}

func (r *recordingT) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// TestKitLogsToTheTestLog: the middleware a Kit configures logs to the
// test's own log, not to the process's default logger, so the plain-http
// Secure hint (httptest's example.com host) and a refresh-failed warning
// stay out of a passing suite's output.
func TestKitLogsToTheTestLog(t *testing.T) {
	var global bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	rt := &recordingT{T: t}
	k := middlewaretest.Start(rt)
	mw := k.Middleware(middleware.Config{})
	mux := http.NewServeMux()
	mux.Handle("POST /auth/signin", mw.SignInHandler())
	mux.Handle("GET /private", middleware.RequireUser(middleware.WhoAmIHandler()))
	app := mw.Handler(mux)

	// A sign-in over plain http on example.com: the Secure hint.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"username":"`+qelostest.AdminEmail+`","password":"`+qelostest.AdminPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	app.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("sign-in %d %s", rec.Code, rec.Body)
	}
	// An expired session while Qelos fails: refresh-failed.
	s := k.SignIn(mw, qelostest.AdminEmail, qelostest.AcmeWorkspaceID)
	k.Expire()
	k.InjectFault(qelostest.EndpointRefresh, qelostest.Fault{Status: 500})
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, s.Request("GET", "/private", nil))
	if rec.Code != 503 {
		t.Fatalf("refresh while Qelos fails: %d", rec.Code)
	}
	for _, want := range []string{"QELOS_INSECURE_COOKIES", "refresh-failed"} {
		if !strings.Contains(rt.String(), want) {
			t.Errorf("the test log lacks %q:\n%s", want, rt.String())
		}
	}
	if global.Len() > 0 {
		t.Fatalf("the default logger printed:\n%s", global.String())
	}
}
