package faultproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every line back until the connection closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *Proxy {
	t.Helper()
	p, err := Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends a line through c and returns how long the echo took.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) (time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := r.ReadString('\n')
	if err == nil && line != "ping\n" {
		t.Fatalf("echo %q, want ping", line)
	}
	return time.Since(t0), err
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestForwards(t *testing.T) {
	p := start(t)
	c, r := dial(t, p)
	if _, err := roundTrip(t, c, r); err != nil {
		t.Fatal(err)
	}
	if p.Conns() != 1 || p.Peak() != 1 || p.Accepted() != 1 {
		t.Fatalf("conns %d peak %d accepted %d, want 1 1 1", p.Conns(), p.Peak(), p.Accepted())
	}
}

// The injected delays are lower bounds on what a round trip costs.
func TestLatencyAndFreeze(t *testing.T) {
	p := start(t)
	c, r := dial(t, p)
	p.SetLatency(30*time.Millisecond, 20*time.Millisecond)
	if d, err := roundTrip(t, c, r); err != nil || d < 50*time.Millisecond {
		t.Fatalf("round trip with 30+20 ms latency took %v (err %v), want at least 50 ms", d, err)
	}
	p.SetLatency(0, 0)
	p.Freeze(150 * time.Millisecond)
	if d, err := roundTrip(t, c, r); err != nil || d < 100*time.Millisecond {
		t.Fatalf("round trip through a 150 ms freeze took %v (err %v), want at least 100 ms", d, err)
	}
	// Freeze(0) lifts a long freeze at once.
	p.Freeze(time.Hour)
	go func() { time.Sleep(50 * time.Millisecond); p.Freeze(0) }()
	if _, err := roundTrip(t, c, r); err != nil {
		t.Fatal(err)
	}
}

func TestResetRefuseClose(t *testing.T) {
	p := start(t)
	c, r := dial(t, p)
	if _, err := roundTrip(t, c, r); err != nil {
		t.Fatal(err)
	}
	p.ResetAll()
	if _, err := roundTrip(t, c, r); err == nil {
		t.Fatal("a round trip on a reset connection succeeded")
	}
	p.Refuse(true)
	// Accepted by the kernel, then reset: the dial or the first read fails.
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		defer c2.Close()
		if _, err := roundTrip(t, c2, bufio.NewReader(c2)); err == nil {
			t.Fatal("a refused connection carried data")
		}
	}
	p.Refuse(false)
	c3, r3 := dial(t, p)
	if _, err := roundTrip(t, c3, r3); err != nil {
		t.Fatalf("after Refuse(false): %v", err)
	}
	p.Close()
	if _, err := roundTrip(t, c3, r3); err == nil {
		t.Fatal("a connection survived Close")
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("dial after Close succeeded")
	}
}
