package session

import (
	"net"
	"sort"
	"time"
)

// The simulator's environment: a fake clock whose timers fire only when
// the simulator advances time, and an in-memory client connection that
// never blocks. Nothing here starts a goroutine: every event happens when
// the seeded scheduler says so.

type simClock struct {
	now    time.Time
	seq    int
	timers []*simTimer
}

type simTimer struct {
	c      *simClock
	when   time.Time
	seq    int
	f      func()
	active bool
}

func newSimClock() *simClock {
	return &simClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *simClock) Now() time.Time { return c.now }

func (c *simClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &simTimer{c: c, f: f}
	t.Reset(d)
	return t
}

func (t *simTimer) Stop() bool {
	was := t.active
	t.active = false
	return was
}

func (t *simTimer) Reset(d time.Duration) bool {
	was := t.active
	t.c.seq++
	t.when, t.seq, t.active = t.c.now.Add(d), t.c.seq, true
	found := false
	for _, x := range t.c.timers {
		if x == t {
			found = true
		}
	}
	if !found {
		t.c.timers = append(t.c.timers, t)
	}
	return was
}

// next returns when the earliest active timer fires (zero: none).
func (c *simClock) next() time.Time {
	var at time.Time
	for _, t := range c.timers {
		if t.active && (at.IsZero() || t.when.Before(at)) {
			at = t.when
		}
	}
	return at
}

// advance moves time forward by d and fires the timers that came due, in
// deadline order (creation order among equals).
func (c *simClock) advance(d time.Duration) int {
	c.now = c.now.Add(d)
	fired := 0
	for {
		var due []*simTimer
		for _, t := range c.timers {
			if t.active && !t.when.After(c.now) {
				due = append(due, t)
			}
		}
		if len(due) == 0 {
			return fired
		}
		sort.Slice(due, func(i, j int) bool {
			if !due[i].when.Equal(due[j].when) {
				return due[i].when.Before(due[j].when)
			}
			return due[i].seq < due[j].seq
		})
		t := due[0]
		t.active = false
		t.f()
		fired++
	}
}

// simConn is the session's client connection: writes are captured for the
// client model (which reads them in chunks the scheduler chooses); reads
// never happen (the simulator posts read events itself).
type simConn struct {
	out       []byte
	closed    bool
	writeShut bool
	writes    int
}

func (c *simConn) Read([]byte) (int, error) {
	panic("simConn.Read: the simulator feeds the session itself")
}

func (c *simConn) Write(p []byte) (int, error) {
	if c.closed || c.writeShut {
		return 0, net.ErrClosed
	}
	c.writes++
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *simConn) Close() error                     { c.closed = true; return nil }
func (c *simConn) CloseWrite() error                { c.writeShut = true; return nil }
func (c *simConn) LocalAddr() net.Addr              { return simAddr("sluice") }
func (c *simConn) RemoteAddr() net.Addr             { return simAddr("client") }
func (c *simConn) SetDeadline(time.Time) error      { return nil }
func (c *simConn) SetReadDeadline(time.Time) error  { return nil }
func (c *simConn) SetWriteDeadline(time.Time) error { return nil }
func (c *simConn) take(n int) []byte {
	n = min(n, len(c.out))
	p := append([]byte(nil), c.out[:n]...)
	c.out = c.out[n:]
	return p
}

type simAddr string

func (a simAddr) Network() string { return "sim" }
func (a simAddr) String() string  { return string(a) }
