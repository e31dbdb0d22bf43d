package session

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// The real HTTP/2 backend side in the simulator (docs/testing.md): the
// session's linked streams run real round trips (backend.SimTrip: the
// pool, the h2Call hand-off, uploads, receives and retries), over real
// backend connections (backend.SimConn: the connection owner and its
// engine in client position), against byte-level HTTP/2 server models
// (simH2Peer) over in-memory connections. Every part moves only when the
// seeded scheduler picks it.

// simH2Backend is one HTTP/2 backend: the real pool and the models of the
// connections it opens.
type simH2Backend struct {
	rng       *rand.Rand
	clock     *simClock
	fail      func(string, ...any)
	logf      func(string, ...any)
	malformed map[string]bool
	broken    map[string]bool // responses broken on purpose (hostile seeds)
	hostile   bool
	b         *backend.Backend
	cl        *backend.Cluster
	peers     []*simH2Peer
	trips     []*simTrip
	finishing []*simTrip // completed; the session has not taken the final event yet
	started   int
	processed map[string]bool // request paths a model processed
	// Counts, for the run's summary.
	refused, goAways, deaths, bodies, badHeads, overruns int
	// The model's settings for every connection of this seed.
	mcs     uint32
	initWin uint32
	// namePaths: responses name the path they answer (x-sim-path), for
	// an HTTP/1.1 front's client to check their order.
	namePaths bool
}

// simTrip is one linked stream's round trip.
type simTrip struct {
	linked
	t *backend.SimTrip
}

// newSimH2Backend builds the backend side of a seed (either front):
// malformed lists the paths that must never reach it, broken collects
// those whose response a hostile model breaks.
func newSimH2Backend(rng *rand.Rand, clock *simClock, fail, logf func(string, ...any), malformed, broken map[string]bool, hostile bool) *simH2Backend {
	hb := &simH2Backend{rng: rng, clock: clock, fail: fail, logf: logf, malformed: malformed,
		broken: broken, hostile: hostile, processed: map[string]bool{}}
	hb.mcs = []uint32{1, 2, 5, 100}[rng.IntN(4)]
	hb.initWin = []uint32{65535, 16384, 1024, 1 << 20}[rng.IntN(4)]
	hooks := &backend.SimHooks{
		Dial: func() (net.Conn, error) {
			p := hb.newPeer()
			return &simBackConn{p: p}, nil
		},
		AfterFunc: func(d time.Duration, f func()) backend.Timer { return clock.AfterFunc(d, f) },
		OnConn: func(sc *backend.SimConn) {
			hb.peers[len(hb.peers)-1].sc = sc
		},
	}
	hb.b = backend.NewBackend("sim", "h2", "sim:2", 1, backend.Options{
		Now: clock.Now, Protocol: backend.H2C, Sim: hooks,
		H2: backend.H2Options{MaxConns: 1 + rng.IntN(3), Engine: h2.Config{InitialWindowSize: []uint32{65535, 16384, 1 << 20}[rng.IntN(3)]}},
	})
	hb.cl = backend.NewCluster("sim", backend.ClusterOptions{RetryBufferBytes: 64 << 10}, []*backend.Backend{hb.b})
	return hb
}

// count adds the seed's figures to its result.
func (hb *simH2Backend) count(res *simResult) {
	res.exchanges = hb.started
	res.h2Seeds, res.backConns, res.refused, res.goAways, res.deaths, res.bodies = 1, len(hb.peers), hb.refused, hb.goAways, hb.deaths, hb.bodies
	res.badHeads, res.overruns = hb.badHeads, hb.overruns
}

// start runs a linked stream's exchange as a stepped round trip.
func (hb *simH2Backend) start(st *h2Stream) {
	t := simLinked(st, hb.malformed, hb.fail)
	var body backend.Body
	if st.body != nil {
		body = st.body
	}
	hb.trips = append(hb.trips, &simTrip{linked: linked{st, st.gen}, t: st.cl.SimRoundTrip(&st.breq, body, st, t, &st.xres, hb.clock.Now)})
	hb.started++
}

// stepTrip advances one round trip by a step.
func (hb *simH2Backend) stepTrip(i int) {
	x := hb.trips[i]
	done, err := x.t.Step(x.st.writeRoom())
	if !done {
		return
	}
	hb.trips = append(hb.trips[:i], hb.trips[i+1:]...)
	hb.finishing = append(hb.finishing, x)
	hb.logf("round trip of stream %d done (client cancelled: %v): %v", x.st.id, x.st.cancel.Cancelled(), err)
	x.st.complete(err, &x.st.xres)
}

// unsettled returns the streams whose exchange the session still counts
// as running.
func (hb *simH2Backend) unsettled() []*h2Stream {
	hb.finishing = pruneSettled(hb.finishing)
	return linkedStreams(hb.trips, hb.finishing)
}

// simLinked is what every backend side does first with a linked stream:
// no malformed request may reach it, and its exchange result starts
// empty. It returns the exchange's timeouts.
func simLinked(st *h2Stream, malformed map[string]bool, fail func(string, ...any)) backend.Timeouts {
	if path := string(st.breq.Path); malformed[path] {
		fail("backend: a malformed request reached a backend: %s", path)
	}
	st.xres = backend.Result{}
	return st.sess.env.timeouts()
}

// linkedStreams lists the streams of running and finishing exchanges.
func linkedStreams[T interface{ link() *linked }](running, finishing []T) []*h2Stream {
	out := make([]*h2Stream, 0, len(running)+len(finishing))
	for _, x := range running {
		out = append(out, x.link().st)
	}
	for _, x := range finishing {
		out = append(out, x.link().st)
	}
	return out
}

// describe lists the round trips still running (for a liveness report).
func (hb *simH2Backend) describe() string {
	if hb == nil {
		return ""
	}
	s := ""
	for _, x := range hb.trips {
		s += fmt.Sprintf("\n  stream %d (%s): %v, writeRoom %d", x.st.id, x.st.breq.Path, x.t, x.st.writeRoom())
	}
	return s
}

// act lets one part of the backend side act: a round trip, a connection
// owner, a model, or the bytes between them.
func (hb *simH2Backend) act() {
	live := hb.livePeers()
	switch k := hb.rng.IntN(100); {
	case k < 35 && len(hb.trips) > 0:
		hb.stepTrip(hb.rng.IntN(len(hb.trips)))
	case k < 55 && len(live) > 0:
		p := live[hb.rng.IntN(len(live))]
		hb.turn(p)
	case k < 80 && len(live) > 0:
		live[hb.rng.IntN(len(live))].act()
	case len(live) > 0:
		live[hb.rng.IntN(len(live))].deliver()
	}
}

// acts runs a few backend actions: the backend side has four kinds of
// actor (round trips, owners, models, bytes) where the exchange-level
// models have one, so it gets more of the scheduler's steps.
func (hb *simH2Backend) acts() { simActs(hb.rng, hb.act) }

// simActs runs act one to three times.
func simActs(rng *rand.Rand, act func()) {
	for i := 1 + rng.IntN(3); i > 0; i-- {
		act()
	}
}

func (hb *simH2Backend) turn(p *simH2Peer) {
	if p.ownerDone {
		return
	}
	if p.sc.Turn() {
		p.ownerDone = true
		hb.logf("backend connection %d: sluice ended it", p.id)
	}
}

func (hb *simH2Backend) livePeers() []*simH2Peer {
	if hb == nil {
		return nil
	}
	return simFilter(hb.peers, func(p *simH2Peer) bool { return !p.ownerDone })
}

// simFilter returns the elements of xs that keep says to keep, in order.
func simFilter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// endAll runs every round trip to its end (the session ended and
// cancelled them): the trips and the connection owners step until each
// trip is over, as the real exchanges finish before the session's end
// returns.
func (hb *simH2Backend) endAll() {
	for i := 0; len(hb.trips) > 0; i++ {
		if i > 10000 {
			hb.fail("liveness: %d backend round trips did not end after the session ended", len(hb.trips))
			for _, x := range hb.trips {
				x.st.complete(backend.ErrClientGone, &x.st.xres)
			}
			hb.trips = nil
			return
		}
		if hb.rng.IntN(2) == 0 {
			hb.stepTrip(hb.rng.IntN(len(hb.trips)))
		} else if live := hb.livePeers(); len(live) > 0 {
			hb.turn(live[hb.rng.IntN(len(live))])
		}
	}
}

// windDown closes the pool after the session (as a retired backend) and
// checks that nothing of the backend side is left.
func (hb *simH2Backend) windDown() {
	if n := hb.b.Active(); n != 0 {
		hb.fail("backend: %d requests still counted active after the session", n)
	}
	for _, p := range hb.peers {
		// The owners take what the ended exchanges posted (their
		// cancels and credits), as they would on their own.
		for i := 0; i < 2 && !p.ownerDone; i++ {
			hb.turn(p)
		}
		if p.ownerDone {
			continue
		}
		open, waiting := p.sc.Calls()
		if open != 0 || waiting != 0 || p.sc.Streams() != 0 {
			hb.fail("backend: connection %d keeps %d calls, %d uploads waiting, %d engine streams after the session", p.id, open, waiting, p.sc.Streams())
		}
	}
	hb.b.Close()
	for i := 0; i < 1000; i++ {
		live := hb.livePeers()
		if len(live) == 0 {
			break
		}
		p := live[hb.rng.IntN(len(live))]
		if hb.rng.IntN(2) == 0 {
			p.act()
		} else {
			hb.turn(p)
		}
	}
	if live := hb.livePeers(); len(live) != 0 {
		hb.fail("backend: %d connections still open after the pool closed", len(live))
	}
	if conns, active := hb.b.SimState(); conns != 0 || active != 0 {
		hb.fail("backend: the pool keeps %d connections, %d calls placed", conns, active)
	}
}

// simBackConn is sluice's end of a connection to a backend model: writes
// land in the model's input; reads never happen (the simulator delivers
// the model's bytes itself).
type simBackConn struct {
	simBackAddrs
	p *simH2Peer
}

// simBackAddrs are the addresses of a connection to a backend model.
type simBackAddrs struct{}

func (simBackAddrs) LocalAddr() net.Addr  { return simAddr("sluice") }
func (simBackAddrs) RemoteAddr() net.Addr { return simAddr("backend") }

// simReadSize is how many of n pending bytes one read moves: a random
// amount, one byte at a time now and then.
func simReadSize(rng *rand.Rand, n int) int {
	k := 1 + rng.IntN(n)
	if rng.IntN(6) == 0 {
		k = 1
	}
	return k
}

func (c *simBackConn) Read([]byte) (int, error) {
	panic("simBackConn.Read: the simulator feeds the connection itself")
}

func (c *simBackConn) Write(b []byte) (int, error) {
	if c.p.sluiceClosed || c.p.dead {
		return 0, net.ErrClosed
	}
	c.p.in = append(c.p.in, b...)
	return len(b), nil
}

func (c *simBackConn) Close() error                     { c.p.sluiceClosed = true; return nil }
func (c *simBackConn) SetDeadline(time.Time) error      { return nil }
func (c *simBackConn) SetReadDeadline(time.Time) error  { return nil }
func (c *simBackConn) SetWriteDeadline(time.Time) error { return nil }

// simH2Peer is a byte-level HTTP/2 server, one per backend connection. It
// answers by request path like the exchange-level models (ok, trailers,
// slow, big, stall, reset, mid-response break, die) and on its own,
// randomly, refuses streams (REFUSED_STREAM), sends GOAWAY with a low last
// stream id, pings, and withholds WINDOW_UPDATEs. It checks what sluice
// sends: frames in order, DATA within the windows it granted, request
// bodies intact (by checksum), and that no request it processed comes
// again (a retry is only for what it refused or never processed).
type simH2Peer struct {
	hb           *simH2Backend
	id           int
	sc           *backend.SimConn
	in, out      []byte // sluice -> model (unparsed), model -> sluice (undelivered)
	prefaceLeft  int
	sluiceClosed bool // sluice closed the connection
	dead         bool // the model closed it (die, or done after GOAWAY)
	eofPosted    bool
	ownerDone    bool // sluice's owner ended the connection

	enc     *hpack.Encoder
	encBuf  bytes.Buffer
	dec     *hpack.Decoder
	decoded []hpack.HeaderField
	block   []byte
	blockID frame.StreamID
	blockES bool

	streams  map[frame.StreamID]*simH2PeerStream
	order    []frame.StreamID
	lastSeen frame.StreamID

	// Windows: ours for sluice's DATA (what we granted minus what came)
	// and sluice's for ours.
	recvConn, unackedConn int64
	ourInit               int64 // in force once sluice ACKed our SETTINGS
	settingsAcked         bool
	sendConn, peerInit    int64
	peerMaxFrame          int
	withhold              bool
	goAwaySent            bool
	goAwayLast            frame.StreamID
	maxProcessed          frame.StreamID
}

type simH2PeerStream struct {
	id        frame.StreamID
	path      string
	mode      string
	size      int
	body      []byte // response body
	got       []byte // request body received
	reqEnd    bool
	recvWin   int64
	unacked   int64
	sendWin   int64
	headSent  bool
	sent      int
	done      bool // we ended our side (END_STREAM or RST)
	rstByPeer bool
	processed bool
}

func (hb *simH2Backend) newPeer() *simH2Peer {
	p := &simH2Peer{hb: hb, id: len(hb.peers) + 1, prefaceLeft: len(frame.ClientPreface),
		streams: map[frame.StreamID]*simH2PeerStream{}, recvConn: 65535, ourInit: 65535,
		sendConn: 65535, peerInit: 65535, peerMaxFrame: frame.DefaultMaxFrameSize}
	p.enc = hpack.NewEncoder(&p.encBuf)
	p.dec = hpack.NewDecoder(65536, func(f hpack.HeaderField) { p.decoded = append(p.decoded, f) })
	p.out = frame.AppendSettings(p.out,
		frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: hb.mcs},
		frame.Setting{ID: frame.SettingInitialWindowSize, Val: hb.initWin})
	hb.peers = append(hb.peers, p)
	hb.logf("backend connection %d dialed (MCS %d, window %d)", p.id, hb.mcs, hb.initWin)
	return p
}

func (p *simH2Peer) fail(format string, args ...any) {
	p.hb.fail("backend model %d: "+format, append([]any{p.id}, args...)...)
}

// deliver moves some of the model's bytes to sluice as one read.
func (p *simH2Peer) deliver() {
	if p.sluiceClosed {
		p.out = nil
		return
	}
	if len(p.out) > 0 {
		n := p.sc.Deliver(p.out[:simReadSize(p.hb.rng, len(p.out))])
		p.out = p.out[n:]
		p.hb.logf("backend %d: sluice reads %d bytes", p.id, n)
		return
	}
	if p.dead && !p.eofPosted && p.sc.DeliverEOF(io.EOF) {
		p.eofPosted = true
		p.hb.logf("backend %d: sluice reads EOF", p.id)
	}
}

// act makes the model do one thing: read what sluice sent, answer a
// stream, return credit, or misbehave.
func (p *simH2Peer) act() {
	if p.dead || p.sluiceClosed {
		p.in = nil
		return
	}
	rng := p.hb.rng
	switch k := rng.IntN(100); {
	case k < 40:
		p.read(1 + rng.IntN(max(1, len(p.in))))
	case k < 75:
		if len(p.order) > 0 {
			p.answer(p.streams[p.order[rng.IntN(len(p.order))]])
		}
	case k < 88:
		p.credit()
	case k < 91:
		p.withhold = !p.withhold
	case k < 93:
		p.out = frame.AppendPing(p.out, false, [8]byte{byte(rng.IntN(256))})
	case k < 95 && !p.goAwaySent:
		// GOAWAY below what sluice has sent: the streams above are not
		// processed and sluice must retry them elsewhere.
		last := p.maxProcessed
		p.goAwaySent, p.goAwayLast = true, last
		p.out = frame.AppendGoAway(p.out, last, frame.NoError, nil)
		p.hb.logf("backend %d: GOAWAY last %d", p.id, last)
		p.hb.goAways++
	}
	p.closeIfDone()
}

// closeIfDone closes a connection that went away once its streams ended.
func (p *simH2Peer) closeIfDone() {
	if p.goAwaySent && len(p.order) == 0 && len(p.out) == 0 && !p.dead {
		p.dead = true
		p.hb.logf("backend %d: closes after its GOAWAY", p.id)
	}
}

// read parses the frames that start within the first n bytes of what
// sluice sent (whole frames only: the rest waits).
func (p *simH2Peer) read(n int) {
	if p.prefaceLeft > 0 {
		k := min(n, p.prefaceLeft, len(p.in))
		want := frame.ClientPreface[len(frame.ClientPreface)-p.prefaceLeft:][:k]
		if string(p.in[:k]) != want {
			p.fail("bad client preface")
		}
		p.in = p.in[k:]
		p.prefaceLeft -= k
		n -= k
	}
	if n > 0 && p.prefaceLeft == 0 {
		simFrames(&p.in, n, frame.DefaultMaxFrameSize, p.frame, func(err error) {
			p.fail("sluice sent a bad frame: %v", err)
		})
	}
}

func (p *simH2Peer) frame(h frame.Header, payload []byte) {
	if p.blockID != 0 && h.Type != frame.TypeContinuation {
		p.fail("%v in the middle of a header block", h.Type)
	}
	switch h.Type {
	case frame.TypeSettings:
		s, err := frame.ParseSettings(h, payload)
		if err != nil {
			p.fail("bad SETTINGS: %v", err)
			return
		}
		if s.Ack {
			if !p.settingsAcked {
				p.settingsAcked = true
				// Our initial window is in force from the ACK on: the
				// streams' windows move by the difference (RFC 9113 6.9.2).
				d := int64(p.hb.initWin) - p.ourInit
				p.ourInit = int64(p.hb.initWin)
				for _, st := range p.streams {
					st.recvWin += d
				}
			}
			return
		}
		s.ForEach(func(st frame.Setting) error {
			switch st.ID {
			case frame.SettingInitialWindowSize:
				d := int64(st.Val) - p.peerInit
				p.peerInit = int64(st.Val)
				for _, x := range p.streams {
					x.sendWin += d
				}
			case frame.SettingMaxFrameSize:
				p.peerMaxFrame = int(st.Val)
			}
			return nil
		})
		p.out = frame.AppendSettingsAck(p.out)
	case frame.TypePing:
		f, err := frame.ParsePing(h, payload)
		if err != nil {
			p.fail("bad PING: %v", err)
			return
		}
		if !f.Ack {
			p.out = frame.AppendPing(p.out, true, f.Data)
		}
	case frame.TypeWindowUpdate:
		f, err := frame.ParseWindowUpdate(h, payload)
		if err != nil || f.Increment == 0 {
			p.fail("bad WINDOW_UPDATE: %v", err)
			return
		}
		if h.StreamID == 0 {
			p.sendConn += int64(f.Increment)
		} else if st := p.streams[h.StreamID]; st != nil {
			st.sendWin += int64(f.Increment)
		}
	case frame.TypeHeaders:
		f, err := frame.ParseHeaders(h, payload)
		if err != nil {
			p.fail("bad HEADERS: %v", err)
			return
		}
		p.block = append(p.block[:0], f.Fragment...)
		p.blockID, p.blockES = h.StreamID, f.EndStream
		if f.EndHeaders {
			p.endBlock()
		}
	case frame.TypeContinuation:
		if h.StreamID != p.blockID {
			p.fail("CONTINUATION for stream %d in block of %d", h.StreamID, p.blockID)
		}
		p.block = append(p.block, payload...)
		if h.Flags.Has(frame.FlagEndHeaders) {
			p.endBlock()
		}
	case frame.TypeData:
		f, ok := simData(h, payload, &p.recvConn, &p.unackedConn, p.fail, "")
		if !ok {
			return
		}
		n := int64(h.Length)
		st := p.streams[h.StreamID]
		if st == nil {
			if h.StreamID > p.lastSeen {
				p.fail("DATA on idle stream %d", h.StreamID)
			}
			return // a stream we already reset or ignored
		}
		if n > 0 && n > st.recvWin {
			p.fail("sluice overran stream %d's window by %d", st.id, n-st.recvWin)
		}
		if st.reqEnd {
			p.fail("DATA after END_STREAM on %d", st.id)
		}
		st.recvWin -= n
		st.unacked += n
		st.got = append(st.got, f.Data...)
		if f.EndStream {
			p.requestEnded(st)
		}
	case frame.TypeRSTStream:
		if st := p.streams[h.StreamID]; st != nil {
			st.rstByPeer = true
			p.drop(st)
		}
	case frame.TypeGoAway:
		// sluice closing the connection: fine.
	case frame.TypePriority, frame.TypePriorityUpdate:
	default:
		p.fail("unexpected %v from sluice", h.Type)
	}
}

// endBlock handles a complete header block: a request or its trailers.
func (p *simH2Peer) endBlock() {
	id, es := p.blockID, p.blockES
	p.blockID = 0
	p.decoded = p.decoded[:0]
	if _, err := p.dec.Write(p.block); err != nil {
		p.fail("HPACK: %v", err)
		return
	}
	if st := p.streams[id]; st != nil {
		// Trailers.
		if !es {
			p.fail("trailers without END_STREAM on %d", id)
		}
		p.requestEnded(st)
		return
	}
	if id%2 == 0 {
		p.fail("HEADERS on even stream %d", id)
		return
	}
	if id <= p.lastSeen {
		// Trailers of a stream we reset (or ignored) while sluice was
		// still sending: decoded above, for HPACK's state, and dropped.
		return
	}
	p.lastSeen = id
	path := ""
	for _, f := range p.decoded {
		if f.Name == ":path" {
			path = f.Value
		}
	}
	if p.hb.malformed[path] {
		p.fail("a malformed request reached the backend: %s", path)
	}
	mode, size, ok := parseSimPath(path)
	if !ok {
		p.fail("unexpected path %q", path)
		mode = "ok"
	}
	st := &simH2PeerStream{id: id, path: path, mode: mode, size: size, recvWin: p.ourInit, sendWin: p.peerInit, reqEnd: es}
	if p.goAwaySent && id > p.goAwayLast {
		return // above our GOAWAY: ignored, never processed
	}
	over := len(p.order) >= int(p.hb.mcs)
	if over && p.settingsAcked {
		p.fail("sluice opened stream %d beyond MAX_CONCURRENT_STREAMS %d", id, p.hb.mcs)
	}
	p.streams[id] = st
	p.order = append(p.order, id)
	if over || p.hb.rng.IntN(10) == 0 {
		// (Over the limit before sluice saw our SETTINGS: legal, and
		// refused, RFC 9113 5.1.2.)
		// Refused before any processing: sluice may send it again.
		p.out = frame.AppendRSTStream(p.out, id, frame.RefusedStream)
		p.hb.logf("backend %d: refuses stream %d", p.id, id)
		p.hb.refused++
		st.done = true
		p.drop(st)
		return
	}
	st.processed = true
	p.maxProcessed = id
	p.hb.logf("backend %d: stream %d: %s", p.id, id, path)
	if p.hb.processed[path] {
		p.fail("request %s processed twice (sluice retried a request the backend had processed)", path)
	}
	p.hb.processed[path] = true
	st.body = simBody(path, size)
	if es {
		p.requestEnded(st)
	}
}

// requestEnded checks a complete request body against what the client
// model sent (simBody of the path, prefix-consistent).
func (p *simH2Peer) requestEnded(st *simH2PeerStream) {
	st.reqEnd = true
	if len(st.got) > 0 {
		if want := simBody(st.path+"#req", len(st.got)); !bytes.Equal(st.got, want) {
			p.fail("stream %d (%s): request body of %d bytes does not match what the client sent", st.id, st.path, len(st.got))
		}
		p.hb.bodies++
		switch len(st.got) {
		case 1, 100, 5000, 70000:
		default:
			p.fail("stream %d (%s): request body of %d bytes, not a length the client sends", st.id, st.path, len(st.got))
		}
	}
}

// drop forgets a stream both sides are done with (or that was reset).
func (p *simH2Peer) drop(st *simH2PeerStream) {
	delete(p.streams, st.id)
	for i, id := range p.order {
		if id == st.id {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	// Credit for what the stream received still counts on the connection.
	st.unacked = 0
}

// credit returns window for the DATA consumed, unless withholding.
func (p *simH2Peer) credit() {
	if p.withhold {
		return
	}
	if p.unackedConn > 0 {
		p.out = frame.AppendWindowUpdate(p.out, 0, uint32(p.unackedConn))
		p.recvConn += p.unackedConn
		p.unackedConn = 0
	}
	for _, id := range p.order {
		st := p.streams[id]
		if st.unacked > 0 && !st.reqEnd {
			p.out = frame.AppendWindowUpdate(p.out, id, uint32(st.unacked))
			st.recvWin += st.unacked
			st.unacked = 0
		}
	}
}

func (p *simH2Peer) headers(id frame.StreamID, end bool, fields ...string) {
	p.encBuf.Reset()
	for i := 0; i < len(fields); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	p.out = frame.AppendHeaders(p.out, id, end, true, p.encBuf.Bytes())
}

// answer moves one stream's response forward by the path's mode.
func (p *simH2Peer) answer(st *simH2PeerStream) {
	rng := p.hb.rng
	if st.done {
		return
	}
	// Most modes answer once the request is in; some answer early.
	if !st.reqEnd && rng.IntN(4) != 0 {
		return
	}
	switch st.mode {
	case "stall":
		return
	case "reset":
		code := []frame.ErrCode{frame.InternalError, frame.Cancel, frame.NoError, frame.EnhanceYourCalm}[rng.IntN(4)]
		if code == frame.NoError && !st.headSent {
			code = frame.InternalError
		}
		p.out = frame.AppendRSTStream(p.out, st.id, code)
		st.done = true
		p.drop(st)
		return
	case "die":
		p.dead = true
		p.hb.deaths++
		p.hb.logf("backend %d: dies", p.id)
		return
	}
	if p.hb.hostile && rng.IntN(8) == 0 && p.breakResponse(st) {
		return
	}
	if !st.headSent {
		var named []string
		if p.hb.namePaths {
			named = []string{"x-sim-path", st.path}
		}
		if st.mode == "trailers" {
			p.headers(st.id, false, append([]string{":status", "200", "x-sim", st.mode}, named...)...) // chunked: trailers follow
		} else {
			p.headers(st.id, st.size == 0 && st.mode != "mid", append([]string{":status", "200", "content-length", strconv.Itoa(st.size), "x-sim", st.mode}, named...)...)
		}
		st.headSent = true
		if st.size == 0 && st.mode != "trailers" && st.mode != "mid" {
			p.ended(st)
		}
		return
	}
	if st.mode == "mid" && st.sent >= st.size/2 {
		if rng.IntN(2) == 0 {
			p.out = frame.AppendRSTStream(p.out, st.id, frame.InternalError)
			st.done = true
			p.drop(st)
		} else {
			p.dead = true // the connection breaks mid-response
			p.hb.deaths++
			p.hb.logf("backend %d: breaks off mid-response", p.id)
		}
		return
	}
	if st.mode == "slow" {
		// Small frames, a few at a time.
		for i := rng.IntN(10); i >= 0 && !st.done && st.sent < st.size; i-- {
			p.sendData(st, min(st.size-st.sent, 1+rng.IntN(100)))
		}
		return
	}
	if st.sent < st.size {
		p.sendData(st, min(st.size-st.sent, p.peerMaxFrame, 1+rng.IntN(20000)))
		return
	}
	if st.mode == "trailers" {
		p.headers(st.id, true, "grpc-status", "0")
		p.ended(st)
	}
}

// breakResponse (hostile seeds) breaks a response in a way sluice must
// refuse to forward: a malformed head (an uppercase field name, RFC 9113
// 8.2.1) or DATA beyond sluice's window (6.9.1). The model then goes on
// with the response as if nothing happened: the client must never see it
// complete with a 200.
func (p *simH2Peer) breakResponse(st *simH2PeerStream) bool {
	if !st.headSent {
		p.headers(st.id, false, ":status", "200", "content-length", strconv.Itoa(st.size), "X-Bad", "1")
		st.headSent = true
		p.hb.logf("backend %d: malformed head on stream %d", p.id, st.id)
		p.hb.badHeads++
	} else {
		win := min(p.sendConn, st.sendWin)
		if win < 0 || win >= 64<<10 || st.sent+int(win)+1 > st.size {
			return false
		}
		// Fill the window, then one byte more.
		for left := int(win) + 1; left > 0; {
			n := min(left, p.peerMaxFrame)
			p.out = frame.AppendData(p.out, st.id, false, st.body[st.sent:st.sent+n])
			st.sent += n
			p.sendConn -= int64(n)
			st.sendWin -= int64(n)
			left -= n
		}
		p.hb.logf("backend %d: overruns the window on stream %d by 1", p.id, st.id)
		p.hb.overruns++
		if p.hb.namePaths {
			// Under an HTTP/1.1 front sluice returns credit as soon as
			// DATA arrives: a WINDOW_UPDATE may be on its way or in its
			// owner's mailbox, so "one byte beyond" is beyond the window
			// the model knows, not always the one sluice enforces.
			return true
		}
	}
	p.hb.broken[st.path] = true
	return true
}

// sendData sends up to n bytes of st's response body as one DATA frame,
// within sluice's windows.
func (p *simH2Peer) sendData(st *simH2PeerStream, n int) {
	if st.mode == "mid" {
		n = min(n, max(1, st.size/2-st.sent))
	}
	n = int(min(int64(n), p.sendConn, st.sendWin))
	if n <= 0 {
		return // sluice's windows are closed: wait for credit
	}
	end := st.sent+n == st.size && st.mode != "trailers"
	p.out = frame.AppendData(p.out, st.id, end, st.body[st.sent:st.sent+n])
	st.sent += n
	p.sendConn -= int64(n)
	st.sendWin -= int64(n)
	if end {
		p.ended(st)
	}
}

// ended: our response is complete. A request still uploading is refused
// the rest (RST_STREAM NO_ERROR, RFC 9113 8.1).
func (p *simH2Peer) ended(st *simH2PeerStream) {
	st.done = true
	if !st.reqEnd {
		p.out = frame.AppendRSTStream(p.out, st.id, frame.NoError)
	}
	p.drop(st)
}

func (p *simH2Peer) String() string { return fmt.Sprintf("backend %d", p.id) }
