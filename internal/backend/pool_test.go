package backend

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/metrics"
)

// holdServer accepts connections and keeps them open until the test closes
// them; it reports every accepted connection.
type holdServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startHoldServer(t *testing.T) *holdServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &holdServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
	})
	return h
}

// accepted returns the server side of the i-th connection, waiting for it.
func (h *holdServer) accepted(t *testing.T, i int) net.Conn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		if len(h.conns) > i {
			c := h.conns[i]
			h.mu.Unlock()
			return c
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("connection %d never arrived", i)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// closedByPeer reports whether the client side closed the connection whose
// server side is c.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := c.Read(b[:])
	return err != nil
}

// poolBackend is a backend whose dials are counted.
func poolBackend(t *testing.T, addr string, o Options) (*Backend, *int) {
	dials := new(int)
	var mu sync.Mutex
	o.Dial = func(network, a string, timeout time.Duration) (net.Conn, error) {
		mu.Lock()
		*dials++
		mu.Unlock()
		return net.DialTimeout(network, a, timeout)
	}
	b := NewBackend("c", "b", addr, 1, o)
	t.Cleanup(b.Close)
	return b, dials
}

func TestPoolGetPutReuse(t *testing.T) {
	srv := startHoldServer(t)
	b, dials := poolBackend(t, srv.ln.Addr().String(), Options{})
	c, reused, err := b.pool.get(time.Second)
	if err != nil || reused || *dials != 1 {
		t.Fatalf("first get: reused=%v dials=%d err=%v", reused, *dials, err)
	}
	if c.rb == nil || c.wb == nil {
		t.Fatal("a connection in use has no buffers")
	}
	b.pool.put(c)
	if c.rb != nil || c.wb != nil {
		t.Fatal("an idle connection holds buffers")
	}
	if b.IdleConns() != 1 {
		t.Fatalf("idle %d, want 1", b.IdleConns())
	}
	c2, reused, err := b.pool.get(time.Second)
	if err != nil || !reused || c2 != c || *dials != 1 {
		t.Fatalf("second get: same=%v reused=%v dials=%d err=%v", c2 == c, reused, *dials, err)
	}
	b.pool.put(c2)
}

func TestPoolMaxIdle(t *testing.T) {
	srv := startHoldServer(t)
	b, _ := poolBackend(t, srv.ln.Addr().String(), Options{MaxIdle: 2})
	var cs []*h1Conn
	for range 3 {
		c, _, err := b.pool.get(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		b.pool.put(c)
	}
	if b.IdleConns() != 2 {
		t.Fatalf("idle %d, want maxIdle 2", b.IdleConns())
	}
	// The connection that did not fit was closed.
	if !closedByPeer(srv.accepted(t, 2)) {
		t.Fatal("the extra connection is still open")
	}
	// LIFO: the most recently returned connection comes out first.
	c, _, _ := b.pool.get(time.Second)
	if c != cs[1] {
		t.Fatal("pool is not LIFO")
	}
	b.pool.put(c)
}

func TestPoolIdleTimeoutOnGet(t *testing.T) {
	srv := startHoldServer(t)
	clk := newFakeClock()
	m := metrics.New()
	b, dials := poolBackend(t, srv.ln.Addr().String(), Options{IdleTimeout: time.Minute, Now: clk.Now, Metrics: m})
	gauges := m.Backend("c", "b")
	c, _, _ := b.pool.get(time.Second)
	b.pool.put(c)
	if value(gauges.IdleConns) != 1 || value(gauges.ActiveConns) != 0 {
		t.Fatalf("gauges idle=%v active=%v, want 1 0", value(gauges.IdleConns), value(gauges.ActiveConns))
	}
	clk.Advance(time.Minute)
	c2, reused, err := b.pool.get(time.Second)
	if err != nil || reused || c2 == c || *dials != 2 {
		t.Fatalf("after the idle timeout: reused=%v same=%v dials=%d err=%v", reused, c2 == c, *dials, err)
	}
	if !closedByPeer(srv.accepted(t, 0)) {
		t.Fatal("the expired connection is still open")
	}
	// One connection in use, none idle: the dropped one is in neither.
	if value(gauges.IdleConns) != 0 || value(gauges.ActiveConns) != 1 {
		t.Fatalf("gauges idle=%v active=%v, want 0 1", value(gauges.IdleConns), value(gauges.ActiveConns))
	}
	b.pool.put(c2)
	if value(gauges.IdleConns) != 1 || value(gauges.ActiveConns) != 0 {
		t.Fatalf("gauges idle=%v active=%v, want 1 0", value(gauges.IdleConns), value(gauges.ActiveConns))
	}
}

// TestPoolStaleCheck: a connection idle long enough to be checked, which
// the backend closed meanwhile, is dropped instead of handed out.
func TestPoolStaleCheck(t *testing.T) {
	srv := startHoldServer(t)
	clk := newFakeClock()
	b, dials := poolBackend(t, srv.ln.Addr().String(), Options{IdleTimeout: time.Minute, Now: clk.Now})
	c, _, _ := b.pool.get(time.Second)
	b.pool.put(c)
	srv.accepted(t, 0).Close()
	// The FIN needs a moment to arrive; the probe must then see it.
	clk.Advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for peekAlive(c.nc) {
		if time.Now().After(deadline) {
			t.Fatal("the probe never saw the close")
		}
		time.Sleep(2 * time.Millisecond)
	}
	c2, reused, err := b.pool.get(time.Second)
	if err != nil || reused || c2 == c || *dials != 2 {
		t.Fatalf("stale connection handed out: reused=%v dials=%d err=%v", reused, *dials, err)
	}
	b.pool.put(c2)
	// A healthy idle connection passes the probe.
	clk.Advance(time.Second)
	c3, reused, _ := b.pool.get(time.Second)
	if !reused || c3 != c2 {
		t.Fatal("a healthy connection failed the probe")
	}
	b.pool.put(c3)
}

// TestPoolSweep: idle connections are closed by the sweeper after the idle
// timeout even when nobody asks for a connection.
func TestPoolSweep(t *testing.T) {
	srv := startHoldServer(t)
	b, _ := poolBackend(t, srv.ln.Addr().String(), Options{IdleTimeout: 50 * time.Millisecond})
	c1, _, _ := b.pool.get(time.Second)
	c2, _, _ := b.pool.get(time.Second)
	b.pool.put(c1)
	b.pool.put(c2)
	deadline := time.Now().Add(5 * time.Second)
	for b.IdleConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections left", b.IdleConns())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !closedByPeer(srv.accepted(t, 0)) || !closedByPeer(srv.accepted(t, 1)) {
		t.Fatal("swept connections are still open")
	}
	b.pool.mu.Lock()
	open := b.pool.open
	b.pool.mu.Unlock()
	if open != 0 {
		t.Fatalf("open count %d after the sweep, want 0", open)
	}
}

// TestPoolRetire: retiring closes idle connections and refuses returns.
func TestPoolRetire(t *testing.T) {
	srv := startHoldServer(t)
	b, _ := poolBackend(t, srv.ln.Addr().String(), Options{})
	c1, _, _ := b.pool.get(time.Second)
	c2, _, _ := b.pool.get(time.Second)
	b.pool.put(c1)
	b.Retire()
	if b.IdleConns() != 0 || !closedByPeer(srv.accepted(t, 0)) {
		t.Fatal("retire left an idle connection open")
	}
	b.pool.put(c2)
	if b.IdleConns() != 0 || !closedByPeer(srv.accepted(t, 1)) {
		t.Fatal("a connection returned after retire was kept")
	}
}

func TestPoolDialError(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	b, _ := poolBackend(t, addr, Options{})
	if _, _, err := b.pool.get(time.Second); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	b.pool.mu.Lock()
	defer b.pool.mu.Unlock()
	if b.pool.open != 0 {
		t.Fatalf("open %d after a failed dial", b.pool.open)
	}
}
