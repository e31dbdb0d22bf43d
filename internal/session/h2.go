package session

import (
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/gopool"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/readiness"
)

// h2Session serves one HTTP/2 client connection.
//
// Goroutines: the owner alone touches the engine, the streams' owner
// fields and the session's counters; the reader moves socket bytes to it;
// each linked stream runs one exchange goroutine. Everything reaches the
// owner through the mailbox.
//
// An idle connection (no stream, nothing to write) keeps no owner
// goroutine: the owner parks by exiting, and the next mailbox post (bytes
// from the reader, a timer) starts it again on a pooled goroutine. The
// reader holds no buffer while it waits, and waits on a goroutine whose
// stack never grew. That is what keeps an idle connection's
// memory small (DESIGN.md 2: under 16 KiB).
type h2Session struct {
	env  *Env
	info ConnInfo
	nc   net.Conn
	id   uint64
	conn *h2.Conn
	mb   *mailbox
	// lingering: the session closes gracefully; end() half-closes and
	// drains the socket before closing it (linger.go).
	lingering bool

	inflight chan struct{} // read buffers handed to the owner and not yet returned (cap 2)
	rw       *readWaiter
	reg      *readiness.Registration // nil: a reader goroutine waits instead
	events   []event

	pending  []*h2Stream // opened in the current read batch, not linked yet
	waiting  []*h2Stream // exchanges blocked on response credit
	live     int         // session streams not yet released
	running  int         // exchanges started and not finished
	exchRuns sync.WaitGroup

	start        time.Time
	firstRequest bool // a request was seen: the idle timeout replaces the request timeout
	drainAt      time.Time
	timer        Timer // posts evTimer; armed for the next deadline
	timerAt      time.Time
	ended        bool
	liveAtClose  int // streams live when the session ended (closeLog)
	unflushed    int // output bytes the close could not write (closeLog)

	obs      *h2Observer
	readyInc [8]int // ready incremental streams per urgency, as last published
}

type readBuf struct{ b []byte }

// Read buffers are taken only once bytes are there to read (see reader).
const (
	readBufSize      = 16 << 10
	maxReadsInFlight = 2
)

var readBufs = sync.Pool{New: func() any { return &readBuf{b: make([]byte, readBufSize)} }}

func putReadBuf(b *readBuf) { readBufs.Put(b) }

// ServeH2 serves an HTTP/2 connection. initial holds bytes already read
// (the h2c preface, from protocol detection). It may return while the
// connection is still open (idle, with its owner parked); info.Done
// reports the real end.
func (e *Env) ServeH2(info ConnInfo, initial []byte) {
	s := e.newH2Session(info, true)
	if s == nil {
		return
	}
	if !s.begin(initial) {
		return
	}
	s.inflight = make(chan struct{}, maxReadsInFlight)
	s.startReading()
	s.run()
}

// newH2Session sets a session up; owned says whether owner goroutines are
// started on demand (false: the simulator drives step itself).
func (e *Env) newH2Session(info ConnInfo, owned bool) *h2Session {
	s := &h2Session{env: e, info: info, nc: info.Conn, id: sessionIDs.Add(1), start: e.Now()}
	if owned {
		s.mb = newMailbox(s.run)
	} else {
		s.mb = newMailbox(nil)
	}
	s.mb.Claim() // this goroutine is the first owner
	if !e.sessions.add(s) {
		info.Conn.Close()
		if info.Done != nil {
			info.Done()
		}
		return nil
	}
	e.LMetrics.ActiveH2.Inc()
	e.Metrics.H2ConnsActive.Inc()
	s.obs = e.h2Observer()
	cfg := e.Limits.H2.Config
	cfg.Role = h2.Server
	var h h2.Handler = s
	if e.sim != nil && e.sim.wrap != nil {
		h = e.sim.wrap(s)
	}
	s.conn = h2.NewConn(cfg, h, s.obs, e.Now)
	s.conn.SetScheduler(e.Limits.H2.Scheduler)
	s.timer = e.Clock.AfterFunc(time.Hour, func() { s.mb.Post(event{kind: evTimer}) })
	s.timer.Stop()
	return s
}

// begin sends the opening frames and feeds the bytes protocol detection
// read; false: the session already ended.
func (s *h2Session) begin(initial []byte) bool {
	s.conn.Start()
	if t := s.info.TLS; t != nil && !t.H2Allowed {
		// RFC 9113 9.2.2: a TLS 1.2 suite on the block list.
		s.conn.GoAway(frame.InadequateSecurity, nil)
		s.flushAndClose()
		s.end()
		return false
	}
	if len(initial) > 0 {
		if err := s.conn.Feed(initial); err != nil {
			s.flushAndClose()
			s.end()
			return false
		}
	}
	return true
}

func (s *h2Session) drain() { s.mb.Post(event{kind: evDrain}) }
func (s *h2Session) kill()  { s.mb.Post(event{kind: evKill}) }

// run is the owner's body. It returns when the session ended or when the
// owner parked (the connection went idle); the mailbox starts it again.
func (s *h2Session) run() {
	for {
		if s.step() != stepWait {
			return
		}
		<-s.mb.Wake()
	}
}

// stepResult says how a step of the owner ended.
type stepResult uint8

const (
	stepWait   stepResult = iota // wait for the next event
	stepParked                   // idle: the owner parked (a new one starts on the next post)
	stepEnded                    // the session is over
)

// step runs the owner's work until it would have to wait for an event,
// without blocking on anything but socket writes. The simulator calls it
// directly.
func (s *h2Session) step() stepResult {
	for {
		if !s.handleQueued() {
			s.end()
			return stepEnded
		}
		s.linkPending()
		if s.running > 0 && s.env.sim == nil {
			// Let the exchanges that are ready run before writing, so
			// their responses leave in one write instead of one write
			// each: the wake-up of this goroutine by the first of them
			// would otherwise preempt the others (the scheduler runs the
			// woken goroutine next).
			runtime.Gosched()
			if !s.handleQueued() {
				s.end()
				return stepEnded
			}
			s.linkPending()
		}
		if !s.write() {
			s.end()
			return stepEnded
		}
		s.publishReady()
		if s.conn.ShouldClose() {
			s.flushAndClose()
			s.end()
			return stepEnded
		}
		now := s.env.Now()
		deadline := s.nextDeadline(now)
		if !deadline.IsZero() && !deadline.After(now) {
			if !s.onTimer(now) {
				s.end()
				return stepEnded
			}
			continue
		}
		s.armTimer(now, deadline)
		if s.idle() {
			// Release what an idle connection does not need, then park.
			// After a successful park another owner may already run:
			// this one must not touch the session again.
			s.conn.Trim()
			eventQueues.Put(s.events)
			s.events = nil
			if s.mb.Park() {
				return stepParked
			}
			continue
		}
		return stepWait
	}
}

// idle reports whether the owner has nothing to do until the next event.
func (s *h2Session) idle() bool {
	return s.live == 0 && len(s.pending) == 0 && len(s.conn.Pending()) == 0
}

func (s *h2Session) armTimer(now, deadline time.Time) {
	if deadline.Equal(s.timerAt) {
		return
	}
	s.timerAt = deadline
	if deadline.IsZero() {
		s.timer.Stop()
		return
	}
	s.timer.Reset(deadline.Sub(now))
}

// handleQueued handles every event in the mailbox without blocking.
func (s *h2Session) handleQueued() bool {
	s.events = s.mb.Take(s.events)
	for i := range s.events {
		if !s.handle(&s.events[i]) {
			// The session ends: end() still owes the events behind this
			// one (an exchange's final event, a read buffer) their
			// cleanup.
			s.events = s.events[i+1:]
			return false
		}
		s.events[i] = event{}
	}
	return true
}

// nextDeadline: the engine's timers, the connection idle timeout (never
// reset by control frames) and the drain deadline.
func (s *h2Session) nextDeadline(now time.Time) time.Time {
	d := s.conn.NextDeadline()
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if s.live == 0 {
		if !s.firstRequest {
			earliest(s.start.Add(s.env.Limits.RequestTimeout))
		} else {
			earliest(s.lastActivity().Add(s.env.Limits.FrontTimeout))
		}
	}
	if !s.drainAt.IsZero() && s.env.Limits.H2.GracefulShutdownDeadline > 0 {
		earliest(s.drainAt.Add(s.env.Limits.H2.GracefulShutdownDeadline))
	}
	return d
}

func (s *h2Session) lastActivity() time.Time {
	if la := s.conn.LastActivity(); la.After(s.start) {
		return la
	}
	return s.start
}

// onTimer runs the deadlines that passed; false ends the session.
func (s *h2Session) onTimer(now time.Time) bool {
	s.timerAt = time.Time{}
	if !s.drainAt.IsZero() && s.env.Limits.H2.GracefulShutdownDeadline > 0 &&
		!now.Before(s.drainAt.Add(s.env.Limits.H2.GracefulShutdownDeadline)) {
		// The drain deadline: force-close what is left.
		s.env.logSession(slog.LevelWarn, s.id, "h2", s.info.Client, "drain deadline reached, closing", "streams", s.conn.ActiveStreams())
		s.conn.GoAway(frame.NoError, nil)
		s.flushAndClose()
		return false
	}
	// The engine's timers first: a field block still in progress when the
	// request timeout strikes is a slow loris, which the engine names
	// (GOAWAY ENHANCE_YOUR_CALM, counted) rather than an idle client.
	if err := s.conn.Tick(); err != nil {
		s.flushAndClose()
		return false
	}
	if s.live == 0 {
		limit := s.env.Limits.FrontTimeout
		since := s.lastActivity()
		if !s.firstRequest {
			limit, since = s.env.Limits.RequestTimeout, s.start
		}
		if now.Sub(since) >= limit {
			s.conn.GoAway(frame.NoError, nil)
			s.flushAndClose()
			return false
		}
	}
	return true
}

// handle processes one mailbox event; false ends the session.
func (s *h2Session) handle(e *event) bool {
	switch e.kind {
	case evRead:
		var err error
		if e.n > 0 {
			s.env.LMetrics.BytesIn.Add(float64(e.n))
			err = s.conn.Feed(e.buf.b[:e.n])
		}
		if e.buf != nil {
			putReadBuf(e.buf)
			<-s.inflight
		}
		if err != nil {
			s.flushAndClose()
			return false
		}
		if e.err != nil {
			// The peer closed or the socket failed: nothing more can be
			// read, and the peer is not waiting for answers.
			s.conn.Close()
			return false
		}
	case evTimer:
		if !s.onTimer(s.env.Now()) {
			return false
		}
	case evStream:
		if e.gen == e.st.gen {
			s.onExchangeOutput(e.st)
		}
	case evCredit:
		if e.gen == e.st.gen && e.st.body != nil {
			n := e.st.body.takeCredit()
			s.conn.Consume(e.st.hs, n)
		}
	case evDrain:
		if s.drainAt.IsZero() {
			s.drainAt = s.env.Now()
			s.conn.StartDrain()
		}
	case evKill:
		return false
	}
	return true
}

// write runs a scheduler pass and writes its output; false: the socket
// failed.
func (s *h2Session) write() bool {
	for {
		s.conn.Produce()
		s.wakeWriters()
		out := s.conn.Pending()
		if len(out) == 0 {
			return true
		}
		s.nc.SetWriteDeadline(s.env.Now().Add(s.env.Limits.FrontTimeout))
		n, err := s.nc.Write(out)
		s.env.LMetrics.BytesOut.Add(float64(n))
		s.conn.Written(n)
		if err != nil {
			s.unflushed = len(s.conn.Pending())
			s.conn.Close()
			return false
		}
	}
}

// flushAndClose writes what is pending (the last GOAWAY) and asks end()
// for a lingering close (linger.go), so the client reads the GOAWAY
// instead of a reset triggered by frames it still had in flight.
func (s *h2Session) flushAndClose() {
	if out := s.conn.Pending(); len(out) > 0 {
		s.nc.SetWriteDeadline(s.env.Now().Add(time.Second))
		n, _ := s.nc.Write(out)
		s.conn.Written(n)
		s.unflushed = len(s.conn.Pending())
	}
	if s.env.sim != nil {
		s.nc.Close()
		return
	}
	s.lingering = true
}

// startReading starts moving socket bytes to the owner. While the
// connection is quiet the reading side holds no buffer and, where the
// readiness poller is available, no goroutine either: the socket waits in
// the poller's epoll set, and readReady runs on a pooled goroutine once it
// is readable (package readiness says why). Elsewhere a reader goroutine
// waits.
func (s *h2Session) startReading() {
	s.rw = newReadWaiter(s.nc)
	p := readiness.Default()
	if p == nil || s.rw.raw == nil {
		go s.reader()
		return
	}
	s.reg = p.Register(s.rw.raw, s.readReady) // the poller keeps the one method value
	if s.rw.draining {
		// TLS: the client's first records may have come with the
		// handshake, already read into crypto/tls's buffer.
		gopool.Go(s.readReady)
		return
	}
	s.arm()
}

// readReady reads what the socket has, then waits for more.
func (s *h2Session) readReady() {
	if s.readAvailable() {
		s.arm()
	}
}

// arm puts the drained socket back in the poller's set.
func (s *h2Session) arm() {
	if err := s.reg.Arm(); err != nil {
		s.mb.Post(event{kind: evRead, err: err})
	}
}

// reader moves socket bytes to the owner when no poller can wait for
// the socket: it waits for readability itself (readWaiter), and only then
// takes a buffer and reads.
func (s *h2Session) reader() {
	for {
		if err := s.rw.wait(); err != nil {
			s.mb.Post(event{kind: evRead, err: err})
			return
		}
		if !s.readAvailable() {
			return
		}
	}
}

// readAvailable hands the owner what the socket has, buffer by buffer,
// until a read finds nothing more; false: the reader is done (the socket
// failed or the session ended).
func (s *h2Session) readAvailable() bool {
	for {
		s.inflight <- struct{}{}
		b := readBufs.Get().(*readBuf)
		n, err := s.rw.read(b.b)
		drained := err == errDrained
		if drained {
			err = nil
		}
		if n == 0 && err == nil {
			putReadBuf(b)
			<-s.inflight
			return true
		}
		if !s.mb.Post(event{kind: evRead, buf: b, n: n, err: err}) {
			putReadBuf(b)
			return false
		}
		if err != nil {
			return false
		}
		if drained {
			return true
		}
	}
}

// end runs once, on the owner, when the session is over: it closes the
// connection, cancels every exchange and waits for them, logs their
// streams, and reports the connection's end, so nothing outlives it.
func (s *h2Session) end() {
	if s.ended {
		return
	}
	s.ended = true
	s.liveAtClose = s.live
	s.unflushed = max(s.unflushed, len(s.conn.Pending()))
	s.timer.Stop()
	if s.reg != nil {
		s.reg.Close()
	}
	if !s.lingering {
		s.nc.Close()
	}
	s.conn.Close() // every open stream closes: OnClosed abandons its exchange
	for _, st := range s.pending {
		if st != nil {
			st.inPending = false
			s.abandon(st)
			s.maybeRelease(st)
		}
	}
	s.pending = s.pending[:0]
	if s.env.sim != nil {
		s.env.sim.endExchanges()
	}
	s.exchRuns.Wait()
	left := append(s.events, s.mb.Close()...)
	s.events = nil
	for _, e := range left {
		switch e.kind {
		case evRead:
			if e.buf != nil {
				putReadBuf(e.buf)
				<-s.inflight
			}
		case evStream:
			if e.gen == e.st.gen {
				s.onExchangeOutput(e.st)
			}
		}
	}
	s.closeLog()
	if s.lingering {
		// Still counted as a connection meanwhile: limits hold.
		lingerClose(s.nc)
	}
	s.unpublishReady()
	s.env.LMetrics.ActiveH2.Dec()
	s.env.Metrics.H2ConnsActive.Dec()
	s.env.sessions.remove(s)
	if s.info.Done != nil {
		s.info.Done()
	}
}

// closeLog logs how the session ended (DESIGN.md 3.10), with the session
// envelope. A close is worth an operator's attention only when it left
// output unwritten (a response, a GOAWAY, a TLS close_notify), and then
// the severity follows what may have been lost, not who caused it:
//   - streams were live: their responses may have been cut short, error;
//   - no stream, after a GOAWAY exchange: the expected race with a peer
//     that hung up on our GOAWAY (or after its own), warn;
//   - no stream, from any other state: nothing explains it, error.
//
// Every other close (a client that hung up with nothing owed, a flood
// ended with its GOAWAY delivered) is routine and logged at debug: one
// line per connection at a higher level would let any client flood the
// log.
func (s *h2Session) closeLog() {
	peerGA, _ := s.conn.PeerGoingAway()
	goAway := s.conn.GoingAway() || peerGA
	level, msg := slog.LevelDebug, "h2 session closed"
	switch {
	case s.unflushed == 0:
	case s.liveAtClose > 0:
		level, msg = slog.LevelError, "h2 session closed with live streams and output unwritten"
	case goAway:
		level, msg = slog.LevelWarn, "h2 session closed after GOAWAY with output unwritten"
	default:
		level, msg = slog.LevelError, "h2 session closed with output unwritten"
	}
	s.env.logSession(level, s.id, "h2", s.info.Client, msg,
		"streams", s.liveAtClose, "unwritten", s.unflushed, "goaway_sent", s.conn.GoingAway(), "goaway_received", peerGA)
}

// The engine's callbacks (owner goroutine).

func (s *h2Session) OnRequest(hs *h2.Stream, req *h2.Request) {
	st := s.newStream(hs)
	s.live++
	s.firstRequest = true
	s.env.Metrics.H2StreamsActive.Inc()
	env := s.env
	st.rec = accesslog.Record{Start: env.Now(), Stream: uint32(hs.ID()), FrontProto: "h2"}

	// Copy the request out of the decoder's storage.
	st.store = appendReq(st.store[:0], req)
	store := st.store
	off := 0
	take := func(n int) []byte { b := store[off : off+n : off+n]; off += n; return b }
	method, scheme, authority, path := take(len(req.Method)), take(len(req.Scheme)), take(len(req.Authority)), take(len(req.Path))
	st.fields = st.fields[:0]
	for i := range req.Fields {
		f := &req.Fields[i]
		name := take(len(f.Name))
		st.fields = append(st.fields, h1.Field{Name: name, Value: take(len(f.Value)), Kind: h1.ClassifyName(name)})
	}
	st.rec.Method, st.rec.Authority, st.rec.Path = method, authority, path
	st.headMethod = string(method) == "HEAD"

	if string(method) == "CONNECT" {
		// CONNECT tunnels are not proxied: refuse cleanly (RFC 9110 9.3.6).
		s.answer(st, 405, accesslog.MsgBadRequest, nil)
		return
	}
	if t := s.info.TLS; t != nil && t.Allows != nil {
		if ok, coalesced := t.Allows(authority); !ok {
			env.Metrics.Misdirected()
			s.answer(st, 421, accesslog.MsgMisdirected, nil)
			return
		} else if coalesced {
			env.Metrics.H2CoalescingOK.Inc()
			env.logCoalesced(s.id, "h2", s.info, authority)
		}
	}
	cl, ok := env.Routes.Load().Match(authority, stripQuery(path))
	if !ok {
		s.answer(st, 404, accesslog.MsgNoRoute, nil)
		return
	}
	st.cl = cl
	st.rec.Cluster = cl.ID
	st.breq = backend.Request{
		Method: method, Scheme: scheme, Authority: authority, Path: path,
		Fields: st.fields, ContentLength: req.ContentLength, HasBody: !req.EndStream,
		TETrailers: req.TETrailers, ClientIP: s.info.ClientIP, FrontProto: "h2",
		Cancel: &st.cancel,
	}
	if req.EndStream && req.ContentLength < 0 {
		st.breq.ContentLength = -1
	}
	if st.breq.HasBody {
		st.body = newBodyPipe(st)
	}
	st.pendingLink = true
	st.inPending = true
	s.pending = append(s.pending, st)
}

// appendReq copies the request's pseudo-fields and fields into one slab, in
// the order OnRequest takes them back.
func appendReq(b []byte, req *h2.Request) []byte {
	b = append(b, req.Method...)
	b = append(b, req.Scheme...)
	b = append(b, req.Authority...)
	b = append(b, req.Path...)
	for i := range req.Fields {
		b = append(b, req.Fields[i].Name...)
		b = append(b, req.Fields[i].Value...)
	}
	return b
}

func (s *h2Session) OnResponse(*h2.Stream, *h2.Response) {}

func (s *h2Session) OnData(hs *h2.Stream, p []byte, end bool) {
	st, _ := hs.App.(*h2Stream)
	if st == nil || st.body == nil || !st.body.push(p, end) {
		// Nobody will read these bytes: give the window back at once.
		s.conn.Consume(hs, len(p))
	}
	if st != nil {
		st.rec.BytesIn += int64(len(p))
	}
}

func (s *h2Session) OnTrailers(hs *h2.Stream, fields []h2.Field) {
	st, _ := hs.App.(*h2Stream)
	if st != nil && st.body != nil {
		st.body.setTrailers(fields)
	}
}

func (s *h2Session) OnGoAway(last h2.StreamID, code h2.ErrCode, debug []byte) {}

// OnClosed: the engine is done with hs. A stream whose exchange still runs
// was reset (by the client, a reaper or a connection error): abandon the
// backend side at once.
func (s *h2Session) OnClosed(hs *h2.Stream) {
	st, _ := hs.App.(*h2Stream)
	hs.App = nil
	// hs may be reused by any connection once released: read it first.
	defer s.conn.Release(hs)
	if st == nil {
		return
	}
	st.hs = nil
	if code := hs.CloseCode(); code != frame.NoError {
		if st.rec.ResetCode == "" {
			st.rec.ResetCode = code.String()
		}
		if st.rec.Message == "" {
			switch {
			case hs.ReapReason() == h2.ReapIdle:
				st.rec.Message = accesslog.MsgH2IdleTimeout
			case hs.ReapReason() == h2.ReapWindowStall:
				st.rec.Message = accesslog.MsgH2WindowStall
			case hs.ResetByPeer():
				st.rec.Message = accesslog.MsgClientReset
			}
		}
	}
	if !st.finished {
		s.abandon(st)
	}
	s.maybeRelease(st)
}

// abandon stops a stream's exchange: the client side is gone.
func (s *h2Session) abandon(st *h2Stream) {
	if st.pendingLink {
		st.pendingLink = false
		st.finished = true // never linked: no backend request at all
	}
	st.cancel.Cancel()
	if st.body != nil {
		st.body.abort()
	}
	st.mu.Lock()
	st.gone = true
	st.cond.Broadcast()
	st.mu.Unlock()
}

// linkPending starts the exchanges of streams opened in the last read
// batch. Deferring this to the end of the batch is a Rapid Reset defence:
// a stream reset in the same batch never reaches a backend.
func (s *h2Session) linkPending() {
	for i, st := range s.pending {
		s.pending[i] = nil
		st.inPending = false
		if !st.pendingLink {
			s.maybeRelease(st) // reset within its batch: never linked
			continue
		}
		st.pendingLink = false
		st.running = true
		s.running++
		s.firstRequest = true
		if s.env.sim != nil {
			s.env.sim.startExchange(st)
			continue
		}
		s.exchRuns.Add(1)
		exchangeWorkers.Run(job{st: st, s: s})
	}
	s.pending = s.pending[:0]
}

// onExchangeOutput moves what an exchange produced into the engine.
func (s *h2Session) onExchangeOutput(st *h2Stream) {
	st.mu.Lock()
	st.notified = false
	infos := st.infos
	head := st.head
	st.head = nil
	chunks := st.chunks
	st.chunks, st.spare = st.spare[:0], nil
	trailers := st.trailers
	st.trailers = nil
	done := st.done
	var err error
	var res backend.Result
	if done {
		err, res = st.err, st.res
	}
	st.mu.Unlock()

	hs := st.hs
	if hs == nil {
		for _, ch := range chunks {
			ch.Free()
		}
		st.mu.Lock()
		st.infos = st.infos[:0]
		st.outstanding = 0
		st.mu.Unlock()
	} else {
		for i := range infos {
			s.conn.WriteResponse(hs, infos[i].status, infos[i].fields, false)
		}
		if head != nil {
			noBody := head.noBody || st.headMethod
			end := done && err == nil && len(chunks) == 0 && trailers == nil
			st.status = head.status
			st.answered = true
			if v := responsePriority(head.fields); v != nil {
				// RFC 9218 8: the origin may raise or lower the
				// urgency the client asked for.
				s.conn.SetResponsePriority(hs, v)
			}
			s.conn.WriteResponse(hs, head.status, head.fields, end || noBody && done && err == nil)
		}
		for _, ch := range chunks {
			if st.headMethod {
				ch.Free()
				continue
			}
			s.conn.QueueData(hs, ch)
		}
		if trailers != nil {
			s.conn.WriteTrailers(hs, toH2Fields(trailers))
		}
		st.mu.Lock()
		st.infos = st.infos[:0]
		if st.outstanding > 0 && !st.inWaiting {
			st.inWaiting = true
			s.waiting = append(s.waiting, st)
		}
		st.mu.Unlock()
	}
	// Hand the slice back before exchangeDone, which may release st.
	clear(chunks)
	st.spare = chunks[:0]
	if done {
		s.exchangeDone(st, err, &res)
	}
}

// exchangeDone ends a stream's backend side: answer or reset on error,
// END_STREAM otherwise, then log.
func (s *h2Session) exchangeDone(st *h2Stream, err error, res *backend.Result) {
	if st.running {
		s.running--
	}
	st.running = false
	st.finished = true
	if st.body != nil {
		n := st.body.close()
		s.conn.Consume(st.hs, n)
	}
	rec := &st.rec
	rec.Status = st.status
	rec.BackendConn, rec.TimeToFirst, rec.Retries = res.ConnectTime, res.TTFB, res.Retries
	rec.BytesOut = res.BytesOut
	if res.Backend != nil {
		rec.Backend = res.Backend.ID
		rec.BackProto = backProto(res.Backend)
	}
	hs := st.hs
	if err != nil {
		var be *backend.Error
		switch {
		case errors.Is(err, backend.ErrClientGone) || hs == nil:
			if rec.Message == "" {
				rec.Message = accesslog.MsgClientAborted
			}
		case !st.answered && errors.As(err, &be) && !be.Reset:
			rec.Status = be.Status
			s.answer(st, be.Status, be.Message, st.cl)
			return
		default:
			// The response started and cannot complete, or an HTTP/2
			// backend reset the stream: reset the client's stream (with
			// the backend's code when it gave one) so the client knows.
			code := frame.InternalError
			if errors.As(err, &be) {
				rec.Message = be.Message
				if be.Reset {
					code = frame.ErrCode(be.ResetCode)
				}
			} else if rec.Message == "" {
				rec.Message = accesslog.MsgBackendReset
			}
			rec.ResetCode = code.String()
			s.conn.Reset(hs, code)
		}
	} else if hs != nil && !hs.Closed() {
		s.conn.EndStream(hs)
	}
	s.logStream(st)
	s.maybeRelease(st)
}

// answer sends a default answer on st and finishes it.
func (s *h2Session) answer(st *h2Stream, status int, msg string, cl *backend.Cluster) {
	st.rec.Status, st.rec.Message = status, msg
	st.status = status
	st.finished = true
	s.env.Metrics.DefaultAnswer(status, msg)
	if hs := st.hs; hs != nil && !hs.Closed() {
		body := answerBody(cl, status)
		var num [20]byte
		fields := [...]h2.Field{
			{Name: hdrContentType, Value: valTextHTML},
			{Name: hdrCacheControl, Value: valNoStore},
			{Name: hdrContentLength, Value: strconv.AppendInt(num[:0], int64(len(body)), 10)},
		}
		if st.headMethod {
			s.conn.WriteResponse(hs, status, fields[:], true)
		} else {
			s.conn.WriteResponse(hs, status, fields[:], false)
			for len(body) > 0 {
				ch := bufpool.Get()
				n := min(ch.Room(), len(body))
				ch.B = append(ch.B, body[:n]...)
				body = body[n:]
				s.conn.QueueData(hs, ch)
			}
			s.conn.EndStream(hs)
		}
		st.answered = true
		st.rec.BytesOut = int64(len(answerBody(cl, status)))
		if st.body != nil {
			// The request body is not wanted: discard it as it comes.
			n := st.body.close()
			s.conn.Consume(hs, n)
		}
	}
	s.logStream(st)
	s.maybeRelease(st)
}

var (
	hdrContentType   = []byte("content-type")
	hdrCacheControl  = []byte("cache-control")
	hdrContentLength = []byte("content-length")
	valTextHTML      = []byte("text/html; charset=utf-8")
	valNoStore       = []byte("no-store")
)

func toH2Fields(fs []h1.Field) []h2.Field {
	out := make([]h2.Field, len(fs))
	for i := range fs {
		out[i] = h2.Field{Name: fs[i].Name, Value: fs[i].Value}
	}
	return out
}

func (s *h2Session) logStream(st *h2Stream) {
	env := s.env
	rec := &st.rec
	rec.Total = env.Now().Sub(rec.Start)
	clusterID := ""
	if st.cl != nil {
		clusterID = st.cl.ID
	}
	env.Metrics.Requests(env.Listener, clusterID).Observe(rec.Status, rec.Total)
	if env.AccessLog != nil {
		rec.Session = s.id
		rec.Listener = env.Listener
		rec.Client = s.info.Client
		if t := s.info.TLS; t != nil {
			rec.TLSVersion, rec.TLSCipher, rec.SNI = t.Version, t.Cipher, t.SNI
		}
		env.AccessLog.Log(rec)
	}
}

// maybeRelease frees a stream once both the engine and the exchange are
// done with it.
//
// Invariant (DESIGN.md 4.3): a stream is never released while anything
// still refers to it: the engine (hs), a running exchange, the pending
// link list or the waiting-writers list.
func (s *h2Session) maybeRelease(st *h2Stream) {
	if st.hs != nil || !st.finished || st.running || st.inPending {
		return
	}
	if st.inWaiting {
		for i, w := range s.waiting {
			if w == st {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				break
			}
		}
		st.inWaiting = false
	}
	if st.body != nil {
		// DATA pushed into the pipe of a stream reset before its
		// exchange ran was never consumed: its connection-level credit
		// comes back now, or every such reset would shrink the client's
		// connection window for good (and a MadeYouReset loop would
		// close it).
		if n := st.body.close(); n > 0 {
			s.conn.Consume(nil, n)
		}
		st.body = nil
	}
	s.live--
	s.env.Metrics.H2StreamsActive.Dec()
	st.reset()
	streamPool.Put(st)
}

var streamPool = sync.Pool{New: func() any {
	st := &h2Stream{}
	st.cond.L = &st.mu
	return st
}}

func (s *h2Session) newStream(hs *h2.Stream) *h2Stream {
	st := streamPool.Get().(*h2Stream)
	st.sess = s
	st.hs = hs
	st.id = hs.ID()
	hs.App = st
	return st
}

// wakeWriters recomputes, after a write pass, how many response bytes each
// stream still holds in sluice, and lets exchanges blocked on that credit
// continue once the engine has sent enough.
func (s *h2Session) wakeWriters() {
	keep := s.waiting[:0]
	for _, st := range s.waiting {
		queued := 0
		if st.hs != nil {
			queued = st.hs.Queued()
		}
		st.mu.Lock()
		buffered := 0
		for _, ch := range st.chunks {
			buffered += len(ch.B)
		}
		st.outstanding = queued + buffered
		if st.outstanding < maxOutstanding/2 || st.gone || st.hs == nil {
			st.cond.Broadcast()
		}
		if st.outstanding > 0 && !st.gone && st.hs != nil {
			keep = append(keep, st)
		} else {
			st.inWaiting = false
		}
		st.mu.Unlock()
	}
	for i := len(keep); i < len(s.waiting); i++ {
		s.waiting[i] = nil
	}
	s.waiting = keep
}

// backProto names a backend's protocol for the access log.
func backProto(b *backend.Backend) string {
	switch b.Protocol() {
	case backend.H2C:
		return "h2c"
	case backend.H2:
		return "h2"
	}
	return "http/1.1"
}
