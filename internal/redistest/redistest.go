// Package redistest runs a throwaway redis-server on a loopback port for
// tests that need a real Redis (no mocks). A test can stop the server, start
// it again on the same port, or freeze it, to exercise outage handling.
//
// Typical use in a test:
//
//	srv := redistest.Start(t) // skips the test when redis-server is missing
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//	srv.Stop()    // Redis is down: connections are refused
//	srv.Restart() // same port, empty data set
//
// and in a TestMain that shares one server across a package, see [URL].
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"time"

	"github.com/qelos-io/integrator-go/internal/testenv"
)

// EnvURL names the environment variable that points tests at an existing
// Redis (for example "redis://127.0.0.1:6379/15") instead of a private
// redis-server. Tests must not assume they can stop a server given this way.
const EnvURL = "QELOS_TEST_REDIS_URL"

// SkipMessage is what tests print when they skip for want of a Redis.
const SkipMessage = "redis-server not found; run the README's test command (scripts/test.sh) or set " + EnvURL

// ErrNotFound reports that no redis-server binary is on PATH.
var ErrNotFound = errors.New("redistest: redis-server not found on PATH")

// readyTimeout bounds how long a started server may take to answer PING.
const readyTimeout = 10 * time.Second

// A Server is a redis-server child process bound to 127.0.0.1. Its methods
// are safe for concurrent use.
type Server struct {
	bin   string
	dir   string
	port  int
	conf  string   // a config file, first on the command line (Sentinel mode)
	extra []string // arguments after the defaults (cluster or Sentinel mode)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{} // closed when cmd has been reaped
	closed bool
}

// Launch starts a redis-server on a free loopback port with persistence
// disabled, in a fresh temporary directory. It returns [ErrNotFound] when
// redis-server is not on PATH. The caller must call [Server.Close].
func Launch() (*Server, error) { return launch("") }

// launch is Launch with extra redis-server arguments and, when conf is not
// empty, a config file of that content (the server may rewrite it, as a
// Sentinel does).
func launch(conf string, extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotFound
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	cluster := slices.Contains(extra, "--cluster-enabled")
	var lastErr error
	// A free port may be taken between probing and binding; a cluster node
	// also needs port+10000 free (its bus), which about one port in five
	// of the ephemeral range cannot offer.
	for range 20 {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if cluster && !busPortFree(port) {
			lastErr = fmt.Errorf("redistest: cluster bus port %d not free", port+clusterBusOffset)
			continue
		}
		s := &Server{bin: bin, dir: dir, port: port, extra: extra}
		if conf != "" {
			s.conf = filepath.Join(dir, "redis.conf")
			if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// Start is [Launch] for one test: it skips tb with [SkipMessage] when
// redis-server is missing (fails it under the README's test command), fails
// it on any other error, and stops the server when tb ends.
func Start(tb testing.TB) *Server { return start(tb, Launch) }

// start is what the Start functions share: launch, skip tb with
// [SkipMessage] when redis-server is missing (fail it under the README's
// test command), fail it on any other error, and close what was launched
// when tb ends.
func start[T interface{ Close() }](tb testing.TB, launch func() (T, error)) T {
	tb.Helper()
	v, err := launch()
	if errors.Is(err, ErrNotFound) {
		testenv.Missing(tb, SkipMessage)
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(v.Close)
	return v
}

// URL returns the Redis to use for a package's tests: the value of [EnvURL]
// when set (stop is then a no-op), otherwise a private server started with
// [Launch]. It returns [ErrNotFound] when there is neither. Meant for
// TestMain, which has no testing.TB:
//
//	func TestMain(m *testing.M) {
//		url, stop, err := redistest.URL()
//		if err != nil && !errors.Is(err, redistest.ErrNotFound) { log.Fatal(err) }
//		testURL = url // tests skip when empty
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
func URL() (url string, stop func(), err error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, func() {}, nil
	}
	s, err := Launch()
	if err != nil {
		return "", func() {}, err
	}
	return s.URL(), s.Close, nil
}

// Addr returns host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns a redis:// URL for the server, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Stop kills the server (SIGKILL, as in a crash) and waits until it is gone,
// so that connections to its port are refused. Data is lost. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the server again on the same port (stopping it first if it
// runs) and waits until it answers PING.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("redistest: server closed")
	}
	s.stopLocked()
	return s.startLocked()
}

// Pause freezes the server with SIGSTOP: the kernel still accepts
// connections on its port but nothing is answered, which is what a slow or
// wedged Redis looks like to a client. Resume undoes it.
// Pause is not supported on Windows.
func (s *Server) Pause() error { return s.signal(pauseProcess) }

// Resume thaws a paused server with SIGCONT.
func (s *Server) Resume() error { return s.signal(resumeProcess) }

// Close stops the server for good and removes its directory.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.stopLocked()
	os.RemoveAll(s.dir)
}

func (s *Server) signal(send func(*os.Process) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("redistest: server not running")
	}
	return send(s.cmd.Process)
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked()
}

func (s *Server) startLocked() error {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.conf != "" {
		args = append([]string{s.conf}, args...)
	}
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	cmd.Dir = s.dir
	exited, err := spawn(cmd)
	if err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(); err != nil {
		s.stopLocked()
		return err
	}
	return nil
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill() // a SIGKILLed process needs no SIGCONT first
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// waitReady polls PING with a raw RESP exchange until the server answers.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redistest: redis-server on port %d exited: %s", s.port, lastLines(string(log), 5))
		default:
		}
		if lastErr = ping(s.Addr()); lastErr == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("redistest: redis-server on port %d not ready after %v: %v", s.port, readyTimeout, lastErr)
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected answer %q", strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// clusterBusOffset is how far above its port a cluster node listens for
// the other nodes.
const clusterBusOffset = 10000

// busPortFree reports whether a cluster node on port can open its bus port.
func busPortFree(port int) bool {
	if port+clusterBusOffset > 65535 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+clusterBusOffset)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
