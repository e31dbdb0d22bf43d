package listener

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/session"
)

// dialFrom connects from a chosen loopback address (127.0.0.0/8 is local
// on Linux), so the test can play several client IPs. It returns nil when
// the server closed the connection before the dial even completed (a
// refusal at accept can race the handshake).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Skipf("cannot dial from %s here: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// open reports whether the server kept c (a read times out) rather than
// closing it at accept (EOF or reset).
func open(c net.Conn) bool {
	if c == nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func rejected(env *session.Env, reason string) float64 {
	mfs, _ := env.Metrics.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "sluice_connections_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestConnectionLimits: max_connections_per_ip and max_connections are
// applied at accept, each refusal is counted under its reason, and every
// connection's slot is given back when it closes, including its
// per-IP entry: a flood of distinct source addresses must not leave the
// table growing.
func TestConnectionLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := session.NewEnv(session.Env{Listener: ln.Addr().String(), Limits: session.Limits{RequestTimeout: 5 * time.Second}})
	l := New(ln, Options{Env: env, H2C: true, MaxConnections: 5, MaxPerIP: 3})
	go l.Serve()
	defer func() {
		l.Close()
		env.Kill()
		env.Wait()
	}()
	addr := ln.Addr().String()

	var conns []net.Conn
	for range 5 {
		conns = append(conns, dialFrom(t, "127.0.0.2", addr))
	}
	kept := 0
	for _, c := range conns {
		if open(c) {
			kept++
		}
	}
	if kept != 3 || rejected(env, "max_connections_per_ip") != 2 {
		t.Fatalf("from one IP: %d of 5 kept (want 3), %v counted", kept, rejected(env, "max_connections_per_ip"))
	}
	// Another IP gets two slots before the global limit (5) refuses it.
	var more []net.Conn
	for range 3 {
		more = append(more, dialFrom(t, "127.0.0.3", addr))
	}
	kept = 0
	for _, c := range more {
		if open(c) {
			kept++
		}
	}
	if kept != 2 || rejected(env, "max_connections") != 1 {
		t.Fatalf("second IP: %d of 3 kept (want 2), %v counted", kept, rejected(env, "max_connections"))
	}
	for _, c := range append(conns, more...) {
		if c != nil {
			c.Close()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		entries := len(l.perIP)
		l.mu.Unlock()
		if l.Active() == 0 && entries == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after every close: %d active, %d per-IP entries", l.Active(), entries)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The slots are back.
	if c := dialFrom(t, "127.0.0.2", addr); !open(c) {
		t.Fatalf("a connection after the others closed was refused")
	}
}
