package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// A replyError is an error reply from Redis ("-ERR ...").
type replyError string

func (e replyError) Error() string { return "redis: " + string(e) }

// maxBulk bounds a bulk string read from a test server.
const maxBulk = 16 << 20

// command sends one command to the Redis at addr on a fresh connection and
// returns its reply: a string (simple or bulk), an int64, nil, or []any. An
// error reply is returned as an error. It is the package's stand-in for
// redis-cli, so that the root module needs no Redis client.
func command(addr string, args ...string) (any, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.do(args...)
}

// A conn is one connection to a Redis, for commands that must share it:
// WAIT counts the acknowledgements of its own connection's writes only.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, r: bufio.NewReader(c)}, nil
}

// do sends one command and returns its reply, as command does.
func (c *conn) do(args ...string) (any, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, err
	}
	return readReply(c.r)
}

// commandString is command for a reply that is a string.
func commandString(addr string, args ...string) (string, error) {
	v, err := command(addr, args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("redistest: %s answered %T, want a string", args[0], v)
	}
	return s, nil
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redistest: empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, replyError(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$', '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n > maxBulk {
			return nil, fmt.Errorf("redistest: bad length %q", line)
		}
		switch {
		case n < 0:
			return nil, nil // a nil bulk string or array
		case line[0] == '$':
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, err
			}
			return string(buf[:n]), nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redistest: unexpected reply %q", line)
}

// infoField returns field's value in an INFO or CLUSTER INFO answer.
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
