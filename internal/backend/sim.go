package backend

import (
	"fmt"
	"net"
	"time"
)

// The simulator's seam (docs/testing.md, "The simulator"). The session
// simulator runs the real HTTP/2 backend code, the pool, the connection
// owner with its engine in client position, the call hand-off, uploads,
// receives and retries, against byte-level backend models, one step at a
// time and deterministically. With Options.Sim set a backend's HTTP/2
// pool starts no goroutine and no real timer: the simulator posts the
// backend's bytes (SimConn.Deliver), runs the connection owner's turns
// (SimConn.Turn) and the exchanges' steps (SimTrip.Step), and its clock
// fires the timers. Production never sets Options.Sim: the seam costs a
// nil check where a goroutine or a timer would start.

// SimHooks are what the simulator provides instead of sockets, goroutines
// and timers.
type SimHooks struct {
	// Dial connects to the backend model (an in-memory connection whose
	// writes never block). An error is a connect failure.
	Dial func() (net.Conn, error)
	// AfterFunc makes timers on the simulator's clock.
	AfterFunc func(d time.Duration, f func()) Timer
	// OnConn hands the simulator each new connection to drive.
	OnConn func(*SimConn)

	// HTTP/1.1 exchanges run as they are, on goroutines the simulator
	// schedules one at a time (a lockstep baton): Go starts one (an
	// upload), and Wait blocks the caller until done is closed or d
	// (0: no bound) passed on the simulator's clock. Their other
	// blocking points are the simulator's own: the backend connection's
	// Read, and the body and writer it hands to RoundTrip.
	Go   func(f func())
	Wait func(done <-chan struct{}, d time.Duration)
}

// spawn starts f on a goroutine, the simulator's when it runs.
func (b *Backend) spawn(f func()) {
	if b.sim != nil {
		b.sim.Go(f)
		return
	}
	go f()
}

// SimConn is the simulator's handle on one HTTP/2 backend connection.
type SimConn struct {
	hc    *h2Conn
	ended bool
}

// Deliver posts up to len(p) bytes from the backend as one read, as the
// reader goroutine does; it returns how many were taken (0 when two reads
// are already in the owner's hands: the reader would wait).
func (s *SimConn) Deliver(p []byte) int {
	hc := s.hc
	select {
	case hc.rsem <- struct{}{}:
	default:
		return 0
	}
	b := getBuf()
	n := copy(b.b, p)
	if !hc.mb.Post(h2ev{kind: h2evRead, buf: b, n: n}) {
		putBuf(b)
		<-hc.rsem
		return 0
	}
	return n
}

// DeliverEOF posts the end of the backend's byte stream (it closed or
// died); false when the reader could not post it yet.
func (s *SimConn) DeliverEOF(err error) bool {
	hc := s.hc
	select {
	case hc.rsem <- struct{}{}:
	default:
		return false
	}
	if !hc.mb.Post(h2ev{kind: h2evRead, buf: getBuf(), err: err}) {
		<-hc.rsem
	}
	return true
}

// Turn runs one pass of the connection's owner; it reports whether the
// connection is over.
func (s *SimConn) Turn() bool {
	hc := s.hc
	if s.ended {
		return true
	}
	switch hc.turn() {
	case turnEnded:
		s.ended = true
		return true
	case turnParked:
		hc.mb.Claim() // the simulator plays the next owner itself
	}
	return false
}

// Calls returns the calls open on the connection's engine and those
// waiting for their upload to be sent (both zero once it is idle).
func (s *SimConn) Calls() (open, waiting int) { return s.hc.calls, len(s.hc.waiting) }

// Streams returns the engine's live streams on the connection.
func (s *SimConn) Streams() int { return s.hc.conn.ActiveStreams() }

// SimState returns the HTTP/2 pool's connections and the calls placed on
// them (for the simulator's end-of-run checks).
func (b *Backend) SimState() (conns, active int) {
	p := b.h2
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, hc := range p.conns {
		active += hc.active
	}
	return len(p.conns), active
}

// simDial opens a connection to the backend model: the handshake is
// stepped by the simulator like everything else, so the connection joins
// the pool at once and its first requests follow the preface.
func (p *h2Pool) simDial() (*h2Conn, error) {
	nc, err := p.b.sim.Dial()
	if err != nil {
		return nil, err
	}
	hc := newH2Conn(p, nc)
	hc.conn.Start()
	p.count(hc)
	p.b.sim.OnConn(&SimConn{hc: hc})
	return hc, nil
}

// SimTrip is a RoundTrip the simulator drives one step at a time: the
// same retry rules (trip), pool placement (tryAcquire), call (begin, end)
// and upload and receive steps (uploadStep, receiveStep) as RoundTrip,
// with the waits between steps left to the simulator's scheduler, and
// the timeouts to its clock. HTTP/2 backends only.
type SimTrip struct {
	tr   trip
	w    ResponseWriter
	t    Timeouts
	res  *Result
	now  func() time.Time
	b    *Backend
	x    h2Exchange
	ph   simPhase
	err  error // the attempt's receive outcome
	uerr error // the upload's

	deadline time.Time // acquire: the connect timeout
	lastMove time.Time // receive: the response timeout runs from here
	upSince  time.Time // upload: waiting for budget since (zero: not)
	headSent bool
	aborted  bool
	upDone   bool
}

type simPhase uint8

const (
	simPick    simPhase = iota // choose a backend (or end)
	simAcquire                 // place the call on a connection
	simRun                     // upload and receive
	simJoin                    // the response ended first: finish the upload
	simDone
)

// SimRoundTrip starts a stepped round trip (see RoundTrip).
func (c *Cluster) SimRoundTrip(req *Request, body Body, w ResponseWriter, t Timeouts, res *Result, now func() time.Time) *SimTrip {
	return &SimTrip{tr: trip{c: c, req: req, body: body}, w: w, t: t, res: res, now: now}
}

// Step advances the round trip by one step without blocking. room is
// what w.Write takes now without waiting. It reports when the round trip
// is over, with RoundTrip's error.
func (s *SimTrip) Step(room int) (done bool, err error) {
	switch s.ph {
	case simPick:
		b, err := s.tr.pick(s.res)
		if b == nil {
			s.ph = simDone
			return true, err
		}
		if b.h2 == nil || b.sim == nil {
			panic("backend: SimTrip runs simulated HTTP/2 backends only")
		}
		s.b = b
		b.acquire()
		s.deadline = s.now().Add(s.t.Connect)
		s.ph = simAcquire
		return false, nil
	case simAcquire:
		p := s.b.h2
		hc, dial, _ := p.tryAcquire(false)
		if dial {
			var err error
			hc, err = p.simDial()
			p.dialed(hc, err)
			if err != nil {
				return s.settle(acquireError(err))
			}
		}
		if hc == nil {
			if !s.now().Before(s.deadline) || s.tr.req.Cancel.Cancelled() {
				return s.settle(acquireError(errNoSlot))
			}
			return false, nil // every slot taken: wait
		}
		s.x = h2Exchange{}
		if err := p.begin(&s.x, hc, s.tr.req, s.tr.body, s.t); err != nil {
			s.b.release()
			return s.settle0(err)
		}
		s.lastMove, s.upSince, s.headSent, s.aborted, s.uerr = s.now(), time.Time{}, false, false, nil
		s.upDone = s.x.c.noBody
		s.ph = simRun
		return false, nil
	case simRun:
		c := s.x.c
		if !s.upDone {
			s.upload()
		}
		done, progress, err := c.receiveStep(s.w, s.res, s.x.sentAt, &s.headSent, room)
		if progress {
			s.lastMove = s.now()
		}
		if !done && !s.now().Before(s.lastMove.Add(s.t.Response)) {
			done, err = true, c.timedOut(s.headSent)
		}
		if !done {
			return false, nil
		}
		s.err = err
		if !s.upDone {
			s.tr.body.Abort()
			s.aborted = true
			s.ph = simJoin
			return false, nil
		}
		return s.finish()
	case simJoin:
		s.upload()
		if !s.upDone {
			return false, nil
		}
		return s.finish()
	}
	return true, s.err
}

// upload runs one upload step and its budget timeout (uploadBody's).
func (s *SimTrip) upload() {
	c := s.x.c
	before := c.upSent()
	st, err := c.uploadStep(s.tr.body, s.tr.replay, false)
	switch {
	case st == upDone:
		s.upDone, s.uerr = true, err
	case st == upWaitBudget && c.upSent() == before:
		if s.upSince.IsZero() {
			s.upSince = s.now()
		} else if !s.now().Before(s.upSince.Add(s.t.Response)) {
			s.upDone, s.uerr = true, errUploadStalled
		}
	default:
		s.upSince = time.Time{}
	}
}

// finish ends the attempt as exchange does and lets trip decide.
func (s *SimTrip) finish() (bool, error) {
	if !s.x.c.noBody {
		s.x.uploaded(s.err, s.uerr, s.aborted, s.res, s.tr.replay)
	}
	s.x.end(true)
	s.b.release()
	return s.settle0(s.err)
}

// settle ends an attempt that failed before its call was placed.
func (s *SimTrip) settle(err error) (bool, error) {
	s.b.release()
	return s.settle0(err)
}

func (s *SimTrip) settle0(err error) (bool, error) {
	o := h2Outcome(s.b, err, s.res)
	done, err := s.tr.settle(s.b, o, s.res)
	if done {
		s.ph, s.err = simDone, err
		return true, err
	}
	s.ph = simPick
	return false, nil
}

// String describes where the round trip is, for the simulator's reports.
func (s *SimTrip) String() string {
	st := fmt.Sprintf("phase %d, headSent %v, upload done %v", s.ph, s.headSent, s.upDone)
	if c := s.x.c; c != nil && s.ph >= simRun {
		c.mu.Lock()
		st += fmt.Sprintf(", call: opened %v closed %v respEnd %v queued %d, upOutstanding %d", c.opened, c.closed, c.respEnd, len(c.respQ), c.upOutstanding)
		c.mu.Unlock()
	}
	return st
}
