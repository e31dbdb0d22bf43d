package e2e

import (
	"crypto/tls"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/readiness"
)

// TestIdleH2ConnectionsHoldNoGoroutine checks what keeps an idle HTTP/2
// connection small (DESIGN.md 2): once a connection has answered its
// request and gone quiet, sluice keeps no goroutine for it, on h2c and on
// TLS; its socket waits in the readiness poller. A goroutine per waiting
// reader would add one per connection. Every connection must then still
// answer a second request, which only the poller's wake-up can deliver.
func TestIdleH2ConnectionsHoldNoGoroutine(t *testing.T) {
	be := StartBackend(t, nil)
	s := startH2(t, be.Addr, "off", nil)
	const perListener = 100

	dialTLS := func() *rawH2 {
		nc, err := tls.Dial("tcp", s.tls, &tls.Config{RootCAs: s.cert.Pool, ServerName: "localhost", NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		return newRawH2(t, nc)
	}
	ask := func(c *rawH2, id uint32) {
		t.Helper()
		c.headers(id, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/idle")
		if status, _, rst := c.waitStream(id); status != "200" || rst != -1 {
			t.Fatalf("stream %d: status %q, reset %d", id, status, rst)
		}
	}
	// One connection first, so the pools every connection shares exist
	// before the baseline.
	ask(dialRawH2(t, s.h2c), 1)
	ask(dialTLS(), 1)
	base := settledGoroutines()
	waiting := readiness.Default().Waiting()

	var conns []*rawH2
	for range perListener {
		c := dialRawH2(t, s.h2c)
		ask(c, 1)
		conns = append(conns, c)
		c = dialTLS()
		ask(c, 1)
		conns = append(conns, c)
	}
	idle := settledGoroutines()
	if grew := idle - base; grew > len(conns)/4 {
		t.Errorf("%d idle connections added %d goroutines (%d -> %d), want at most %d",
			len(conns), grew, base, idle, len(conns)/4)
	}
	if n := s.MetricValue("sluice_connections_waiting", nil); n < float64(len(conns)) {
		t.Errorf("sluice_connections_waiting = %v with %d idle connections", n, len(conns))
	}
	t.Logf("%d idle connections: goroutines %d -> %d", len(conns), base, idle)
	for _, c := range conns {
		ask(c, 3)
	}
	wantPollerReleased(t, waiting, conns)
}

// wantPollerReleased closes the connections and checks that sluice took
// their sockets out of the readiness poller (no registration leaks).
func wantPollerReleased[C interface{ Close() error }](t *testing.T, before int, conns []C) {
	t.Helper()
	for _, c := range conns {
		c.Close()
	}
	Eventually(t, "the poller to release the closed connections", func() bool {
		return readiness.Default().Waiting() <= before
	})
}

// settledGoroutines is the goroutine count once it stopped moving: the
// count after it held for 200 ms (at most 5 s).
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			break
		}
		n = m
	}
	return n
}

// TestTrickledTLSRecordHoldsNoGoroutine: a client that sends part of a
// TLS record and stops (a slow loris below the HTTP/2 layer) must not hold
// the goroutine that reads for it: crypto/tls would wait for the rest of
// the record, so that read is bounded, and the socket goes back to the
// poller with the partial record buffered.
func TestTrickledTLSRecordHoldsNoGoroutine(t *testing.T) {
	be := StartBackend(t, nil)
	s := startH2(t, be.Addr, "off", nil)
	dial := func() *tls.Conn {
		nc, err := tls.Dial("tcp", s.tls, &tls.Config{RootCAs: s.cert.Pool, ServerName: "localhost", NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		c := newRawH2(t, nc)
		c.headers(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/")
		if status, _, _ := c.waitStream(1); status != "200" {
			t.Fatalf("status %q", status)
		}
		return nc
	}
	dial()
	const n = 50
	var conns []*tls.Conn
	for range n {
		conns = append(conns, dial())
	}
	// Let sluice read everything before and go back to waiting, so the
	// partial records arrive alone and wake a read.
	time.Sleep(200 * time.Millisecond)
	for _, nc := range conns {
		// An application-data record header announcing 64 bytes, and
		// 10 of them.
		partial := append([]byte{0x17, 0x03, 0x03, 0x00, 0x40}, make([]byte, 10)...)
		if _, err := nc.NetConn().Write(partial); err != nil {
			t.Fatal(err)
		}
	}
	// No goroutine may stay inside a TLS read waiting for the rest of a
	// record; the bound is 100 ms.
	var blocked int
	for deadline := time.Now().Add(5 * time.Second); ; {
		time.Sleep(200 * time.Millisecond)
		if blocked = goroutinesIn("crypto/tls.(*Conn).readRecordOrCCS"); blocked == 0 || time.Now().After(deadline) {
			break
		}
	}
	if blocked > 0 {
		t.Errorf("%d goroutines wait inside a TLS read for partial records (%d sent)", blocked, n)
	}
}

// goroutinesIn counts the goroutines whose stack has fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		m := runtime.Stack(buf, true)
		if m < len(buf) {
			buf = buf[:m]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}
