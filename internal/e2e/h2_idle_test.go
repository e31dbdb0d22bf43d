package e2e

import (
	"runtime"
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

	dialTLS := func() *rawH2 { return newRawH2(t, s.dialTLS(t, "h2")) }
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
