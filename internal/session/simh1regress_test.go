package session

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/router"
)

// Regression tests for the production bugs the HTTP/1.1-front simulator
// found (simh1front_test.go).

// stalledWriterConn is a client connection for an HTTP/1.1 session: it
// hands out in, then EOF; its first write takes only part of the bytes
// and times out, as when a client stops reading and the write deadline
// passes.
type stalledWriterConn struct {
	simBackAddrs
	in     []byte
	out    bytes.Buffer
	writes int
	closed bool
}

func (c *stalledWriterConn) Read(b []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *stalledWriterConn) Write(p []byte) (int, error) {
	c.writes++
	if c.writes == 1 {
		n := min(10, len(p))
		c.out.Write(p[:n])
		return n, simTimeout{}
	}
	c.out.Write(p)
	return len(p), nil
}

func (c *stalledWriterConn) Close() error                     { c.closed = true; return nil }
func (c *stalledWriterConn) SetDeadline(time.Time) error      { return nil }
func (c *stalledWriterConn) SetReadDeadline(time.Time) error  { return nil }
func (c *stalledWriterConn) SetWriteDeadline(time.Time) error { return nil }

var _ net.Conn = (*stalledWriterConn)(nil)

// TestH1PartialAnswerCloses: a default answer (here 404 for a request no
// route takes) whose write timed out part way must close the connection.
// It kept it, and answered the next pipelined request after the cut one:
// the client read that response as the rest of the first (seed 341702, a
// 504 to a HEAD cut after "Content-", then a 502).
func TestH1PartialAnswerCloses(t *testing.T) {
	table, err := router.Build([]router.Rule[*backend.Cluster]{})
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(Env{Listener: "t", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	env.Routes.Store(table)
	env.sim = &simHooks{} // close plainly: no lingering on a fake connection
	c := &stalledWriterConn{in: []byte("GET /a HTTP/1.1\r\nHost: none.test\r\n\r\nGET /b HTTP/1.1\r\nHost: none.test\r\n\r\n")}
	env.ServeH1(ConnInfo{Conn: c, ClientIP: []byte("192.0.2.1"), Client: "192.0.2.1:1"}, nil)
	if c.writes != 1 || c.out.String() != "HTTP/1.1 4" {
		t.Errorf("after a cut answer the session wrote %d times: %q", c.writes, c.out.String())
	}
	if !c.closed {
		t.Error("the connection was not closed")
	}
}
