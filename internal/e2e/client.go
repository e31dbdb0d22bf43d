package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Conn is a raw client connection for tests that need exact bytes on the
// wire (pipelining, smuggling, slow clients). Every operation is bounded by
// a deadline set at Dial (10 s) so a test never hangs.
type Conn struct {
	net.Conn
	R *bufio.Reader
	t testing.TB
}

// Dial connects to addr with a 10 s deadline for the whole conversation.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &Conn{Conn: nc, R: bufio.NewReader(nc), t: t}
}

// Send writes s in one write.
func (c *Conn) Send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// Response is a response read by ReadResponse, its body fully read.
type Response struct {
	*http.Response
	Body string
}

// ReadResponse reads one response (a 1xx included) to a request with the
// given method and its whole body.
func (c *Conn) ReadResponse(method string) *Response {
	c.t.Helper()
	r, err := c.TryReadResponse(method)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return r
}

// TryReadResponse is ReadResponse returning the error instead of failing.
func (c *Conn) TryReadResponse(method string) (*Response, error) {
	resp, err := http.ReadResponse(c.R, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	return &Response{Response: resp, Body: string(body)}, nil
}

// ReadHead reads raw bytes up to and including the first empty line.
func (c *Conn) ReadHead() string {
	c.t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "\r\n\r\n") {
		line, err := c.R.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			c.t.Fatalf("read head: %v (got %q)", err, b.String())
		}
	}
	return b.String()
}

// ReadN reads exactly n bytes.
func (c *Conn) ReadN(n int) string {
	c.t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.R, buf); err != nil {
		c.t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// ExpectClosed fails unless the peer closes the connection (EOF or reset)
// before sending any further byte.
func (c *Conn) ExpectClosed() {
	c.t.Helper()
	if err := c.WaitClosed(); err != nil {
		c.t.Fatal(err)
	}
}

// WaitClosed reports nil when the peer closes the connection (EOF or
// reset) before sending any further byte.
func (c *Conn) WaitClosed() error {
	b, err := c.R.ReadByte()
	if err == nil {
		rest, _ := c.R.Peek(c.R.Buffered())
		return errors.New("connection still open: got " + strings.TrimSpace(string(append([]byte{b}, rest...))))
	}
	if err == io.EOF || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

// RefusedAddr returns a loopback address where nothing listens (connecting
// is refused at once).
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Eventually polls cond every 5 ms until it holds or 5 s pass.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
