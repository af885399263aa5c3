// Package faultproxy is a TCP proxy for tests that puts faults between a
// client and a real server (Redis, Qelos): latency in each direction, a
// freeze during which nothing is forwarded, a reset of every connection,
// and refusing new connections. It uses only the standard library.
//
// Typical use:
//
//	p, err := faultproxy.Start(redisAddr) // listens on 127.0.0.1:0
//	client := redis.NewClient(&redis.Options{Addr: p.Addr()})
//	p.SetLatency(50*time.Millisecond, 50*time.Millisecond) // 100 ms round trip
//	p.Freeze(400 * time.Millisecond) // nothing moves for 400 ms, then all of it
//	p.ResetAll()                     // every open connection is reset (RST)
//	p.Refuse(true)                   // new connections are accepted and reset at once
//	p.Close()
//
// Latency applies to each chunk read from one side before it is written to
// the other, in order, so a round trip costs the sum of both directions. A
// frozen proxy keeps reading (the kernel buffers fill as they would on a
// stalled network) and delivers everything when the freeze ends.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from Addr to a target. Its methods are
// safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu          sync.Mutex
	up, down    time.Duration // latency client→target, target→client
	frozenUntil time.Time
	thaw        chan struct{} // closed (and replaced) when a freeze is lifted early
	refuse      bool
	conns       map[*link]struct{}
	peak        int
	accepted    int
	closed      bool
	wg          sync.WaitGroup
}

type link struct {
	client, server net.Conn
}

// Start listens on a free loopback port and forwards every connection to
// target ("host:port").
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: map[*link]struct{}{}, thaw: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk forwarded client→target by up and every
// chunk target→client by down, from then on (data already in flight keeps
// the delay it was given).
func (p *Proxy) SetLatency(up, down time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up, p.down = up, down
}

// Freeze stops forwarding in both directions for d, on the connections open
// now and on new ones; what arrives meanwhile is delivered when it ends.
// New connections are still accepted (as a kernel would) but see no data.
// Freeze(0) lifts a freeze at once.
func (p *Proxy) Freeze(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozenUntil = time.Now().Add(d)
	if d <= 0 {
		close(p.thaw)
		p.thaw = make(chan struct{})
	}
}

// ResetAll resets every open connection on both sides: the client and the
// server see a connection reset, as when a middlebox or a server restarts.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.reset()
	}
}

// Refuse makes the proxy reset new connections as soon as they are
// accepted (true), as a server that is down but whose port answers, or
// forward them again (false). Open connections are left alone; combine with
// ResetAll for a full outage.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// Conns reports how many connections are open now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Peak reports the most connections open at once since Start or ResetPeak.
func (p *Proxy) Peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// ResetPeak sets Peak back to the number of connections open now.
func (p *Proxy) ResetPeak() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peak = len(p.conns)
}

// Accepted reports how many connections the proxy has accepted in all
// (each one a dial by a client).
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops listening (new dials are refused by the kernel), resets
// every open connection and waits for the forwarding goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.ResetAll()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		refuse, closed := p.refuse, p.closed
		p.mu.Unlock()
		if refuse || closed {
			resetConn(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		resetConn(client)
		return
	}
	l := &link{client: client, server: server}
	p.mu.Lock()
	// Refuse may have been turned on while the dial ran: a connection that
	// registers after it must not slip through a partition that Refuse and
	// ResetAll make together.
	if p.closed || p.refuse {
		p.mu.Unlock()
		l.reset()
		return
	}
	p.conns[l] = struct{}{}
	p.peak = max(p.peak, len(p.conns))
	p.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client, true) }()
	go func() { defer wg.Done(); p.pipe(client, server, false) }()
	wg.Wait()
	l.reset()
	p.mu.Lock()
	delete(p.conns, l)
	p.mu.Unlock()
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk after the direction's latency and
// after any freeze. When either side fails, both are closed.
func (p *Proxy) pipe(dst, src net.Conn, upstream bool) {
	chunks := make(chan chunk, 64)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				delay := p.down
				if upstream {
					delay = p.up
				}
				p.mu.Unlock()
				chunks <- chunk{data: buf[:n], due: time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		p.waitThaw()
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	// Half-close is not modelled: one side gone ends the link.
	dst.Close()
	src.Close()
	for range chunks { // let the reader finish
	}
}

// waitThaw blocks while the proxy is frozen.
func (p *Proxy) waitThaw() {
	for {
		p.mu.Lock()
		until, thaw := p.frozenUntil, p.thaw
		p.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-thaw:
			t.Stop()
		}
	}
}

func (l *link) reset() {
	resetConn(l.client)
	resetConn(l.server)
}

// resetConn closes c so that the peer sees a reset rather than an orderly
// close.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		return
	}
}
