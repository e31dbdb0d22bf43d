package e2e

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/readiness"
)

// Parked HTTP/1.1 keep-alive connections (session/h1park.go): idle past
// parkAfter (500 ms), a connection gives back its goroutine and buffers
// and waits in the readiness poller.

// TestIdleH1ConnectionsPark: idle keep-alive connections, plain and TLS,
// hold no goroutine once parked, stay counted as open, and each answers
// its next request (resumed by the poller).
func TestIdleH1ConnectionsPark(t *testing.T) {
	be := StartBackend(t, nil)
	s := startH2(t, be.Addr, "off", nil)
	const perListener = 100

	dialTLS := func() *Conn {
		nc := s.dialTLS(t, "http/1.1")
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		return &Conn{Conn: nc, R: bufio.NewReader(nc), t: t}
	}
	ask := func(c *Conn) {
		t.Helper()
		c.Send("GET /park HTTP/1.1\r\nHost: localhost\r\n\r\n")
		if r := c.ReadResponse("GET"); r.StatusCode != 200 || r.Close {
			t.Fatalf("status %d, close %v", r.StatusCode, r.Close)
		}
	}
	// One of each first, parked, so what every connection shares exists
	// before the baseline.
	ask(Dial(t, s.h2c))
	ask(dialTLS())
	time.Sleep(time.Second)
	base := settledGoroutines()
	waiting := readiness.Default().Waiting()

	var conns []*Conn
	for range perListener {
		c := Dial(t, s.h2c)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		ask(c)
		conns = append(conns, c)
		c = dialTLS()
		ask(c)
		conns = append(conns, c)
	}
	time.Sleep(time.Second) // past parkAfter
	idle := settledGoroutines()
	if grew := idle - base; grew > len(conns)/4 {
		t.Errorf("%d idle keep-alive connections added %d goroutines (%d -> %d): not parked", len(conns), grew, base, idle)
	}
	t.Logf("%d idle keep-alive connections: goroutines %d -> %d", len(conns), base, idle)
	for _, addr := range []string{s.h2c, s.tls} {
		labels := map[string]string{"listener": addr, "proto": "http/1.1"}
		if n := s.MetricValue("sluice_connections_active", labels); n != perListener+1 {
			t.Errorf("%s: %v active http/1.1 connections, want %d: parked ones must stay counted", addr, n, perListener+1)
		}
	}
	for _, c := range conns {
		ask(c)
	}
	wantPollerReleased(t, waiting, conns)
}

// TestH1ParkedClosedByShutdown: a graceful shutdown closes parked
// connections at once instead of waiting for their idle timeout, and a
// parked connection whose client hangs up is reaped.
func TestH1ParkedClosedByShutdown(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil) // default front_timeout: a minute
	get := func() *Conn {
		c := Dial(t, s.Addr("@L1@"))
		c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
		if r := c.ReadResponse("GET"); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
		return c
	}
	parked, hangUp := get(), get()
	time.Sleep(time.Second) // past parkAfter
	hangUp.Close()
	Eventually(t, "the hung-up connection to be reaped", func() bool {
		return s.MetricValue("sluice_connections_active", map[string]string{"proto": "http/1.1"}) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Server.Shutdown(ctx) }()
	parked.ExpectClosed()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
