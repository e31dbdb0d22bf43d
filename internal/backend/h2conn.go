package backend

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/mailbox"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// h2Conn is one multiplexed HTTP/2 connection to a backend, shared by the
// exchanges of every session. It runs the same engine as the frontend, in
// client position: the backend is not trusted more than a client.
//
// Ownership: like a frontend session, the connection's state has one
// owner goroutine (started on demand by the mailbox, parked when idle); a
// reader goroutine feeds it bytes; exchanges talk to it only by posting
// events and through their call's guarded hand-off fields. The pool's
// accounting fields (active, capacity, retiring, dead) are guarded by
// pool.mu.
type h2Conn struct {
	pool *h2Pool
	nc   net.Conn
	conn *h2.Conn
	mb   *mailbox.Box[h2ev]

	events  []h2ev
	waiting []*h2Call     // calls whose upload waits for the engine to send
	calls   int           // calls opened on the engine and not finished
	ready   chan struct{} // closed when the backend's SETTINGS arrived
	rsem    chan struct{} // read buffers in the owner's hands
	timer   Timer         // a *time.Timer, or the simulator's
	timerAt time.Time
	ended   bool
	endErr  error
	goAway  bool        // the backend sent GOAWAY
	counted atomic.Bool // opened and counted in the pool gauge
	pingRTT time.Duration

	// guarded by pool.mu
	active   int  // calls placed on this connection (reserved or open)
	capacity int  // streams the peer allows at once
	retiring bool // no new calls: GOAWAY, ids exhausted, or dead
	dead     bool // closed
}

type h2evKind uint8

const (
	h2evRead   h2evKind = iota // bytes from the backend (or a read error)
	h2evOpen                   // a call wants its stream opened
	h2evUpload                 // a call queued request body
	h2evCredit                 // a call consumed response body
	h2evCancel                 // a call gave up (client gone, timeout)
	h2evTimer                  // health check / engine timers
	h2evClose                  // the pool closes the connection
)

// h2evQueues holds the event slices of parked backend connections.
var h2evQueues = bufpool.Slices[h2ev]{MaxCap: 256}

type h2ev struct {
	kind h2evKind
	buf  *buffer
	n    int
	err  error
	call *h2Call
}

// h2 connection health (DESIGN.md 3.5): a connection from which nothing
// arrived for readIdle gets a PING; no ACK within pingTimeout and it is
// declared dead, so a black-holed backend cannot swallow requests.
const (
	defaultReadIdle    = 10 * time.Second
	defaultPingTimeout = 5 * time.Second
)

func newH2Conn(p *h2Pool, nc net.Conn) *h2Conn {
	hc := &h2Conn{pool: p, nc: nc, ready: make(chan struct{}), rsem: make(chan struct{}, 2), capacity: 1}
	owner := hc.run
	if p.b.sim != nil {
		owner = nil // the simulator runs the owner's turns itself
	}
	hc.mb = mailbox.New[h2ev](owner, &h2evQueues)
	hc.mb.Claim()
	cfg := p.h2cfg
	cfg.Role = h2.Client
	var obs h2.Observer
	if p.b.m != nil {
		obs = h2Observer{m: p.b.m}
	}
	hc.conn = h2.NewConn(cfg, hc, obs, p.b.now)
	onTimer := func() { hc.mb.Post(h2ev{kind: h2evTimer}) }
	if sim := p.b.sim; sim != nil {
		hc.timer = sim.AfterFunc(time.Hour, onTimer)
	} else {
		hc.timer = time.AfterFunc(time.Hour, onTimer)
	}
	hc.timer.Stop()
	return hc
}

// start sends the preface and begins serving; the caller then waits on
// hc.ready for the backend's SETTINGS.
func (hc *h2Conn) start() {
	hc.conn.Start()
	go hc.reader()
	hc.run()
}

// Timer is a connection timer: a *time.Timer, or the simulator's.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// reader feeds backend bytes to the owner, two buffers at most in flight
// (the owner returns each after Feed).
func (hc *h2Conn) reader() {
	for {
		hc.rsem <- struct{}{}
		b := getBuf()
		n, err := hc.nc.Read(b.b)
		if !hc.mb.Post(h2ev{kind: h2evRead, buf: b, n: n, err: err}) {
			putBuf(b)
			return
		}
		if err != nil {
			return
		}
	}
}

// run is the owner's body; it returns when the connection ended or the
// owner parked.
func (hc *h2Conn) run() {
	for hc.turn() == turnWait {
		<-hc.mb.Wake()
	}
}

// turnResult is what the owner does after a turn.
type turnResult uint8

const (
	turnWait   turnResult = iota // wait for the next post
	turnParked                   // parked: the next post starts a new owner
	turnEnded                    // the connection is over
)

// turn is one pass of the owner: handle what was posted, write, publish
// room to the pool, arm the timer, park when idle. It never blocks but on
// the socket write, so the simulator runs the very same pass as a step.
func (hc *h2Conn) turn() turnResult {
	hc.handleQueued()
	if hc.calls > 0 && !hc.ended && hc.pool.b.sim == nil {
		// Let the exchanges that are ready post their requests
		// (and credits) before writing, so many streams leave in
		// one write instead of one write each: this goroutine,
		// woken by the first post, would otherwise run before the
		// others could post.
		runtime.Gosched()
		hc.handleQueued()
	}
	if hc.ended {
		hc.finish()
		return turnEnded
	}
	if !hc.write() {
		hc.end(errBackendConnLost)
		hc.finish()
		return turnEnded
	}
	hc.syncPool()
	if hc.conn.ShouldClose() || hc.closeWhenIdle() {
		hc.end(errBackendConnLost)
		hc.finish()
		return turnEnded
	}
	hc.armTimer()
	if hc.calls == 0 && len(hc.conn.Pending()) == 0 {
		hc.conn.Trim()
		h2evQueues.Put(hc.events)
		hc.events = nil
		if hc.mb.Park() {
			return turnParked
		}
	}
	return turnWait
}

// handleQueued handles every event posted so far.
func (hc *h2Conn) handleQueued() {
	hc.events = hc.mb.Take(hc.events)
	for i := range hc.events {
		hc.handle(&hc.events[i])
		hc.events[i] = h2ev{}
	}
}

func (hc *h2Conn) handle(e *h2ev) {
	switch e.kind {
	case h2evRead:
		if e.n > 0 {
			if err := hc.conn.Feed(e.buf.b[:e.n]); err != nil {
				hc.writeNow()
				hc.end(err)
			}
			if hc.conn.PeerSettingsSeen() {
				select {
				case <-hc.ready:
				default:
					close(hc.ready)
				}
			}
		}
		putBuf(e.buf)
		<-hc.rsem
		if e.err != nil {
			hc.end(e.err)
		}
	case h2evOpen:
		hc.open(e.call)
		e.call.unref()
	case h2evUpload:
		hc.upload(e.call)
		e.call.unref()
	case h2evCredit:
		// Credit comes back even after the stream closed: the bytes
		// still count against the connection window (Consume with a nil
		// stream returns connection-level credit only).
		c := e.call
		c.mu.Lock()
		n := c.consumed
		c.consumed = 0
		c.creditPosted = false
		c.mu.Unlock()
		hc.conn.Consume(c.hs, n)
		c.unref()
	case h2evCancel:
		if c := e.call; c.hs != nil && !c.hs.Closed() {
			hc.conn.Reset(c.hs, frame.Cancel)
		}
		e.call.unref()
	case h2evTimer:
		hc.timerAt = time.Time{}
		hc.health()
		if err := hc.conn.Tick(); err != nil {
			hc.writeNow()
			hc.end(err)
		}
	case h2evClose:
		hc.conn.GoAway(frame.NoError, nil)
		hc.writeNow()
		hc.end(errBackendConnLost)
	}
}

// open puts a call's request on the wire, or fails it as not processed.
func (hc *h2Conn) open(c *h2Call) {
	if hc.ended {
		c.fail(errBackendConnLost, true)
		return
	}
	hs, err := hc.conn.OpenStream(c.fields, c.noBody)
	if err != nil {
		// Nothing was sent: another connection may take it.
		c.fail(err, true)
		return
	}
	hs.App = c
	hs.SetIdleTimeout(c.idle)
	c.hs = hs
	c.ref() // the stream's: dropped in OnClosed
	hc.calls++
	c.mu.Lock()
	c.opened = true
	c.mu.Unlock()
	hc.upload(c)
}

// upload moves the request body a call queued into the engine, which
// sends it as the backend's windows allow.
func (hc *h2Conn) upload(c *h2Call) {
	hs := c.hs
	if hs == nil {
		return
	}
	c.mu.Lock()
	chunks := c.upQ
	c.upQ = c.upQ[len(c.upQ):]
	end, trailers := c.upEnd && !c.upEndSent, c.upTrailers
	if end {
		c.upEndSent = true
	}
	c.mu.Unlock()
	for _, ch := range chunks {
		hc.conn.QueueData(hs, ch)
	}
	if end {
		if len(trailers) > 0 {
			hc.conn.WriteTrailers(hs, trailers)
		} else {
			hc.conn.EndStream(hs)
		}
	}
	if !c.inWaiting {
		c.inWaiting = true
		c.ref() // hc.waiting's: dropped when it leaves the list
		hc.waiting = append(hc.waiting, c)
	}
}

// write runs the engine's write passes and writes their output.
func (hc *h2Conn) write() bool {
	for {
		hc.conn.Produce()
		hc.wakeUploaders()
		out := hc.conn.Pending()
		if len(out) == 0 {
			return true
		}
		hc.nc.SetWriteDeadline(hc.pool.b.now().Add(hc.pool.writeTimeout))
		n, err := hc.nc.Write(out)
		hc.conn.Written(n)
		if err != nil {
			return false
		}
	}
}

func (hc *h2Conn) writeNow() {
	if out := hc.conn.Pending(); len(out) > 0 {
		hc.nc.SetWriteDeadline(hc.pool.b.now().Add(time.Second))
		n, _ := hc.nc.Write(out)
		hc.conn.Written(n)
	}
}

// wakeUploaders lets uploads continue once the engine sent what they
// queued (the per-call bound on request bytes held in sluice).
func (hc *h2Conn) wakeUploaders() {
	keep := hc.waiting[:0]
	for _, c := range hc.waiting {
		queued := 0
		if c.hs != nil {
			queued = c.hs.Queued()
		}
		c.mu.Lock()
		pending := queued
		for _, ch := range c.upQ {
			pending += len(ch.Unread())
		}
		c.upOutstanding = pending
		if pending < maxUploadOutstanding/2 || c.hs == nil {
			c.signalUploadLocked()
		}
		left := !(pending > 0 && c.hs != nil)
		if left {
			c.inWaiting = false
		} else {
			keep = append(keep, c)
		}
		c.mu.Unlock()
		if left {
			c.unref()
		}
	}
	for i := len(keep); i < len(hc.waiting); i++ {
		hc.waiting[i] = nil
	}
	hc.waiting = keep
}

// health sends a PING when the backend has been silent for the read-idle
// time, and declares the connection dead when the PING goes unanswered.
func (hc *h2Conn) health() {
	now := hc.pool.b.now()
	if out, since := hc.conn.PingOutstanding(); out {
		if now.Sub(since) >= hc.pool.pingTimeout {
			hc.pool.b.MarkDown() // black-holed: take it out of rotation
			hc.end(errBackendUnresponsive)
		}
		return
	}
	if rtt := hc.conn.PingRTT(); rtt != hc.pingRTT {
		hc.pingRTT = rtt
		if m := hc.pool.b.m; m != nil {
			m.PingRTT.Set(rtt.Seconds())
		}
	}
	last := hc.conn.LastFrameIn()
	if last.IsZero() || now.Sub(last) >= hc.pool.readIdle {
		hc.conn.Ping()
	}
}

func (hc *h2Conn) armTimer() {
	now := hc.pool.b.now()
	d := hc.conn.NextDeadline()
	hd := now.Add(hc.pool.readIdle)
	if last := hc.conn.LastFrameIn(); !last.IsZero() {
		hd = last.Add(hc.pool.readIdle)
	}
	if out, since := hc.conn.PingOutstanding(); out {
		hd = since.Add(hc.pool.pingTimeout)
	}
	if d.IsZero() || hd.Before(d) {
		d = hd
	}
	if d.Equal(hc.timerAt) {
		return
	}
	hc.timerAt = d
	if d.IsZero() {
		hc.timer.Stop()
		return
	}
	hc.timer.Reset(max(d.Sub(now), time.Millisecond))
}

// syncPool publishes the engine's view (room, retirement) to the pool.
func (hc *h2Conn) syncPool() {
	p := hc.pool
	capacity := hc.conn.MaxOpenable() + hc.calls
	retiring := hc.conn.Retiring()
	p.mu.Lock()
	changed := capacity != hc.capacity || retiring != hc.retiring
	hc.capacity, hc.retiring = capacity, hc.retiring || retiring
	p.mu.Unlock()
	if changed {
		p.signal()
	}
}

// closeWhenIdle reports whether a retiring connection has no call left.
func (hc *h2Conn) closeWhenIdle() bool {
	p := hc.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	return hc.retiring && hc.active == 0 && hc.calls == 0
}

// end marks the connection over; finish does the work on the owner.
func (hc *h2Conn) end(err error) {
	if !hc.ended {
		hc.ended = true
		hc.endErr = err
	}
}

// closeReason names why a connection closed, for the metric.
func (hc *h2Conn) closeReason() string {
	switch {
	case hc.endErr == errBackendUnresponsive:
		return "ping_timeout"
	case hc.goAway:
		return "goaway"
	case hc.conn.Retiring():
		return "retired"
	case hc.endErr == errBackendConnLost:
		return "idle_or_closed"
	}
	return "error"
}

// finish closes the socket and fails every call still on the connection.
func (hc *h2Conn) finish() {
	hc.timer.Stop()
	hc.nc.Close()
	hc.conn.Close() // OnClosed for every open stream: their calls fail
	for _, e := range hc.mb.Close() {
		switch e.kind {
		case h2evRead:
			putBuf(e.buf)
		case h2evOpen:
			e.call.fail(errBackendConnLost, true)
		}
		if e.call != nil {
			e.call.unref()
		}
	}
	for i, c := range hc.waiting {
		c.inWaiting = false
		hc.waiting[i] = nil
		c.unref()
	}
	hc.waiting = hc.waiting[:0]
	// Let a reader blocked on its buffer budget run into the closed
	// socket and exit.
	for len(hc.rsem) > 0 {
		<-hc.rsem
	}
	if m := hc.pool.b.m; m != nil && hc.counted.Load() {
		m.H2Conns.Dec()
		m.H2ConnEvent("closed", hc.closeReason())
	}
	hc.pool.remove(hc)
}

// The engine's callbacks (owner goroutine).

func (hc *h2Conn) OnRequest(*h2.Stream, *h2.Request) {
	panic("backend: internal error: a backend opened a stream")
}

func (hc *h2Conn) OnResponse(hs *h2.Stream, resp *h2.Response) {
	c := hs.App.(*h2Call)
	c.mu.Lock()
	defer c.mu.Unlock()
	if resp.Status < 200 {
		rh := respHead{status: resp.Status, cl: resp.ContentLength}
		rh.store, rh.fields = copyH2Fields(nil, nil, resp.Fields)
		c.infos = append(c.infos, rh)
	} else {
		// The final head is copied once per call, into storage the call
		// keeps across its reuses.
		rh := &c.headBuf
		rh.status, rh.cl = resp.Status, resp.ContentLength
		rh.store, rh.fields = copyH2Fields(rh.store[:0], rh.fields[:0], resp.Fields)
		c.head = rh
		if resp.EndStream {
			c.respEnd = true
		}
	}
	c.signalLocked()
}

func (hc *h2Conn) OnData(hs *h2.Stream, p []byte, end bool) {
	c := hs.App.(*h2Call)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		// Nobody reads this response any more: give the window back.
		hc.conn.Consume(hs, len(p))
		return
	}
	c.respQ = bufpool.AppendBytes(c.respQ, p)
	if end {
		c.respEnd = true
	}
	c.signalLocked()
}

func (hc *h2Conn) OnTrailers(hs *h2.Stream, fields []h2.Field) {
	c := hs.App.(*h2Call)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trStore, c.trailers = copyH2Fields(c.trStore[:0], c.trailers[:0], fields)
	c.respEnd = true
	c.signalLocked()
}

// OnClosed: the stream is over. A response that ended (END_STREAM) is
// complete even when a RST_STREAM(NO_ERROR) follows (RFC 9113 8.1: the
// server stops reading the request body); anything else is a failure the
// exchange reports, marked "not processed" when the backend refused the
// stream or it was above a GOAWAY's last stream id.
func (hc *h2Conn) OnClosed(hs *h2.Stream) {
	c, _ := hs.App.(*h2Call)
	hs.App = nil
	// hs may be reused by any connection once released: read it first.
	defer hc.conn.Release(hs)
	if c == nil {
		return
	}
	c.hs = nil
	hc.calls--
	code := hs.CloseCode()
	c.mu.Lock()
	c.closed = true
	c.signalUploadLocked()
	if !c.respEnd {
		notProcessed := code == frame.RefusedStream && hs.ResetByPeer() || code == frame.RefusedStream && !c.headSeen()
		c.err = &streamResetError{code: code, byPeer: hs.ResetByPeer(), notProcessed: notProcessed, reaped: hs.ReapReason()}
	}
	c.signalLocked()
	c.mu.Unlock()
	c.unref()
}

func (hc *h2Conn) OnGoAway(last h2.StreamID, code h2.ErrCode, debug []byte) {
	p := hc.pool
	p.mu.Lock()
	hc.retiring = true
	p.mu.Unlock()
	hc.goAway = true
	p.goAways.Add(1)
	if m := p.b.m; m != nil {
		m.H2GoAway.Inc()
	}
	p.signal()
}

// copyH2Fields copies fields into a store and classifies their names.
func copyH2Fields(store []byte, out []h1.Field, fields []h2.Field) ([]byte, []h1.Field) {
	type span struct{ n, v int }
	var spans [64]span
	sp := spans[:0]
	for i := range fields {
		store = append(store, fields[i].Name...)
		store = append(store, fields[i].Value...)
		sp = append(sp, span{len(fields[i].Name), len(fields[i].Value)})
	}
	off := 0
	for _, s := range sp {
		name := store[off : off+s.n : off+s.n]
		out = append(out, h1.Field{Name: name, Value: store[off+s.n : off+s.n+s.v : off+s.n+s.v], Kind: h1.ClassifyName(name)})
		off += s.n + s.v
	}
	return store, out
}

// respHead is a response head copied out of the engine.
type respHead struct {
	status int
	cl     int64
	store  []byte
	fields []h1.Field
}

// maxUploadOutstanding bounds the request bytes one call may have in
// sluice (taken from the client, not yet sent to the backend).
const maxUploadOutstanding = 64 << 10

// h2Call is one exchange on an HTTP/2 backend connection: the request the
// exchange built, and the hand-off buffers in both directions.
//
// Ownership: fields/noBody are written by the exchange before the open
// event and read-only after; hs belongs to the connection's owner; the
// rest is guarded by mu.
type h2Call struct {
	hc     *h2Conn
	fields []h2.Field
	store  []byte
	noBody bool
	idle   time.Duration // Timeouts.StreamIdle: the upload's stall deadline

	hs        *h2.Stream // owner only
	inWaiting bool       // owner only: in hc.waiting

	// refs counts who may still touch the call: the exchange, each
	// queued event naming it, its open stream, hc.waiting. The last
	// unref recycles it (h2Calls), with its buffers and channels.
	refs atomic.Int32

	timer  *time.Timer  // the exchange's response timeout (stopped between uses)
	rh     ResponseHead // what the exchange hands to its writer
	mu     sync.Mutex
	notify chan struct{} // capacity 1: something changed

	// upload: exchange -> owner
	upQ           []*bufpool.Chunk
	upEnd         bool
	upEndSent     bool
	upTrailers    []h2.Field
	upOutstanding int
	upTotal       int64
	upNotify      chan struct{} // capacity 1: upload budget freed

	// upload: the uploader's own (uploadStep)
	upPiece []byte // the part of the body's last piece not queued yet
	upTaken bool   // a piece is in hand
	upEOF   bool   // it was the last

	// response: owner -> exchange
	opened       bool
	infos        []respHead
	head         *respHead
	respQ        []*bufpool.Chunk
	respSpare    []*bufpool.Chunk // the exchange's emptied respQ, swapped back in
	headBuf      respHead         // storage of head
	respEnd      bool
	trailers     []h1.Field
	trStore      []byte
	closed       bool
	err          error
	consumed     int  // response bytes the exchange is done with, credit not yet returned
	creditPosted bool // an h2evCredit is queued
	gone         bool // the exchange returned: response bytes are discarded
}

func (c *h2Call) headSeen() bool { return c.head != nil }

var h2Calls sync.Pool

// newH2Call returns a call on hc, recycled when one is free, holding the
// exchange's reference.
func newH2Call(hc *h2Conn, t Timeouts) *h2Call {
	c, _ := h2Calls.Get().(*h2Call)
	if c == nil {
		c = &h2Call{notify: make(chan struct{}, 1), upNotify: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
		c.timer.Stop()
	}
	c.hc, c.idle = hc, t.StreamIdle
	c.refs.Store(1)
	return c
}

func (c *h2Call) ref() { c.refs.Add(1) }

// unref drops a reference; the last one recycles the call.
func (c *h2Call) unref() {
	switch n := c.refs.Add(-1); {
	case n == 0:
		c.recycle()
	case n < 0:
		panic("backend: h2Call reference count below zero")
	}
}

// post hands the owner an event naming the call (which holds a reference
// until the owner handled it). False: the connection is gone.
func (c *h2Call) post(kind h2evKind) bool {
	c.ref()
	if !c.hc.mb.Post(h2ev{kind: kind, call: c}) {
		c.unref()
		return false
	}
	return true
}

// recycle resets the call for its next exchange, keeping its storage.
func (c *h2Call) recycle() {
	freeChunks(c.upQ)
	freeChunks(c.respQ)
	select {
	case <-c.notify:
	default:
	}
	select {
	case <-c.upNotify:
	default:
	}
	clear(c.upQ)
	clear(c.respQ)
	clear(c.respSpare)
	clear(c.fields)
	*c = h2Call{
		fields: c.fields[:0], store: c.store[:0],
		timer: c.timer, notify: c.notify, upNotify: c.upNotify,
		upQ: c.upQ[:0], respQ: c.respQ[:0], respSpare: c.respSpare[:0],
		headBuf:  respHead{store: c.headBuf.store[:0], fields: c.headBuf.fields[:0]},
		trailers: c.trailers[:0], trStore: c.trStore[:0],
	}
	h2Calls.Put(c)
}

// signalLocked wakes the exchange waiting on the call's response.
func (c *h2Call) signalLocked() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// signalUploadLocked wakes the upload waiting for budget.
func (c *h2Call) signalUploadLocked() {
	select {
	case c.upNotify <- struct{}{}:
	default:
	}
}

// fail ends a call that never got (or lost) its stream.
func (c *h2Call) fail(err error, notProcessed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.err = &streamResetError{code: frame.RefusedStream, notProcessed: notProcessed, cause: err}
	c.signalLocked()
	c.signalUploadLocked()
}

// Close implements io.Closer for backend.Cancel: the client side is gone,
// reset the backend stream (RST_STREAM CANCEL).
func (c *h2Call) Close() error {
	c.post(h2evCancel)
	return nil
}

// streamResetError is how an HTTP/2 backend stream failed.
type streamResetError struct {
	code         h2.ErrCode
	byPeer       bool   // the backend reset it
	notProcessed bool   // the backend never processed it: safe to retry anywhere
	reaped       string // an engine reaper reset it
	cause        error
}

func (e *streamResetError) Error() string {
	s := "backend stream reset: " + e.code.String()
	if e.byPeer {
		s += " by backend"
	}
	if e.reaped != "" {
		s += " (" + e.reaped + ")"
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// h2Observer counts what an operator needs of the engine's reports on a
// backend connection: streams the reapers reset (a backend that stalls a
// window or goes silent mid-stream) and flood defences the backend
// tripped. Frames and codes are counted for client connections only.
type h2Observer struct {
	h2.NopObserver
	m *metrics.BackendSet
}

func (o h2Observer) Reaped(reason string)    { o.m.H2Reaped(reason) }
func (o h2Observer) Flood(kind h2.FloodKind) { o.m.H2Flood(string(kind)) }
