package session

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h1"
)

// The real HTTP/1.1 backend side in the simulator (docs/testing.md): a
// linked stream runs the real Cluster.RoundTrip (retry rules, the H1
// pool, h1Conn.exchange with its upload) on a goroutine, under a lockstep
// baton: exactly one of these goroutines runs at a time, chosen by the
// seeded scheduler, and each runs until it blocks at a point the
// simulator owns (the backend connection's Read, the request body's Next,
// the writer's Write, an upload's start and end). The simulator's own
// state is touched only while every baton goroutine is parked, so a run
// is as deterministic as one without goroutines.

// simBaton schedules the exchange goroutines one at a time.
type simBaton struct {
	rng   *rand.Rand
	gs    []*simG // live goroutines, in start order
	cur   *simG
	yield chan struct{}
}

type simG struct {
	resume chan struct{}
	cond   func() bool // it may run once this holds (nil: now)
	done   bool
}

func newSimBaton(rng *rand.Rand) *simBaton {
	return &simBaton{rng: rng, yield: make(chan struct{})}
}

// Go starts f on a baton goroutine; it first runs when the scheduler picks
// it (never while another one runs).
func (b *simBaton) Go(f func()) {
	g := &simG{resume: make(chan struct{})}
	b.gs = append(b.gs, g)
	go func() {
		<-g.resume
		defer func() {
			g.done = true
			b.yield <- struct{}{}
		}()
		f()
	}()
}

// park gives the baton back until cond holds (called on the running
// baton goroutine).
func (b *simBaton) park(cond func() bool) {
	g := b.cur
	if g == nil {
		panic("simBaton.park outside a baton goroutine")
	}
	if cond() {
		return
	}
	g.cond = cond
	b.yield <- struct{}{}
	<-g.resume
}

// pass gives the baton back and stays runnable: a goroutine that polls
// (a stepped round trip) lets the others run between its steps.
func (b *simBaton) pass() {
	g := b.cur
	g.cond = nil
	b.yield <- struct{}{}
	<-g.resume
}

// Wait implements backend.SimHooks.Wait.
func (b *simBaton) Wait(clock *simClock) func(done <-chan struct{}, d time.Duration) {
	return func(done <-chan struct{}, d time.Duration) {
		until := clock.Now().Add(d)
		b.park(func() bool {
			select {
			case <-done:
				return true
			default:
				return d > 0 && !clock.Now().Before(until)
			}
		})
	}
}

// step runs one runnable goroutine until it parks or ends; false when
// none may run.
func (b *simBaton) step() bool {
	var ready []*simG
	for _, g := range b.gs {
		if g.cond == nil || g.cond() {
			ready = append(ready, g)
		}
	}
	if len(ready) == 0 {
		return false
	}
	g := ready[b.rng.IntN(len(ready))]
	g.cond = nil
	b.cur = g
	g.resume <- struct{}{}
	<-b.yield
	b.cur = nil
	if g.done {
		for i, x := range b.gs {
			if x == g {
				b.gs = append(b.gs[:i], b.gs[i+1:]...)
				break
			}
		}
	}
	return true
}

// simH1Backend is one HTTP/1.1 backend: the real cluster and pool, and
// the models of the connections it opens.
type simH1Backend struct {
	rng       *rand.Rand
	clock     *simClock
	fail      func(string, ...any)
	logf      func(string, ...any)
	malformed map[string]bool
	baton     *simBaton
	b         *backend.Backend
	cl        *backend.Cluster
	peers     []*simH1Peer
	trips     []*simH1Trip
	finishing []*simH1Trip
	started   int
	processed map[string]int // request path -> times a model processed it
	closes    int            // idle keep-alive connections the models closed
	// badBody lists requests whose body is malformed (an HTTP/1.1 front's
	// hostile client): their head may reach a model, a whole body never.
	badBody map[string]bool
	// onRequest, when set, sees every request head a model parses (the
	// HTTP/1.1 front checks their order against the client's).
	onRequest func(path string)
}

type simH1Trip struct {
	linked
	done bool
	err  error
}

// newSimH1Backend builds the backend side of a seed (either front): the
// models report failures to fail and steps to logf; malformed lists the
// request paths that must never reach them.
func newSimH1Backend(rng *rand.Rand, clock *simClock, fail, logf func(string, ...any), malformed map[string]bool) *simH1Backend {
	hb := &simH1Backend{rng: rng, clock: clock, fail: fail, logf: logf, malformed: malformed,
		baton: newSimBaton(rng), processed: map[string]int{}}
	hooks := &backend.SimHooks{Go: hb.baton.Go, Wait: hb.baton.Wait(clock)}
	hb.b = backend.NewBackend("sim", "h1", "sim:1", 1, backend.Options{
		Now: clock.Now, Protocol: backend.HTTP1, Sim: hooks, MaxIdle: 1 + rng.IntN(4),
		Dial: func(string, string, time.Duration) (net.Conn, error) {
			p := &simH1Peer{hb: hb, id: len(hb.peers) + 1}
			p.conn = &simH1Conn{p: p}
			hb.peers = append(hb.peers, p)
			hb.logf("h1 backend connection %d dialed", p.id)
			return p.conn, nil
		},
	})
	hb.cl = backend.NewCluster("sim", backend.ClusterOptions{}, []*backend.Backend{hb.b})
	return hb
}

// start runs a linked stream's exchange: the real RoundTrip on a baton
// goroutine, with a body and writer that park instead of blocking.
func (hb *simH1Backend) start(st *h2Stream) {
	t := simLinked(st, hb.malformed, hb.fail)
	var body backend.Body
	if st.body != nil {
		body = &simParkBody{bodyPipe: st.body, b: hb.baton}
	}
	x := &simH1Trip{linked: linked{st, st.gen}}
	hb.trips = append(hb.trips, x)
	hb.started++
	w := &simParkWriter{h2Stream: st, b: hb.baton}
	hb.baton.Go(func() {
		x.err = st.cl.RoundTrip(&st.breq, body, w, t, &st.xres)
		x.done = true
	})
}

// simParkBody is the request body as the exchange reads it: Next waits
// (parks) for the client's DATA instead of blocking on the pipe.
type simParkBody struct {
	*bodyPipe
	b *simBaton
}

func (p *simParkBody) Next() ([]byte, error) {
	p.b.park(p.bodyPipe.Buffered)
	return p.bodyPipe.Next()
}

// simParkWriter is the stream as the exchange writes to it: Write waits
// (parks) for room instead of blocking on the session's credit.
type simParkWriter struct {
	*h2Stream
	b *simBaton
}

func (w *simParkWriter) Write(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), maxOutstanding/2)
		w.b.park(func() bool { return w.h2Stream.writeRoom() >= n })
		if err := w.h2Stream.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// runBaton lets one exchange goroutine run, and settles those that ended.
func (hb *simH1Backend) runBaton() {
	if !hb.baton.step() {
		return
	}
	keep := hb.trips[:0]
	for _, x := range hb.trips {
		if !x.done {
			keep = append(keep, x)
			continue
		}
		hb.logf("h1 round trip of stream %d done (client cancelled: %v): %v", x.st.id, x.st.cancel.Cancelled(), x.err)
		hb.finishing = append(hb.finishing, x)
		x.st.complete(x.err, &x.st.xres)
	}
	clear(hb.trips[len(keep):])
	hb.trips = keep
}

func (hb *simH1Backend) unsettled() []*h2Stream {
	hb.finishing = pruneSettled(hb.finishing)
	return linkedStreams(hb.trips, hb.finishing)
}

// acts lets the backend side act a few times: an exchange goroutine, or a
// model.
func (hb *simH1Backend) acts() { simActs(hb.rng, hb.act) }

func (hb *simH1Backend) act() {
	live := hb.livePeers()
	switch k := hb.rng.IntN(100); {
	case k < 45:
		hb.runBaton()
	case k < 75 && len(live) > 0:
		live[hb.rng.IntN(len(live))].act()
	case len(live) > 0:
		live[hb.rng.IntN(len(live))].deliver()
	}
}

func (hb *simH1Backend) livePeers() []*simH1Peer {
	if hb == nil {
		return nil
	}
	return simFilter(hb.peers, func(p *simH1Peer) bool { return !p.gone() })
}

// endAll runs every exchange to its end (the session ended and cancelled
// them, which closes their backend connections).
func (hb *simH1Backend) endAll() {
	for i := 0; len(hb.trips) > 0; i++ {
		if i > 10000 || len(hb.baton.gs) == 0 {
			hb.fail("liveness: %d HTTP/1.1 round trips did not end after the session ended", len(hb.trips))
			return
		}
		hb.runBaton()
		if live := hb.livePeers(); len(live) > 0 {
			live[hb.rng.IntN(len(live))].act()
		}
	}
}

// windDown checks what the backend side left after the session: no
// request counted active, no goroutine of an exchange, and after the
// pool closes its idle connections, none open.
func (hb *simH1Backend) windDown() {
	for i := 0; i < 1000 && len(hb.baton.gs) > 0; i++ {
		if !hb.baton.step() {
			break
		}
	}
	if n := len(hb.baton.gs); n != 0 {
		hb.fail("backend: %d exchange goroutines (uploads) still blocked after the session", n)
	}
	if n := hb.b.Active(); n != 0 {
		hb.fail("backend: %d requests still counted active after the session", n)
	}
	hb.b.Close()
	for _, p := range hb.peers {
		if !p.conn.closed {
			hb.fail("backend: HTTP/1.1 connection %d still open after the pool closed", p.id)
		}
	}
}

func (hb *simH1Backend) describe() string {
	if hb == nil {
		return ""
	}
	return fmt.Sprintf("\n  %d HTTP/1.1 round trips, %d goroutines", len(hb.trips), len(hb.baton.gs))
}

// simH1Conn is sluice's end of a connection to an HTTP/1.1 model. Read
// parks the calling exchange until the model's bytes arrive, the model
// closes, sluice closes, or the read deadline passes on the simulator's
// clock; writes land in the model's input.
type simH1Conn struct {
	simBackAddrs
	p        *simH1Peer
	in       []byte // delivered by the model, not yet read
	deadline time.Time
	closed   bool // sluice closed it
}

type simTimeout struct{}

func (simTimeout) Error() string   { return "sim: i/o timeout" }
func (simTimeout) Timeout() bool   { return true }
func (simTimeout) Temporary() bool { return true }

func (c *simH1Conn) Read(b []byte) (int, error) {
	hb := c.p.hb
	hb.baton.park(func() bool {
		return len(c.in) > 0 || c.closed || c.p.eofDelivered || !c.deadline.IsZero() && !hb.clock.Now().Before(c.deadline)
	})
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case len(c.in) > 0:
		n := copy(b, c.in)
		c.in = c.in[n:]
		return n, nil
	case c.p.eofDelivered:
		return 0, io.EOF
	}
	return 0, simTimeout{}
}

func (c *simH1Conn) Write(b []byte) (int, error) {
	if c.closed || c.p.closedByModel {
		return 0, net.ErrClosed
	}
	c.p.req = append(c.p.req, b...)
	return len(b), nil
}

func (c *simH1Conn) Close() error                      { c.closed = true; return nil }
func (c *simH1Conn) SetDeadline(t time.Time) error     { c.deadline = t; return nil }
func (c *simH1Conn) SetReadDeadline(t time.Time) error { c.deadline = t; return nil }
func (c *simH1Conn) SetWriteDeadline(time.Time) error  { return nil }

// simH1Peer is a byte-level HTTP/1.1 server on one connection. It parses
// the requests sluice sends (head, then a Content-Length or chunked
// body), checks each body against what the client sent, and answers by
// path: ok (Content-Length), trailers (chunked with trailers), slow
// (small chunks), big, stall, reset and die (close before answering), mid
// (close mid-body). Between requests it sometimes closes the idle
// connection (the keep-alive race sluice retries idempotent requests
// across). A request with a body is never processed twice.
type simH1Peer struct {
	hb            *simH1Backend
	id            int
	conn          *simH1Conn
	req           []byte // what sluice wrote, not yet parsed
	out           []byte // the model's bytes not yet delivered
	closedByModel bool
	eofDelivered  bool

	head   h1.RequestHead
	method string
	inReq  bool // a head was parsed, its body is being read
	chunk  h1.ChunkedDecoder
	left   int64 // Content-Length body bytes still to come
	path   string
	got    []byte
	reqEnd bool

	mode     string
	size     int
	body     []byte
	sent     int
	headSent bool
}

// gone: sluice closed the connection; the model has nothing left to do.
func (p *simH1Peer) gone() bool { return p.conn.closed }

// deliver moves some of the model's bytes to sluice's side.
func (p *simH1Peer) deliver() {
	if p.conn.closed {
		p.out = nil
		return
	}
	if len(p.out) > 0 {
		n := simReadSize(p.hb.rng, len(p.out))
		p.conn.in = append(p.conn.in, p.out[:n]...)
		p.out = p.out[n:]
		return
	}
	if p.closedByModel {
		p.eofDelivered = true
	}
}

// act: read a request, answer, or close an idle connection.
func (p *simH1Peer) act() {
	if p.closedByModel || p.conn.closed {
		return
	}
	rng := p.hb.rng
	switch k := rng.IntN(100); {
	case k < 50:
		p.read(1 + rng.IntN(max(1, len(p.req))))
	case k < 95:
		p.answer()
	default:
		if !p.inReq && len(p.req) == 0 && len(p.out) == 0 {
			// An idle keep-alive connection closed by the backend: the
			// next request on it fails before any response byte.
			p.close("closes the idle connection")
			p.hb.closes++
		}
	}
}

func (p *simH1Peer) close(why string) {
	p.closedByModel = true
	p.hb.logf("h1 backend %d: %s", p.id, why)
}

func (p *simH1Peer) fail(format string, args ...any) {
	p.hb.fail("h1 backend model %d: "+format, append([]any{p.id}, args...)...)
}

// read parses the request head and consumes body bytes.
func (p *simH1Peer) read(n int) {
	rng := p.hb.rng
	if !p.inReq {
		hn, err := h1.ParseRequestHead(p.req, &p.head, h1.Limits{})
		if err == h1.ErrIncomplete {
			return
		}
		if err != nil {
			p.fail("bad request head: %v", err)
			p.req = nil
			return
		}
		p.path, p.method = string(p.head.Target), string(p.head.Method)
		p.req = p.req[hn:]
		p.inReq, p.got, p.reqEnd, p.sent, p.headSent = true, nil, false, 0, false
		p.left = max(0, p.head.ContentLength)
		p.chunk.Reset()
		if !p.head.Chunked && p.left == 0 {
			p.reqEnd = true
		}
		mode, size, ok := parseSimPath(p.path)
		if !ok {
			p.fail("unexpected path %q", p.path)
			mode = "ok"
		}
		if p.hb.malformed[p.path] {
			p.fail("a malformed request reached the backend: %s", p.path)
		}
		p.mode, p.size, p.body = mode, size, simBody(p.path, size)
		p.hb.processed[p.path]++
		if p.hb.processed[p.path] > 1 && (p.head.Chunked || p.head.ContentLength > 0 || p.method != "GET" && p.method != "HEAD") {
			p.fail("request %s processed twice (only an idempotent request without a body may be retried)", p.path)
		}
		p.hb.logf("h1 backend %d: request %s %s", p.id, p.head.Method, p.path)
		if p.hb.onRequest != nil {
			p.hb.onRequest(p.path)
		}
		if p.head.Expect100 && rng.IntN(2) == 0 {
			// Sometimes the backend invites the body; otherwise sluice
			// sends it after its own wait (expectWait).
			p.out = append(p.out, "HTTP/1.1 100 Continue\r\n\r\n"...)
		}
		return
	}
	for n > 0 && !p.reqEnd && len(p.req) > 0 {
		if !p.head.Chunked {
			k := int(min(int64(n), p.left, int64(len(p.req))))
			p.got = append(p.got, p.req[:k]...)
			p.req, p.left, n = p.req[k:], p.left-int64(k), n-k
			if p.left == 0 {
				p.requestEnded()
			}
			continue
		}
		used, data, done, err := p.chunk.Next(p.req)
		if err != nil {
			p.fail("bad chunked request body: %v", err)
			p.req = nil
			return
		}
		p.got = append(p.got, data...)
		p.req, n = p.req[used:], n-used
		if done {
			p.requestEnded()
		}
		if used == 0 {
			return
		}
	}
}

func (p *simH1Peer) requestEnded() {
	p.reqEnd = true
	if p.hb.badBody[p.path] {
		p.fail("a malformed request body reached the backend whole: %s", p.path)
	}
	if len(p.got) == 0 {
		return
	}
	if want := simBody(p.path+"#req", len(p.got)); !bytes.Equal(p.got, want) {
		p.fail("%s: request body of %d bytes does not match what the client sent", p.path, len(p.got))
	}
	switch len(p.got) {
	case 1, 100, 5000, 70000:
	default:
		p.fail("%s: request body of %d bytes, not a length the client sends", p.path, len(p.got))
	}
}

// answer moves the current response forward by the path's mode, once the
// request is in (sometimes before: an early answer).
func (p *simH1Peer) answer() {
	rng := p.hb.rng
	if !p.inReq || !p.reqEnd && rng.IntN(4) != 0 {
		return
	}
	switch p.mode {
	case "stall":
		return
	case "reset", "die":
		p.close("closes before answering")
		return
	}
	if !p.headSent {
		p.headSent = true
		if p.chunked() {
			p.out = append(p.out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Sim: "+p.mode+"\r\n"...)
		} else {
			p.out = append(p.out, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(p.size)+"\r\nX-Sim: "+p.mode+"\r\n"...)
		}
		// The path names the request the response answers: a client
		// checks that pipelined responses come back in order.
		p.out = append(p.out, "X-Sim-Path: "+p.path+"\r\n\r\n"...)
		if p.method == "HEAD" {
			p.next() // a response to HEAD has no body
			return
		}
		if p.size == 0 && p.mode != "mid" {
			p.ended()
		}
		return
	}
	if p.mode == "mid" && p.sent >= p.size/2 {
		p.close("breaks off mid-response")
		return
	}
	if p.mode == "slow" {
		// Small chunks, a few at a time.
		for i := rng.IntN(10); i >= 0 && p.inReq && p.sent < p.size; i-- {
			p.sendBody(min(p.size-p.sent, 1+rng.IntN(100)))
		}
		return
	}
	n := min(p.size-p.sent, 1+rng.IntN(20000))
	if p.mode == "mid" {
		n = min(n, max(1, p.size/2-p.sent))
	}
	p.sendBody(n)
}

// sendBody sends the next n bytes of the response body.
func (p *simH1Peer) sendBody(n int) {
	data := p.body[p.sent : p.sent+n]
	if p.chunked() {
		p.out = append(p.out, strconv.FormatInt(int64(n), 16)+"\r\n"...)
		p.out = append(append(p.out, data...), "\r\n"...)
	} else {
		p.out = append(p.out, data...)
	}
	p.sent += n
	if p.sent == p.size {
		p.ended()
	}
}

// chunked: the modes whose response is chunked (trailers, small chunks,
// and mid, so that breaking off is a truncation whatever the size).
func (p *simH1Peer) chunked() bool {
	return p.mode == "trailers" || p.mode == "slow" || p.mode == "mid"
}

// ended finishes the response body.
func (p *simH1Peer) ended() {
	switch p.mode {
	case "trailers":
		p.out = append(p.out, "0\r\nGrpc-Status: 0\r\n\r\n"...)
	case "slow":
		p.out = append(p.out, "0\r\n\r\n"...)
	}
	p.next()
}

// next readies the connection for the next request (an early answer
// closes it: the rest of the body is not read).
func (p *simH1Peer) next() {
	p.inReq = false
	if !p.reqEnd {
		p.close("answered early: closes")
	}
}
