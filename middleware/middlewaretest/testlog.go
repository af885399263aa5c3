package middlewaretest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// testLogHandler is the logger a Kit gives the middleware: every record
// goes to the test's own log (t.Logf), which go test shows only for a
// failing test or with -v, so a passing suite's output stays clean. Records
// that arrive after the test has ended (a background refresh finishing
// late) are dropped, as t.Logf would panic.
type testLogHandler struct {
	out   *testLogOutput
	attrs []slog.Attr
	group string
}

// testLogOutput is the test's log, shared by the handler and its
// WithAttrs/WithGroup children.
type testLogOutput struct {
	mu   sync.Mutex
	t    logger
	done bool
}

// logger is the Logf of *testing.T and *testing.B.
type logger interface {
	Logf(format string, args ...any)
}

// newTestLogger returns a logger writing to t's log until t ends, or, when
// t has no Logf, one writing Warn records and above to stderr.
func newTestLogger(t TB) *slog.Logger {
	lt, ok := t.(logger)
	if !ok {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	out := &testLogOutput{t: lt}
	t.Cleanup(func() {
		out.mu.Lock()
		out.done = true
		out.mu.Unlock()
	})
	return slog.New(&testLogHandler{out: out})
}

func (h *testLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *testLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		b.WriteByte(' ')
		if h.group != "" {
			b.WriteString(h.group)
			b.WriteByte('.')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value.Resolve().String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	if !h.out.done {
		h.out.t.Logf("%s", b.String())
	}
	return nil
}

func (h *testLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	cp := *h
	cp.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &cp
}

func (h *testLogHandler) WithGroup(name string) slog.Handler {
	cp := *h
	if cp.group != "" {
		name = cp.group + "." + name
	}
	cp.group = name
	return &cp
}
