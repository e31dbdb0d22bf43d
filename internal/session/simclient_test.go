package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// simClient is the simulator's HTTP/2 client: it speaks valid HTTP/2 with
// random concurrency, bodies, trailers, resets, window updates, PINGs,
// SETTINGS changes and PRIORITY_UPDATEs; the hostile variant also injects
// protocol errors, malformed requests and floods. It checks what sluice
// sends back: frame order per stream, at most one RST_STREAM per stream,
// DATA within the windows it granted, and the body of every complete
// response.
type simClient struct {
	rng     *rand.Rand
	hostile bool
	fail    func(format string, args ...any)

	toServer []byte // bytes waiting to be delivered to sluice
	inBuf    []byte // bytes from sluice not yet parsed into frames
	enc      *hpack.Encoder
	encBuf   bytes.Buffer
	dec      *hpack.Decoder
	decoded  []hpack.HeaderField

	nextID     frame.StreamID
	streams    map[frame.StreamID]*simReq
	order      []frame.StreamID // open streams in id order (deterministic iteration)
	maxStreams int              // our own concurrency choice
	serverMCS  uint32
	stopped    bool // the active phase is over: no new streams, grant all windows

	// Flow control, from sluice's point of view (what it may send us).
	recvConn   int64 // connection window we granted and sluice has not used
	recvInit   int64 // our SETTINGS_INITIAL_WINDOW_SIZE
	unackedWin int64 // connection-level bytes consumed, credit not yet returned
	// What we may send (sluice's windows).
	sendConn      int64
	sendInit      int64
	peerMaxFrame  uint32
	gotSettings   bool
	goAwayLast    frame.StreamID
	goAway        bool
	connErrorSeen frame.ErrCode
	headerBlock   []byte // a response/trailer block being assembled across CONTINUATION
	blockStream   frame.StreamID
	blockEnd      bool
	pingsOut      int
	pendingInit   []int64 // our INITIAL_WINDOW_SIZE changes not yet acknowledged
	settingsAcked int     // SETTINGS ACKs received (the first acknowledges our opening SETTINGS)

	// Outcomes.
	completed, resets, refused, answered int
	malformedPaths                       map[string]bool // requests that must never reach a backend
	brokenPaths                          map[string]bool // responses a hostile backend broke: never complete
}

// simReq is one request stream as the client tracks it.
type simReq struct {
	id        frame.StreamID
	path      string
	mode      string
	size      int
	body      []byte // request body still to send
	bodySent  int
	trailers  bool
	endSent   bool
	recvWin   int64 // stream window we granted, not used by sluice
	sendWin   int64 // sluice's window for our request body
	unacked   int64 // stream bytes consumed, credit not yet returned
	status    int
	head      bool
	got       []byte
	ended     bool // END_STREAM, RST_STREAM or connection end
	rst       bool
	rstCode   frame.ErrCode
	reset     bool // we reset it
	malformed bool
}

func newSimClient(rng *rand.Rand, hostile bool, fail func(string, ...any)) *simClient {
	c := &simClient{
		rng: rng, hostile: hostile, fail: fail,
		nextID: 1, streams: map[frame.StreamID]*simReq{}, maxStreams: 1 + rng.IntN(20),
		recvConn: 65535, recvInit: 65535, sendConn: 65535, sendInit: 65535,
		peerMaxFrame: frame.DefaultMaxFrameSize, serverMCS: 100,
		malformedPaths: map[string]bool{}, brokenPaths: map[string]bool{},
	}
	c.enc = hpack.NewEncoder(&c.encBuf)
	c.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { c.decoded = append(c.decoded, f) })
	// Our SETTINGS: a random initial window, sometimes small to force
	// flow-control stalls.
	win := []int64{65535, 16384, 1 << 20, 4096}[rng.IntN(4)]
	c.recvInit = win
	c.toServer = append(c.toServer, frame.ClientPreface...)
	c.toServer = frame.AppendSettings(c.toServer,
		frame.Setting{ID: frame.SettingInitialWindowSize, Val: uint32(win)},
		frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: 100})
	if rng.IntN(2) == 0 {
		c.toServer = frame.AppendWindowUpdate(c.toServer, 0, 1<<20)
		c.recvConn += 1 << 20
	}
	return c
}

// modes the simulated backend understands, with their weights.
var simModes = []struct {
	name   string
	weight int
}{{"ok", 40}, {"trailers", 10}, {"slow", 10}, {"reset", 6}, {"mid", 6}, {"die", 6}, {"stall", 3}, {"big", 6}}

func (c *simClient) pickMode() string { return simPickMode(c.rng) }

// simPickMode picks a backend mode by weight.
func simPickMode(rng *rand.Rand) string {
	total := 0
	for _, m := range simModes {
		total += m.weight
	}
	r := rng.IntN(total)
	for _, m := range simModes {
		if r -= m.weight; r < 0 {
			return m.name
		}
	}
	return "ok"
}

// act makes the client do one random thing.
func (c *simClient) act() {
	if c.goAway && c.connErrorSeen != 0 {
		return
	}
	switch r := c.rng.IntN(100); {
	case r < 30 && !c.stopped:
		c.openStream()
	case r < 55:
		c.sendBody()
	case r < 75:
		c.returnCredit(false)
	case r < 80 && !c.stopped:
		c.resetOne()
	case r < 84:
		c.toServer = frame.AppendPing(c.toServer, false, [8]byte{byte(c.rng.IntN(256))})
		c.pingsOut++
	case r < 86 && !c.stopped:
		// A SETTINGS change: our initial window. Sluice applies it to open
		// streams when it reads the frame; DATA it sent before is already
		// on the wire ahead of its ACK, so our accounting switches at the
		// ACK (RFC 9113 6.9.2).
		win := []int64{65535, 32768, 1 << 20}[c.rng.IntN(3)]
		c.pendingInit = append(c.pendingInit, win)
		c.toServer = frame.AppendSettings(c.toServer, frame.Setting{ID: frame.SettingInitialWindowSize, Val: uint32(win)})
	case r < 89:
		c.priorityUpdate()
	case r < 95 && c.hostile && !c.stopped:
		c.misbehave()
	}
}

func (c *simClient) openStream() {
	if c.goAway || len(c.order) >= c.maxStreams || len(c.order) >= int(c.serverMCS) {
		return
	}
	id := c.nextID
	c.nextID += 2
	mode := c.pickMode()
	size := []int{0, 10, 1000, 16384, 40000, 100000}[c.rng.IntN(6)]
	if mode == "big" {
		size = 300000
	}
	r := &simReq{id: id, mode: mode, size: size, recvWin: c.recvInit, sendWin: c.sendInit}
	r.path = fmt.Sprintf("/sim/%d/%s/%d", id, mode, size)
	method := "GET"
	if c.rng.IntN(3) == 0 {
		method = "POST"
		r.body = simBody(r.path+"#req", []int{1, 100, 5000, 70000}[c.rng.IntN(4)])
		r.trailers = c.rng.IntN(4) == 0
	}
	fields := []hpack.HeaderField{
		{Name: ":method", Value: method}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: r.path},
	}
	if c.rng.IntN(3) == 0 {
		fields = append(fields, hpack.HeaderField{Name: "priority", Value: fmt.Sprintf("u=%d, i", c.rng.IntN(8))})
	}
	if method == "POST" && c.rng.IntN(2) == 0 {
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(r.body))})
	}
	if c.hostile && c.rng.IntN(6) == 0 {
		// A malformed request: it must be answered with RST_STREAM and
		// never reach a backend.
		r.malformed = true
		c.malformedPaths[r.path] = true
		switch c.rng.IntN(3) {
		case 0:
			fields = append(fields, hpack.HeaderField{Name: "Upper-Case", Value: "x"})
		case 1:
			fields = append(fields, hpack.HeaderField{Name: "connection", Value: "close"})
		default:
			fields = append([]hpack.HeaderField{{Name: "x-early", Value: "1"}}, fields...)
		}
	}
	c.encBuf.Reset()
	for _, f := range fields {
		c.enc.WriteField(f)
	}
	block := c.encBuf.Bytes()
	end := len(r.body) == 0
	// Sometimes split the block across CONTINUATION frames.
	if len(block) > 8 && c.rng.IntN(4) == 0 {
		cut := 1 + c.rng.IntN(len(block)-1)
		c.toServer = frame.AppendHeaders(c.toServer, id, end, false, block[:cut])
		c.toServer = frame.AppendContinuation(c.toServer, id, true, block[cut:])
	} else {
		c.toServer = frame.AppendHeaders(c.toServer, id, end, true, block)
	}
	r.endSent = end
	c.streams[id] = r
	c.order = append(c.order, id)
}

// sendBody sends a piece of some stream's request body within sluice's
// windows.
func (c *simClient) sendBody() {
	for _, id := range c.order {
		r := c.streams[id]
		if r.endSent || r.ended || r.reset {
			continue
		}
		left := len(r.body) - r.bodySent
		n := min(left, int(min(r.sendWin, c.sendConn)), int(c.peerMaxFrame), 1+c.rng.IntN(20000))
		if n <= 0 && left > 0 {
			continue // blocked on sluice's windows
		}
		end := r.bodySent+n == len(r.body) && !r.trailers
		c.toServer = frame.AppendData(c.toServer, id, end, r.body[r.bodySent:r.bodySent+n])
		r.bodySent += n
		r.sendWin -= int64(n)
		c.sendConn -= int64(n)
		if end {
			r.endSent = true
		} else if r.bodySent == len(r.body) && r.trailers {
			c.encBuf.Reset()
			c.enc.WriteField(hpack.HeaderField{Name: "x-checksum", Value: "done"})
			c.toServer = frame.AppendHeaders(c.toServer, id, true, true, c.encBuf.Bytes())
			r.endSent = true
		}
		return
	}
}

// returnCredit sends WINDOW_UPDATEs for consumed response bytes (all of
// them when all is set, or after the active phase).
func (c *simClient) returnCredit(all bool) {
	all = all || c.stopped
	if c.unackedWin > 0 && (all || c.rng.IntN(2) == 0) {
		c.toServer = frame.AppendWindowUpdate(c.toServer, 0, uint32(c.unackedWin))
		c.recvConn += c.unackedWin
		c.unackedWin = 0
	}
	for _, id := range c.order {
		r := c.streams[id]
		if r.unacked > 0 && !r.ended && (all || c.rng.IntN(2) == 0) {
			c.toServer = frame.AppendWindowUpdate(c.toServer, id, uint32(r.unacked))
			r.recvWin += r.unacked
			r.unacked = 0
		}
	}
}

func (c *simClient) resetOne() {
	if len(c.order) == 0 {
		return
	}
	r := c.streams[c.order[c.rng.IntN(len(c.order))]]
	if r.ended || r.reset {
		return
	}
	r.reset = true
	c.toServer = frame.AppendRSTStream(c.toServer, r.id, frame.Cancel)
	c.endStream(r)
}

func (c *simClient) priorityUpdate() {
	target := c.nextID // sometimes for a stream not yet open
	if len(c.order) > 0 && c.rng.IntN(2) == 0 {
		target = c.order[c.rng.IntN(len(c.order))]
	}
	c.toServer = frame.AppendPriorityUpdate(c.toServer, target, []byte(fmt.Sprintf("u=%d", c.rng.IntN(8))))
}

// misbehave sends one protocol violation or a burst that a flood defence
// may cut off. Any of them may end the connection: that is a valid
// outcome, and the invariants must hold all the same.
func (c *simClient) misbehave() {
	switch c.rng.IntN(6) {
	case 0:
		c.toServer = frame.AppendWindowUpdate(c.toServer, 0, 0) // PROTOCOL_ERROR
	case 1:
		for range 150 {
			c.toServer = frame.AppendPing(c.toServer, false, [8]byte{})
		}
	case 2:
		c.toServer = frame.AppendData(c.toServer, 0, false, []byte("x")) // DATA on stream 0
	case 3:
		for range 120 {
			c.toServer = frame.AppendData(c.toServer, c.nextID-2, false, nil)
		}
	case 4:
		c.toServer = frame.AppendRaw(c.toServer, frame.Header{Type: 0xfa, StreamID: 1}, []byte("unknown"))
	default:
		if len(c.order) > 0 {
			// A WINDOW_UPDATE that overflows a stream's window unless it
			// was empty: RST_STREAM(FLOW_CONTROL_ERROR) (MadeYouReset);
			// when it does not overflow, sluice may use it all.
			r := c.streams[c.order[0]]
			c.toServer = frame.AppendWindowUpdate(c.toServer, r.id, 1<<31-1)
			r.recvWin += 1<<31 - 1
		}
	}
}

// fromServer parses bytes sluice wrote.
func (c *simClient) fromServer(p []byte) {
	c.inBuf = append(c.inBuf, p...)
	simFrames(&c.inBuf, -1, frame.MaxMaxFrameSize, c.frame, func(err error) {
		c.fail("client: unparseable frame from sluice: %v", err)
	})
}

// simFrames hands each whole frame at the start of *buf to each and
// consumes it, while budget lasts (bytes; negative: no bound).
func simFrames(buf *[]byte, budget int, maxFrame uint32, each func(frame.Header, []byte), bad func(error)) {
	for budget != 0 {
		h, payload, n, err := frame.Next(*buf, maxFrame)
		if err != nil {
			bad(err)
			*buf = nil
			return
		}
		if n == 0 {
			return
		}
		each(h, payload)
		*buf = (*buf)[n:]
		if budget > 0 {
			budget = max(0, budget-n)
		}
	}
}

func (c *simClient) frame(h frame.Header, payload []byte) {
	if h.Length > c.peerMaxFrameWeAccept() {
		c.fail("client: frame larger than our max frame size: %v", h)
	}
	switch h.Type {
	case frame.TypeSettings:
		f, err := frame.ParseSettings(h, payload)
		if err != nil {
			c.fail("client: bad SETTINGS: %v", err)
			return
		}
		if f.Ack {
			if len(c.pendingInit) > 0 && c.settingsAcked > 0 {
				win := c.pendingInit[0]
				c.pendingInit = c.pendingInit[1:]
				delta := win - c.recvInit
				c.recvInit = win
				for _, id := range c.order {
					c.streams[id].recvWin += delta
				}
			}
			c.settingsAcked++
			return
		}
		for i := range f.NumSettings() {
			s := f.Setting(i)
			switch s.ID {
			case frame.SettingInitialWindowSize:
				delta := int64(s.Val) - c.sendInit
				c.sendInit = int64(s.Val)
				for _, id := range c.order {
					c.streams[id].sendWin += delta
				}
			case frame.SettingMaxConcurrentStreams:
				c.serverMCS = s.Val
			case frame.SettingMaxFrameSize:
				c.peerMaxFrame = s.Val
			}
		}
		c.gotSettings = true
		c.toServer = frame.AppendSettingsAck(c.toServer)
	case frame.TypeWindowUpdate:
		f, err := frame.ParseWindowUpdate(h, payload)
		if err != nil || f.Increment == 0 {
			c.fail("client: bad WINDOW_UPDATE from sluice: %v %v", h, err)
			return
		}
		if h.StreamID == 0 {
			c.sendConn += int64(f.Increment)
		} else if r := c.streams[h.StreamID]; r != nil {
			r.sendWin += int64(f.Increment)
		}
	case frame.TypePing:
		f, _ := frame.ParsePing(h, payload)
		if !f.Ack {
			c.toServer = frame.AppendPing(c.toServer, true, f.Data)
		} else {
			c.pingsOut--
		}
	case frame.TypeGoAway:
		g, err := frame.ParseGoAway(h, payload)
		if err != nil {
			c.fail("client: bad GOAWAY: %v", err)
			return
		}
		if c.goAway && g.LastStreamID > c.goAwayLast {
			c.fail("client: GOAWAY last id went up from %d to %d", c.goAwayLast, g.LastStreamID)
		}
		c.goAway, c.goAwayLast = true, g.LastStreamID
		if g.Code != frame.NoError {
			c.connErrorSeen = g.Code
		}
		// Streams above the last id were not processed: they end.
		for _, id := range c.order {
			if id > g.LastStreamID {
				c.refused++
				c.endStream(c.streams[id])
			}
		}
	case frame.TypeRSTStream:
		f, _ := frame.ParseRSTStream(h, payload)
		r := c.streams[h.StreamID]
		if r == nil {
			if c.seen(h.StreamID) {
				return // a reset for a stream we already ended (ours crossed theirs)
			}
			c.fail("client: RST_STREAM for unknown stream %d", h.StreamID)
			return
		}
		if r.rst {
			c.fail("client: second RST_STREAM on stream %d", h.StreamID)
		}
		r.rst, r.rstCode = true, f.Code
		c.resets++
		c.endStream(r)
	case frame.TypeHeaders, frame.TypeContinuation:
		c.headers(h, payload)
	case frame.TypeData:
		c.data(h, payload)
	case frame.TypePushPromise:
		c.fail("client: PUSH_PROMISE from a proxy")
	}
}

func (c *simClient) peerMaxFrameWeAccept() uint32 { return frame.DefaultMaxFrameSize }

// seen reports whether id was opened by us (and is now ended).
func (c *simClient) seen(id frame.StreamID) bool { return id < c.nextID && id.IsClient() }

func (c *simClient) headers(h frame.Header, payload []byte) {
	var frag []byte
	var endHeaders, endStream bool
	if h.Type == frame.TypeHeaders {
		f, err := frame.ParseHeaders(h, payload)
		if err != nil {
			c.fail("client: bad HEADERS: %v", err)
			return
		}
		frag, endHeaders, endStream = f.Fragment, f.EndHeaders, f.EndStream
		c.headerBlock, c.blockStream, c.blockEnd = c.headerBlock[:0], h.StreamID, endStream
	} else {
		f, err := frame.ParseContinuation(h, payload)
		if err != nil || h.StreamID != c.blockStream {
			c.fail("client: bad CONTINUATION: %v", err)
			return
		}
		frag, endHeaders = f.Fragment, f.EndHeaders
	}
	c.headerBlock = append(c.headerBlock, frag...)
	if !endHeaders {
		return
	}
	c.decoded = c.decoded[:0]
	if _, err := c.dec.Write(c.headerBlock); err != nil {
		c.fail("client: HPACK: %v", err)
		return
	}
	r := c.streams[c.blockStream]
	if r == nil {
		if !c.seen(c.blockStream) {
			c.fail("client: HEADERS for unknown stream %d", c.blockStream)
		}
		return
	}
	if r.ended {
		c.fail("client: HEADERS on ended stream %d", r.id)
	}
	status := 0
	for _, f := range c.decoded {
		if f.Name == ":status" {
			status, _ = strconv.Atoi(f.Value)
		}
	}
	switch {
	case status >= 200:
		if r.head {
			c.fail("client: second final head on stream %d", r.id)
		}
		r.head, r.status = true, status
	case status == 0 && r.head:
		// trailers
		if !c.blockEnd {
			c.fail("client: trailers without END_STREAM on %d", r.id)
		}
	case status == 0:
		c.fail("client: response without :status on %d", r.id)
	}
	if c.blockEnd {
		c.finish(r)
	}
}

func (c *simClient) data(h frame.Header, payload []byte) {
	f, ok := simData(h, payload, &c.recvConn, &c.unackedWin, c.fail, "client: ")
	if !ok {
		return
	}
	n := int64(h.Length)
	r := c.streams[h.StreamID]
	if r == nil {
		if !c.seen(h.StreamID) {
			c.fail("client: DATA for unknown stream %d", h.StreamID)
		}
		return
	}
	// A window may be negative after we lowered SETTINGS_INITIAL_WINDOW_SIZE
	// (RFC 9113 6.9.2); only DATA beyond what is left is an overrun.
	if n > 0 && n > r.recvWin {
		c.fail("client: sluice overran stream %d's window by %d", r.id, n-r.recvWin)
	}
	r.recvWin -= n
	r.unacked += n
	if !r.head {
		c.fail("client: DATA before HEADERS on stream %d", r.id)
	}
	r.got = append(r.got, f.Data...)
	if f.EndStream {
		c.finish(r)
	}
}

// simData parses a DATA frame sluice sent to a peer model and charges it
// to the connection window the model granted (win), failing when sluice
// overran it; unacked counts what the model has to credit back.
func simData(h frame.Header, payload []byte, win, unacked *int64, fail func(string, ...any), who string) (frame.Data, bool) {
	f, err := frame.ParseData(h, payload)
	if err != nil {
		fail(who+"bad DATA: %v", err)
		return f, false
	}
	n := int64(h.Length)
	if n > *win {
		fail(who+"sluice overran the connection window by %d", n-*win)
	}
	*win -= n
	*unacked += n
	return f, true
}

// finish checks a complete response against what the backend model sends
// for its mode.
func (c *simClient) finish(r *simReq) {
	c.answered++
	switch {
	case r.malformed:
		c.fail("client: malformed request %s got a response %d", r.path, r.status)
	case c.brokenPaths[r.path] && r.status == 200:
		c.fail("client: %s: a response the backend broke (malformed head, window overrun) reached the client whole", r.path)
	case r.status == 200 && (r.mode == "ok" || r.mode == "trailers" || r.mode == "slow" || r.mode == "big"):
		want := simBody(r.path, r.size)
		if !bytes.Equal(r.got, want) {
			c.fail("client: stream %d (%s): body of %d bytes does not match the %d expected", r.id, r.path, len(r.got), len(want))
		}
		c.completed++
	case r.status == 502 && (r.mode == "die"):
	case r.status == 504 && (r.mode == "stall" || r.mode == "slow" || r.mode == "big"):
	case r.status >= 500 && r.status < 600:
		// A default answer for an exchange that failed in the model's
		// timing (e.g. a slow backend timed out): acceptable, checked by
		// the backend model's own accounting.
	default:
		c.fail("client: stream %d (%s) ended with status %d", r.id, r.path, r.status)
	}
	c.endStream(r)
}

func (c *simClient) endStream(r *simReq) {
	if r.ended {
		return
	}
	r.ended = true
	delete(c.streams, r.id)
	for i, id := range c.order {
		if id == r.id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

// open reports how many streams have not ended.
func (c *simClient) open() int { return len(c.order) }

// simBody is the deterministic content of a body: a checksum of what
// arrived tells whether it is intact.
func simBody(key string, n int) []byte {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	b := make([]byte, n)
	for i := range b {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		b[i] = byte(h)
	}
	return b
}

// parseSimPath reads /sim/<id>/<mode>/<size>.
func parseSimPath(p string) (mode string, size int, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) != 5 || parts[1] != "sim" {
		return "", 0, false
	}
	size, err := strconv.Atoi(parts[4])
	return parts[3], size, err == nil
}
