package e2e

// Client-side timeouts end to end (issue 2 item 8). Backend timeouts are
// in h1_failures_test.go.

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestH1RequestTimeout408: a head that does not complete within
// request_timeout is answered 408 and the connection closed, even when the
// client keeps trickling bytes (slow loris).
func TestH1RequestTimeout408(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, timeouts(0, 300*time.Millisecond, 0, 0))
	t.Run("stalled", func(t *testing.T) {
		c := Dial(t, s.Addr("@L1@"))
		c.Send("GET /stalled HTTP/1.1\r\nHost: app.test\r\n")
		r := c.ReadResponse("GET")
		if r.StatusCode != 408 || !r.Close {
			t.Fatalf("got %d close=%v, want 408 with close", r.StatusCode, r.Close)
		}
		c.ExpectClosed()
	})
	t.Run("trickle", func(t *testing.T) {
		c := Dial(t, s.Addr("@L1@"))
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for _, b := range []byte("GET /trickle HTTP/1.1\r\nHost: app.test\r\nX-Slow: " + strings.Repeat("z", 200)) {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := c.Conn.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		r := c.ReadResponse("GET")
		if r.StatusCode != 408 {
			t.Fatalf("got %d, want 408", r.StatusCode)
		}
	})
	t.Run("silent", func(t *testing.T) {
		// A connection that never sends a byte is closed without an answer.
		c := Dial(t, s.Addr("@L1@"))
		c.ExpectClosed()
	})
	rec := waitRecord(t, s, func(r logRecord) bool { return r.num("status") == 408 })
	if rec.str("message") != "client_timeout" {
		t.Errorf("408 logged as %v", rec)
	}
	if n := len(be.Requests()); n != 0 {
		t.Errorf("backend saw %d requests", n)
	}
}

// TestH1FrontIdleTimeout: an idle keep-alive connection is closed after
// front_timeout, silently (no 408: there is no request), and leaves
// nothing behind: both while it still waits in a read and once it has
// parked (idle past 500 ms, session/h1park.go).
func TestH1FrontIdleTimeout(t *testing.T) {
	for _, front := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(front.String(), func(t *testing.T) {
			be := StartBackend(t, nil)
			s := startOne(t, be.Addr, timeouts(front, 0, 0, 0))
			c := Dial(t, s.Addr("@L1@"))
			c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
			if r := c.ReadResponse("GET"); r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			start := time.Now()
			c.ExpectClosed()
			if d := time.Since(start); d < front*2/3 {
				t.Errorf("closed after %v, before the idle timeout", d) // a sanity check, not a performance one
			}
			Eventually(t, "active connections to drop", func() bool {
				return s.MetricValue("sluice_connections_active", map[string]string{"proto": "http/1.1"}) == 0
			})
		})
	}
}

// TestH1ClientStallsMidBody: a client that stops sending its body is timed
// out after front_timeout (408), and the backend connection holding the
// partial request is closed rather than left waiting.
func TestH1ClientStallsMidBody(t *testing.T) {
	closed := make(chan string, 1)
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		got, _ := io.ReadAll(c)
		closed <- string(got)
	})
	s := startOne(t, be.Addr, timeouts(300*time.Millisecond, 0, 10*time.Second, 0))
	c := Dial(t, s.Addr("@L1@"))
	c.Send("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nfirst-part")
	r := c.ReadResponse("POST")
	if r.StatusCode != 408 {
		t.Fatalf("status %d, want 408", r.StatusCode)
	}
	c.ExpectClosed()
	if got := <-closed; got != "first-part" {
		t.Fatalf("backend got %q", got)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/up" })
	if rec.str("message") != "client_timeout" {
		t.Errorf("logged as %v", rec)
	}
}

// TestH1TunnelOneWayTraffic: an upgraded connection where only the backend
// talks (server push over a WebSocket) stays open past front_timeout; it
// is idle only when both directions are.
func TestH1TunnelOneWayTraffic(t *testing.T) {
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		for i := range 10 {
			time.Sleep(60 * time.Millisecond)
			if _, err := io.WriteString(c, string(rune('0'+i))); err != nil {
				return
			}
		}
		io.Copy(io.Discard, c)
	})
	s := startOne(t, be.Addr, timeouts(200*time.Millisecond, 0, 0, 0))
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if h := c.ReadHead(); !strings.HasPrefix(h, "HTTP/1.1 101") {
		t.Fatalf("head %q", h)
	}
	if got := c.ReadN(10); got != "0123456789" {
		t.Fatalf("pushed %q", got)
	}
	// Then both sides are silent: the tunnel ends.
	c.ExpectClosed()
}
