package backend

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// h1Pool keeps idle keep-alive connections to one backend, shared by every
// session. Idle connections are a LIFO stack (the most recently used one is
// the likeliest to be alive and warm), bounded by maxIdle, and closed once
// idle longer than idleTimeout.
type h1Pool struct {
	b           *Backend
	mu          sync.Mutex
	idle        []*h1Conn
	maxIdle     int
	idleTimeout time.Duration
	dial        func(network, addr string, timeout time.Duration) (net.Conn, error)
	sweep       *time.Timer // armed while idle is non-empty
	open        int         // connections open (idle + in use), for metrics
}

func (p *h1Pool) init(b *Backend, maxIdle int, idleTimeout time.Duration, dial func(string, string, time.Duration) (net.Conn, error)) {
	p.b, p.maxIdle, p.idleTimeout, p.dial = b, maxIdle, idleTimeout, dial
}

// get returns an idle connection that still looks alive, or dials a new
// one. reused tells the caller whether a failure may be a stale keep-alive
// race (then an idempotent request may be retried).
func (p *h1Pool) get(connectTimeout time.Duration) (c *h1Conn, reused bool, err error) {
	now := p.b.now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.gauges(-1, 1)
		idleFor := now.Sub(c.lastUse)
		if idleFor < p.idleTimeout && (idleFor < staleCheckAfter || peekAlive(c.nc)) {
			c.attach()
			return c, true, nil
		}
		p.discard(c, true) // counted as active by the gauges call above
	}
	nc, err := p.dial("tcp", p.b.Address, connectTimeout)
	if err != nil {
		return nil, false, err
	}
	p.mu.Lock()
	p.open++
	p.mu.Unlock()
	p.gauges(0, 1)
	c = &h1Conn{nc: nc, pool: p}
	c.attach()
	return c, false, nil
}

// staleCheckAfter: a connection idle for less than this is used without a
// liveness probe. Backends close idle keep-alive connections after seconds,
// not milliseconds, and idempotent requests are retried anyway.
const staleCheckAfter = 250 * time.Millisecond

// put returns a healthy connection to the idle stack, or closes it when the
// stack is full or the backend was retired.
func (p *h1Pool) put(c *h1Conn) {
	c.detach()
	c.lastUse = p.b.now()
	p.mu.Lock()
	if len(p.idle) >= p.maxIdle || p.b.removed.Load() {
		p.mu.Unlock()
		p.discard(c, true)
		return
	}
	p.idle = append(p.idle, c)
	if p.sweep == nil {
		p.sweep = time.AfterFunc(p.idleTimeout, p.sweepIdle)
	}
	p.mu.Unlock()
	p.gauges(1, -1)
}

// discard closes a connection for good. active says whether it was counted
// as in use.
func (p *h1Pool) discard(c *h1Conn, active bool) {
	c.detach()
	c.nc.Close()
	p.mu.Lock()
	p.open--
	p.mu.Unlock()
	if active {
		p.gauges(0, -1)
	}
}

// sweepIdle closes connections idle longer than idleTimeout; it re-arms
// itself while idle connections remain.
func (p *h1Pool) sweepIdle() {
	now := p.b.now()
	var dead []*h1Conn
	p.mu.Lock()
	keep := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.lastUse) >= p.idleTimeout {
			dead = append(dead, c)
		} else {
			keep = append(keep, c)
		}
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
	if len(p.idle) > 0 {
		p.sweep = time.AfterFunc(p.idleTimeout/2+time.Millisecond, p.sweepIdle)
	} else {
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range dead {
		p.gauges(-1, 1)
		p.discard(c, true)
	}
}

func (p *h1Pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range idle {
		p.gauges(-1, 1)
		p.discard(c, true)
	}
}

func (p *h1Pool) idleLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func (p *h1Pool) gauges(idle, active float64) {
	if m := p.b.m; m != nil {
		if idle != 0 {
			m.IdleConns.Add(idle)
		}
		if active != 0 {
			m.ActiveConns.Add(active)
		}
	}
}

// peekAlive reports whether an idle connection is still usable: the peer
// has not closed it and has sent nothing unsolicited. It costs one
// non-blocking recv(MSG_PEEK).
func peekAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read and not closed, the healthy case. n == 0:
		// orderly close. n > 0: unsolicited bytes, the connection's framing
		// can no longer be trusted.
		alive = n < 0 && errors.Is(rerr, syscall.EAGAIN)
		return true
	})
	return err == nil && alive
}
