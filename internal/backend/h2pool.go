package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/h2"
)

// h2Pool holds one backend's multiplexed HTTP/2 connections, shared by
// every session. A call goes to the least-loaded connection that has a
// stream slot under the backend's MAX_CONCURRENT_STREAMS; a new connection
// is opened only when every one is full (bounded by maxConns), and one at
// a time, so a burst opens ceil(concurrency / MCS) connections, not one
// per request. A connection that received GOAWAY, ran out of stream ids or
// failed its health check takes no new calls and closes when empty.
type h2Pool struct {
	b            *Backend
	tls          *tls.Config // nil: h2c (prior knowledge)
	maxConns     int
	h2cfg        h2.Config
	readIdle     time.Duration
	pingTimeout  time.Duration
	writeTimeout time.Duration

	mu      sync.Mutex
	conns   []*h2Conn
	dialing bool
	changed chan struct{} // closed and replaced when a slot may have freed
	waiters int           // callers waiting on changed

	goAways atomic.Int64
	opened  atomic.Int64
}

// H2Options configure a backend's HTTP/2 pool.
type H2Options struct {
	TLS         *tls.Config // nil: h2c; else TLS with ALPN h2
	MaxConns    int         // connections per backend (default 4)
	ReadIdle    time.Duration
	PingTimeout time.Duration
	Engine      h2.Config // stream window, flood limits... (Role is set here)
}

func (p *h2Pool) init(b *Backend, o H2Options) {
	p.b = b
	p.tls = o.TLS
	if p.tls != nil && p.tls.ServerName == "" {
		// Verify the backend under the name in its address, like a
		// browser would, unless backend_tls_server_name says otherwise.
		p.tls = p.tls.Clone()
		if host, _, err := net.SplitHostPort(b.Address); err == nil {
			p.tls.ServerName = host
		}
	}
	p.maxConns = o.MaxConns
	if p.maxConns <= 0 {
		p.maxConns = 4
	}
	p.h2cfg = o.Engine
	p.readIdle, p.pingTimeout = o.ReadIdle, o.PingTimeout
	if p.readIdle <= 0 {
		p.readIdle = defaultReadIdle
	}
	if p.pingTimeout <= 0 {
		p.pingTimeout = defaultPingTimeout
	}
	p.writeTimeout = 30 * time.Second
	p.changed = make(chan struct{})
}

var (
	errBackendConnLost     = errors.New("backend connection lost")
	errBackendUnresponsive = errors.New("backend did not answer a PING in time")
	errNoSlot              = errors.New("no HTTP/2 stream slot to the backend in time")
)

// signal wakes callers waiting for a slot or a connection. With nobody
// waiting (the common case) it costs no new channel.
func (p *h2Pool) signal() {
	p.mu.Lock()
	if p.waiters > 0 {
		close(p.changed)
		p.changed = make(chan struct{})
	}
	p.mu.Unlock()
}

// acquire places a call on a connection, dialing one when all are full.
func (p *h2Pool) acquire(t Timeouts, cancel *Cancel) (*h2Conn, error) {
	deadline := p.b.now().Add(t.Connect)
	for {
		hc, dial, wait := p.tryAcquire(true)
		if hc != nil {
			return hc, nil
		}
		if dial {
			hc, err := p.dial(t.Connect)
			p.dialed(hc, err)
			return hc, err
		}
		left := deadline.Sub(p.b.now())
		if left <= 0 || cancel.Cancelled() {
			p.unwait()
			return nil, errNoSlot
		}
		timer := time.NewTimer(left)
		select {
		case <-wait:
		case <-timer.C:
		}
		timer.Stop()
		p.unwait()
	}
}

// tryAcquire places a call on the least-loaded connection with a free
// stream slot. Failing that it returns dial when the caller is to open a
// connection (and report it to dialed), or else, with register, the
// channel closed when a slot may have freed (the caller then unwaits).
// One check under one lock: a slot freed after it signals the channel.
func (p *h2Pool) tryAcquire(register bool) (hc *h2Conn, dial bool, wait chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *h2Conn
	open := 0
	for _, c := range p.conns {
		if c.retiring || c.dead {
			continue
		}
		open++
		if c.active >= c.capacity {
			continue
		}
		if best == nil || c.active < best.active {
			best = c
		}
	}
	if best != nil {
		best.active++
		return best, false, nil
	}
	if !p.dialing && open < p.maxConns {
		p.dialing = true
		return nil, true, nil
	}
	if register {
		p.waiters++
		wait = p.changed
	}
	return nil, false, wait
}

// dialed ends a dial tryAcquire asked for: the new connection takes the
// call that dialed it.
func (p *h2Pool) dialed(hc *h2Conn, err error) {
	p.mu.Lock()
	p.dialing = false
	if err == nil {
		hc.active++
		p.conns = append(p.conns, hc)
	}
	p.mu.Unlock()
	p.signal()
}

func (p *h2Pool) unwait() {
	p.mu.Lock()
	p.waiters--
	p.mu.Unlock()
}

// release returns a call's slot.
func (p *h2Pool) release(hc *h2Conn) {
	p.mu.Lock()
	hc.active--
	closeIt := hc.retiring && hc.active == 0
	p.mu.Unlock()
	if closeIt {
		hc.mb.Post(h2ev{kind: h2evTimer}) // the owner sees it is empty and retiring
	}
	p.signal()
}

// remove forgets a connection that ended.
func (p *h2Pool) remove(hc *h2Conn) {
	p.mu.Lock()
	hc.dead = true
	for i, c := range p.conns {
		if c == hc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	p.signal()
}

// dial opens a connection and completes the HTTP/2 handshake (the
// backend's SETTINGS) within the connect timeout: a backend that accepts
// TCP but never speaks counts as a connect failure.
func (p *h2Pool) dial(timeout time.Duration) (*h2Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.b.Address)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		tc := tls.Client(nc, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			tc.Close()
			return nil, errors.New("backend did not negotiate h2 over ALPN")
		}
		nc = tc
	}
	hc := newH2Conn(p, nc)
	go hc.start()
	select {
	case <-hc.ready:
		p.count(hc)
		return hc, nil
	case <-ctx.Done():
		hc.mb.Post(h2ev{kind: h2evClose})
		return nil, context.DeadlineExceeded
	}
}

// count counts an opened connection in the pool's gauge.
func (p *h2Pool) count(hc *h2Conn) {
	p.opened.Add(1)
	hc.counted.Store(true)
	if m := p.b.m; m != nil {
		m.H2Conns.Inc()
		m.H2ConnEvent("opened", "demand")
	}
}

// Conns returns the number of open connections (tests, metrics).
func (p *h2Pool) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// closeAll closes every connection (retirement, shutdown).
func (p *h2Pool) closeAll() {
	p.mu.Lock()
	conns := append([]*h2Conn(nil), p.conns...)
	for _, hc := range conns {
		hc.retiring = true
	}
	p.mu.Unlock()
	for _, hc := range conns {
		hc.mb.Post(h2ev{kind: h2evTimer})
	}
}

// exchange runs one request over HTTP/2. It reports notProcessed errors
// (refused stream, above a GOAWAY's last id, no connection) so the caller
// can retry elsewhere.
func (p *h2Pool) exchange(req *Request, body Body, w ResponseWriter, t Timeouts, res *Result, replay *replayBuffer) error {
	start := p.b.now()
	hc, err := p.acquire(t, req.Cancel)
	res.ConnectTime += p.b.now().Sub(start)
	if err != nil {
		return acquireError(err)
	}
	var x h2Exchange
	if err := p.begin(&x, hc, req, body, t); err != nil {
		return err
	}
	c := x.c
	var up chan error
	if !c.noBody {
		up = make(chan error, 1)
		go func() { up <- c.uploadBody(body, replay, t) }()
	}
	err = c.receive(w, t, res, x.sentAt)
	if up != nil {
		var uerr error
		aborted := false
		select {
		case uerr = <-up:
		default:
			// Still uploading: the response ended first (or failed). The
			// rest of the body is not wanted; stop reading it.
			body.Abort()
			aborted = true
			uerr = <-up
		}
		x.uploaded(err, uerr, aborted, res, replay)
	}
	x.end(true)
	return err
}

// acquireError is an attempt's error when no stream could be had. A
// failed dial is a connect failure (retried elsewhere, the backend marked
// down); no free stream slot in time is not: the backend is up and busy
// at its MAX_CONCURRENT_STREAMS, and marking it down turned a saturated
// backend into a 503 for every request during the backoff (seen in the
// simulator, seed 9). It is answered 503, without a retry that would
// wait for the same slots again.
func acquireError(err error) error {
	if err == errNoSlot {
		return &staleConnError{e: &Error{Status: 503, Message: accesslog.MsgNoBackend, Err: err}}
	}
	return &staleConnError{e: dialError(err), notProcessed: true}
}

// h2Exchange is one attempt on an HTTP/2 pool from the call placed on a
// connection to its end. exchange runs it with goroutines that block
// between steps; the simulator's SimTrip runs the same steps one at a time.
type h2Exchange struct {
	p      *h2Pool
	hc     *h2Conn
	c      *h2Call
	req    *Request
	sentAt time.Time
}

// begin opens a call on hc (where acquire placed it) and posts its
// request to the connection's owner.
func (p *h2Pool) begin(x *h2Exchange, hc *h2Conn, req *Request, body Body, t Timeouts) error {
	x.p, x.hc, x.req = p, hc, req
	if m := p.b.m; m != nil {
		m.H2Streams.Inc()
	}
	c := newH2Call(hc, t)
	x.c = c
	c.fields, c.store = buildH2Request(c.fields[:0], c.store[:0], req, p.tls != nil)
	c.noBody = !req.HasBody || body == nil
	if !req.Cancel.attach(c) {
		x.end(false)
		return ErrClientGone
	}
	x.sentAt = p.b.now()
	if !c.post(h2evOpen) {
		c.fail(errBackendConnLost, true) // the connection ended meanwhile
	}
	return nil
}

// uploaded accounts for the request body once the upload ended (aborted:
// the response ended first and the rest of the body was refused).
func (x *h2Exchange) uploaded(err, uerr error, aborted bool, res *Result, replay *replayBuffer) {
	if (aborted || uerr != nil) && replay != nil && replay.replays == 0 {
		// An unfinished body cannot be replayed: the recording holds
		// only its start. The upload fails on its own when the stream
		// closed under it (refused, GOAWAY) before the exchange saw it;
		// replaying then sent a truncated body as whole (seen in the
		// simulator, seed 3). A replay's recording is whole, whatever
		// became of this attempt's upload.
		replay.overflow = true
	}
	if err == nil && uerr != nil {
		res.BodyIncomplete = true
	}
	res.BytesIn += x.c.upSent()
}

// end gives back what the attempt held: the call (after Cancel can no
// longer reach it) and its slot on the connection.
func (x *h2Exchange) end(attached bool) {
	if attached {
		x.c.release()
		x.req.Cancel.detach()
	}
	x.c.unref()
	if m := x.p.b.m; m != nil {
		m.H2Streams.Dec()
	}
	x.p.release(x.hc)
}

// buildH2Request serializes the request for an HTTP/2 backend: the
// pseudo-fields, then the end-to-end fields with lowercase names (hop-by-
// hop ones dropped, RFC 9113 8.2.2, except "te: trailers" which gRPC
// needs), and the X-Forwarded-* / Forwarded fields of this hop.
func buildH2Request(fields []h2.Field, store []byte, r *Request, tlsBackend bool) ([]h2.Field, []byte) {
	// Build everything in store first, then slice it: store may grow.
	type span struct{ n, v int }
	var spans [80]span
	sp := spans[:0]
	add := func(name string, value []byte) {
		store = append(store, name...)
		store = append(store, value...)
		sp = append(sp, span{len(name), len(value)})
	}
	add(":method", r.Method)
	add(":scheme", r.Scheme)
	add(":authority", r.Authority)
	add(":path", r.Path)
	if r.TETrailers {
		add("te", trailersValue)
	}
	xff := len(store)
	for i := range r.Fields {
		f := &r.Fields[i]
		switch f.Kind {
		case h1.KindHost, h1.KindContentLength, h1.KindXForwardedProto, h1.KindXForwardedHost, h1.KindXForwardedFor, h1.KindForwarded:
			continue
		}
		if f.Kind.IsHopByHop() || len(sp) >= len(spans)-6 {
			continue
		}
		store = h1.AppendLower(store, f.Name)
		store = append(store, f.Value...)
		sp = append(sp, span{len(f.Name), len(f.Value)})
	}
	if r.ContentLength >= 0 && r.HasBody {
		var num [20]byte
		add("content-length", appendInt(num[:0], r.ContentLength))
	}
	// X-Forwarded-For: previous hops, then the client.
	start := len(store)
	store = append(store, "x-forwarded-for"...)
	prev := false
	for i := range r.Fields {
		if r.Fields[i].Kind == h1.KindXForwardedFor {
			store = append(store, r.Fields[i].Value...)
			store = append(store, ", "...)
			prev = true
		}
	}
	_ = prev
	store = append(store, r.ClientIP...)
	sp = append(sp, span{len("x-forwarded-for"), len(store) - start - len("x-forwarded-for")})
	_ = xff
	add("x-forwarded-proto", r.Scheme)
	add("x-forwarded-host", r.Authority)
	start = len(store)
	store = append(store, "forwarded"...)
	for i := range r.Fields {
		if r.Fields[i].Kind == h1.KindForwarded {
			store = append(store, r.Fields[i].Value...)
			store = append(store, ", "...)
		}
	}
	store = appendForwarded(store, r)
	sp = append(sp, span{len("forwarded"), len(store) - start - len("forwarded")})

	off := 0
	for _, s := range sp {
		fields = append(fields, h2.Field{Name: store[off : off+s.n : off+s.n], Value: store[off+s.n : off+s.n+s.v : off+s.n+s.v]})
		off += s.n + s.v
	}
	return fields, store
}

var trailersValue = []byte("trailers")

func appendInt(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, tmp[i:]...)
}

// uploadBody streams the request body to the call (exchange side),
// keeping a copy for a retry while it fits the replay budget. Between
// steps it waits for the body (in Next) or for upload budget.
func (c *h2Call) uploadBody(body Body, replay *replayBuffer, t Timeouts) error {
	var timer *time.Timer
	for {
		st, err := c.uploadStep(body, replay, true)
		switch st {
		case upDone:
			if timer != nil {
				timer.Stop()
			}
			return err
		case upWaitBudget:
			// No budget freed for a response timeout: the backend
			// stopped reading.
			if timer == nil {
				timer = time.NewTimer(t.Response)
			} else {
				rearm(timer, t.Response)
			}
			select {
			case <-c.upNotify:
			case <-timer.C:
				return errUploadStalled
			}
		}
	}
}

// upState is where an upload step left the upload.
type upState uint8

const (
	upMore       upState = iota // step again
	upWaitBody                  // no body bytes buffered (only without block)
	upWaitBudget                // the call's budget of unsent bytes is used up
	upDone                      // finished, or failed with the error returned
)

// uploadStep moves the request body forward without waiting for budget:
// it queues what the budget allows of the piece in hand, takes the next
// piece (waiting in Next only with block; without, only when the body has
// one buffered), and ends the upload at EOF with the trailers.
func (c *h2Call) uploadStep(body Body, replay *replayBuffer, block bool) (upState, error) {
	if !c.upTaken {
		if !block && !body.Buffered() {
			return upWaitBody, nil
		}
		p, err := body.Next()
		if err != nil && err != io.EOF {
			return upDone, err
		}
		replay.record(p)
		c.upPiece, c.upEOF, c.upTaken = p, err == io.EOF, true
	}
	for len(c.upPiece) > 0 {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return upDone, errBackendConnLost
		}
		if c.upOutstanding >= maxUploadOutstanding {
			c.mu.Unlock()
			return upWaitBudget, nil
		}
		var n int
		c.upQ, n = bufpool.Fill(c.upQ, c.upPiece)
		c.upPiece = c.upPiece[n:]
		c.upOutstanding += n
		c.upTotal += int64(n)
		c.mu.Unlock()
		c.post(h2evUpload)
	}
	c.upPiece, c.upTaken = nil, false
	if !c.upEOF {
		return upMore, nil
	}
	var trailers []h2.Field
	if tr := body.Trailers(); len(tr) > 0 {
		trailers = make([]h2.Field, 0, len(tr))
		for i := range tr {
			if tr[i].Kind.IsHopByHop() {
				continue
			}
			trailers = append(trailers, h2.Field{Name: h1.AppendLower(make([]byte, 0, len(tr[i].Name)), tr[i].Name), Value: append([]byte(nil), tr[i].Value...)})
		}
	}
	c.mu.Lock()
	c.upEnd = true
	c.upTrailers = trailers
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.post(h2evUpload)
	}
	return upDone, nil
}

var errUploadStalled = errors.New("request body upload to the backend stalled")

func (c *h2Call) upSent() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.upTotal
}

// receive delivers the response to w as it arrives (exchange side),
// waiting between steps for the owner's notification or the response
// timeout.
func (c *h2Call) receive(w ResponseWriter, t Timeouts, res *Result, sentAt time.Time) error {
	timer := c.timer
	timer.Reset(t.Response)
	defer timer.Stop()
	headSent := false
	for {
		done, progress, err := c.receiveStep(w, res, sentAt, &headSent, -1)
		if done {
			return err
		}
		if progress {
			rearm(timer, t.Response)
		}
		select {
		case <-c.notify:
		case <-timer.C:
			return c.timedOut(headSent)
		}
	}
}

// rearm restarts a timer for d, dropping a expiry not yet received.
func rearm(timer *time.Timer, d time.Duration) {
	if !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
	timer.Reset(d)
}

// timedOut gives up on a response that did not come (or stopped coming)
// in time; the owner resets the stream.
func (c *h2Call) timedOut(headSent bool) error {
	c.post(h2evCancel)
	if headSent {
		return &Error{Status: 504, Message: accesslog.MsgBackendResponseTimeout, Err: errors.New("backend response stalled")}
	}
	return &Error{Status: 504, Message: accesslog.MsgBackendTimeout, Err: errors.New("no response from the backend in time")}
}

// receiveStep hands w what the owner delivered since the last step,
// without waiting: done reports that the response is over (err nil) or
// failed; progress that something arrived. room, when not negative, is
// what w.Write takes without waiting (the simulator's writer must never
// block): body chunks beyond it stay queued for a later step.
func (c *h2Call) receiveStep(w ResponseWriter, res *Result, sentAt time.Time, headSent *bool, room int) (done, progress bool, err error) {
	b := c.hc.pool.b
	c.mu.Lock()
	infos := c.infos
	c.infos = nil
	head := c.head
	c.head = nil
	chunks := c.respQ
	c.respQ, c.respSpare = c.respSpare[:0], nil
	end := c.respEnd
	trailers := c.trailers
	closed, cerr := c.closed, c.err
	c.mu.Unlock()

	progress = len(infos) > 0 || head != nil || len(chunks) > 0
	if progress && res.TTFB == 0 {
		res.TTFB = b.now().Sub(sentAt)
	}
	for i := range infos {
		if err := w.WriteHead(&ResponseHead{Status: infos[i].status, Fields: infos[i].fields, ContentLength: -1, NoBody: true}); err != nil {
			freeChunks(chunks)
			return true, progress, clientGone(err)
		}
		if err := w.Flush(); err != nil {
			freeChunks(chunks)
			return true, progress, clientGone(err)
		}
	}
	if head != nil {
		noBody := string(c.fields[0].Value) == "HEAD" || head.status == 204 || head.status == 304
		c.rh = ResponseHead{Status: head.status, Fields: head.fields, ContentLength: head.cl, NoBody: noBody}
		res.Status = head.status
		res.HeadSent = true
		*headSent = true
		if err := w.WriteHead(&c.rh); err != nil {
			freeChunks(chunks)
			return true, progress, clientGone(err)
		}
	}
	consumed := 0
	left := chunks[:0]
	for i, ch := range chunks {
		if room >= 0 {
			if len(ch.B) > room {
				left = chunks[i:]
				break
			}
			room -= len(ch.B)
		}
		if err := w.Write(ch.B); err != nil {
			freeChunks(chunks[i:])
			return true, progress, clientGone(err)
		}
		consumed += len(ch.B)
		res.BytesOut += int64(len(ch.B))
		ch.Free()
		chunks[i] = nil
	}
	c.mu.Lock()
	if len(left) > 0 {
		// Only with a room bound (the simulator): what w cannot take
		// yet goes back in front of what arrived meanwhile.
		c.respQ = append(append([]*bufpool.Chunk(nil), left...), c.respQ...)
		end = false
	} else {
		clear(chunks)
		c.respSpare = chunks[:0]
	}
	c.consumed += consumed
	post := consumed > 0 && !c.creditPosted
	c.creditPosted = c.creditPosted || post
	c.mu.Unlock()
	if post {
		c.post(h2evCredit)
	}
	if len(left) > 0 {
		// w is full: hand it what it took, so that it drains.
		if err := w.Flush(); err != nil {
			return true, progress, clientGone(err)
		}
		return false, progress, nil
	}
	if end && *headSent {
		if len(trailers) > 0 {
			if err := w.WriteTrailers(trailers); err != nil {
				return true, progress, clientGone(err)
			}
		}
		return true, progress, nil
	}
	if closed && cerr != nil {
		return true, progress, c.failure(cerr, *headSent)
	}
	if closed {
		return true, progress, &Error{Status: 502, Message: accesslog.MsgBackendProtocolError, Err: errors.New("stream closed without a response")}
	}
	if progress {
		if err := w.Flush(); err != nil {
			return true, progress, clientGone(err)
		}
	}
	return false, progress, nil
}

// failure turns a stream failure into the exchange's error.
func (c *h2Call) failure(err error, headSent bool) error {
	var se *streamResetError
	if errors.As(err, &se) {
		if se.notProcessed && !headSent {
			return &staleConnError{e: &Error{Status: 502, Message: accesslog.MsgBackendRefusedStream, Err: err}, notProcessed: true}
		}
		msg := accesslog.MsgBackendReset
		if se.reaped != "" {
			msg = accesslog.MsgH2WindowStall
			if se.reaped == h2.ReapIdle {
				msg = accesslog.MsgH2IdleTimeout
			}
		}
		return &Error{Status: 502, Message: msg, Err: err, ResetCode: uint32(se.code), Reset: se.byPeer}
	}
	return &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: err}
}

// release frees what the call still holds.
func (c *h2Call) release() {
	c.mu.Lock()
	c.gone = true
	unread := 0
	for _, ch := range c.respQ {
		unread += len(ch.B)
		ch.Free()
	}
	clear(c.respQ)
	c.respQ = c.respQ[:0]
	c.consumed += unread
	post := c.consumed > 0 && !c.creditPosted
	c.creditPosted = c.creditPosted || post
	closed := c.closed
	c.mu.Unlock()
	if post {
		c.post(h2evCredit)
	}
	if !closed {
		// The exchange ended first (client gone, timeout): make sure the
		// backend stream does not linger.
		c.post(h2evCancel)
	}
}

func freeChunks(cs []*bufpool.Chunk) {
	for _, ch := range cs {
		ch.Free()
	}
}

// replayBuffer keeps a copy of a request body, up to a budget, so that a
// request the backend never processed (refused stream, GOAWAY) can be
// sent again with its body (retry_buffer_bytes).
type replayBuffer struct {
	limit    int
	data     []byte
	overflow bool // more than limit bytes went out: no replay possible
	replays  int
}

func (r *replayBuffer) record(p []byte) {
	// Once replaying, the body sent is the recording itself: recording
	// it again would append the body to itself, and a second retry would
	// send it twice (found by the simulator, seed 57).
	if r == nil || r.overflow || r.replays > 0 {
		return
	}
	if len(r.data)+len(p) > r.limit {
		r.overflow = true
		r.data = nil
		return
	}
	r.data = append(r.data, p...)
}

// replayable reports whether a request with a body can be sent again.
func (r *replayBuffer) replayable() bool { return r != nil && !r.overflow }

// replayBody is a recorded request body sent again on a retry.
type replayBody struct {
	data     []byte
	trailers []h1.Field
	done     bool
}

func (b *replayBody) Next() ([]byte, error) {
	if b.done {
		return nil, io.EOF
	}
	b.done = true
	return b.data, io.EOF
}

func (b *replayBody) Buffered() bool       { return true }
func (b *replayBody) Trailers() []h1.Field { return b.trailers }
func (b *replayBody) Abort()               {}
