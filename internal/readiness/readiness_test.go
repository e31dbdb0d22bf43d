//go:build linux

package readiness

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// pair is a connected loopback TCP pair: in is the side registered with
// the poller, out the peer that writes to it.
func pair(t *testing.T) (in, out *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	o, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	i := <-accepted
	if i == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { i.Close(); o.Close() })
	return i.(*net.TCPConn), o.(*net.TCPConn)
}

func register(t *testing.T, p *Poller, c *net.TCPConn) (*Registration, chan struct{}) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fired := make(chan struct{}, 16)
	return p.Register(rc, func() { fired <- struct{}{} }), fired
}

func wantFired(t *testing.T, fired chan struct{}, what string) {
	t.Helper()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatalf("callback did not run: %s", what)
	}
}

func wantQuiet(t *testing.T, fired chan struct{}, what string) {
	t.Helper()
	select {
	case <-fired:
		t.Fatalf("callback ran: %s", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestArmFiresOncePerArm checks the contract the readers rely on: an
// armed idle socket reports nothing until bytes arrive, then reports
// once (one-shot: more bytes without a new Arm report nothing), and an Arm
// while bytes are already there reports at once (level-triggered: what
// arrived between the last read and the Arm is not missed).
func TestArmFiresOncePerArm(t *testing.T) {
	p := Default()
	in, out := pair(t)
	r, fired := register(t, p, in)
	defer r.Close()

	if err := r.Arm(); err != nil {
		t.Fatal(err)
	}
	wantQuiet(t, fired, "armed, nothing sent")
	out.Write([]byte("a"))
	wantFired(t, fired, "bytes arrived on an armed socket")
	out.Write([]byte("b"))
	wantQuiet(t, fired, "more bytes, not armed again")

	// Unread bytes are there: arming reports them at once.
	if err := r.Arm(); err != nil {
		t.Fatal(err)
	}
	wantFired(t, fired, "armed with bytes already waiting")

	// Read them all, arm, and the socket is quiet again.
	buf := make([]byte, 16)
	in.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := in.Read(buf); n != 2 {
		t.Fatalf("read %d bytes, want 2", n)
	}
	if err := r.Arm(); err != nil {
		t.Fatal(err)
	}
	wantQuiet(t, fired, "drained and armed")
	out.Write([]byte("c"))
	wantFired(t, fired, "new bytes after the drain")
}

// TestHangUpFires: a peer that closes wakes the reader, which then reads
// EOF and ends the connection.
func TestHangUpFires(t *testing.T) {
	in, out := pair(t)
	r, fired := register(t, Default(), in)
	defer r.Close()
	if err := r.Arm(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	wantFired(t, fired, "peer closed")
}

// TestCloseStopsCallbacks: after Close, bytes arriving run nothing, Arm
// fails, and a second Close is harmless; the registration is gone from
// the poller.
func TestCloseStopsCallbacks(t *testing.T) {
	p := Default()
	in, out := pair(t)
	before := p.Waiting()
	r, fired := register(t, p, in)
	if err := r.Arm(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	out.Write([]byte("x"))
	wantQuiet(t, fired, "closed registration")
	if err := r.Arm(); err == nil {
		t.Error("Arm after Close succeeded")
	}
	if n := p.Waiting(); n != before {
		t.Errorf("%d registrations after Close, want %d", n, before)
	}
}

// TestClosedSocketFailsArm: arming a socket that was closed fails, so a
// reader whose connection ended is not left waiting.
func TestClosedSocketFailsArm(t *testing.T) {
	in, _ := pair(t)
	r, _ := register(t, Default(), in)
	defer r.Close()
	in.Close()
	if err := r.Arm(); err == nil {
		t.Error("Arm on a closed socket succeeded")
	}
}

// TestManyIdleSockets: a thousand armed sockets are waited for
// by the poller's one goroutine, and each still wakes its own callback.
func TestManyIdleSockets(t *testing.T) {
	p := Default()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 1000
	fired := make(chan int, n)
	var outs []net.Conn
	for i := range n {
		o, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		defer c.Close()
		outs = append(outs, o)
		rc, _ := c.(syscall.Conn).SyscallConn()
		r := p.Register(rc, func() { fired <- i })
		defer r.Close()
		if err := r.Arm(); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range outs {
		o.Write([]byte("!"))
	}
	seen := make(map[int]bool)
	for range n {
		select {
		case i := <-fired:
			if seen[i] {
				t.Fatalf("socket %d reported twice for one arm", i)
			}
			seen[i] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d sockets reported", len(seen), n)
		}
	}
}
