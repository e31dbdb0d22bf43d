package h2

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// A frame-level harness for the engine in server role, in the style of
// x/net/http2's server tests: the test plays the client, writes raw frames
// (greet, writeHeaders, writeData, ...) and expects frames back
// (wantHeaders, wantRSTStream(id, code), wantGoAway(last, code), ...). The
// clock is fake and advanced by hand, so timers are deterministic. After
// every step the invariants of DESIGN.md 4 are checked (invariants_test.go).

// fakeClock is the injectable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// reqRec is a request the handler saw, copied out of the decoder.
type reqRec struct {
	id                                   StreamID
	method, scheme, authority, path, pro string
	fields                               []string // "name: value"
	contentLength                        int64
	te, endStream                        bool
}

// closedRec is an OnClosed call.
type closedRec struct {
	id    StreamID
	code  ErrCode
	peer  bool
	reap  string
	state StreamState
}

// recHandler records every callback. Hooks let a test answer from inside
// a callback, as the session does for default answers.
type recHandler struct {
	st       *serverTester
	requests []reqRec
	streams  map[StreamID]*Stream // every stream OnRequest'd (kept after close)
	data     map[StreamID][]byte
	dataEnd  map[StreamID]bool
	dataCall map[StreamID]int
	trailers map[StreamID][]string
	closed   []closedRec
	goAways  []string

	autoConsume bool // Consume every OnData byte at once
	noRelease   bool // do not Release in OnClosed

	onRequest func(s *Stream, req *Request)
	onData    func(s *Stream, p []byte, end bool)
}

func (h *recHandler) OnRequest(s *Stream, req *Request) {
	h.st.inv.OnRequest(s)
	r := reqRec{
		id: s.ID(), method: string(req.Method), scheme: string(req.Scheme), authority: string(req.Authority),
		path: string(req.Path), pro: string(req.Protocol), contentLength: req.ContentLength,
		te: req.TETrailers, endStream: req.EndStream,
	}
	for _, f := range req.Fields {
		r.fields = append(r.fields, f.String())
	}
	h.requests = append(h.requests, r)
	h.streams[s.ID()] = s
	if h.onRequest != nil {
		h.onRequest(s, req)
	}
}

func (h *recHandler) OnResponse(s *Stream, resp *Response) {
	h.st.t.Errorf("OnResponse on a server connection (stream %d)", s.ID())
}

func (h *recHandler) OnData(s *Stream, p []byte, end bool) {
	h.data[s.ID()] = append(h.data[s.ID()], p...)
	h.dataCall[s.ID()]++
	if end {
		h.dataEnd[s.ID()] = true
	}
	if h.onData != nil {
		h.onData(s, p, end)
	}
	if h.autoConsume {
		h.st.c.Consume(s, len(p))
	}
}

func (h *recHandler) OnTrailers(s *Stream, fields []Field) {
	var fs []string
	for _, f := range fields {
		fs = append(fs, f.String())
	}
	h.trailers[s.ID()] = fs
}

func (h *recHandler) OnClosed(s *Stream) {
	h.st.inv.OnClosed(s)
	h.closed = append(h.closed, closedRec{id: s.ID(), code: s.CloseCode(), peer: s.ResetByPeer(), reap: s.ReapReason(), state: s.State()})
	if !h.noRelease {
		h.st.c.Release(s)
	}
}

func (h *recHandler) OnGoAway(last StreamID, code ErrCode, debug []byte) {
	h.goAways = append(h.goAways, last.String()+" "+code.String())
}

// request returns the request recorded for id (fails if none).
func (h *recHandler) request(id StreamID) reqRec {
	h.st.t.Helper()
	for _, r := range h.requests {
		if r.id == id {
			return r
		}
	}
	h.st.t.Fatalf("no request on stream %d (requests: %v)", id, h.requests)
	return reqRec{}
}

func (h *recHandler) closedCode(id StreamID) (ErrCode, bool) {
	for _, c := range h.closed {
		if c.id == id {
			return c.code, true
		}
	}
	return 0, false
}

// recObserver counts what the Observer is told.
type recObserver struct {
	sent, recv        map[frame.FrameType]int
	rstSent, rstRecv  map[ErrCode]int
	goAwaySent, gaRcv map[ErrCode]int
	floods            []FloodKind
	reaped            []string
	refused, shrunk   int
	tooLarge          int
}

func newRecObserver() *recObserver {
	return &recObserver{
		sent: map[frame.FrameType]int{}, recv: map[frame.FrameType]int{},
		rstSent: map[ErrCode]int{}, rstRecv: map[ErrCode]int{},
		goAwaySent: map[ErrCode]int{}, gaRcv: map[ErrCode]int{},
	}
}

func (o *recObserver) FrameReceived(t frame.FrameType) { o.recv[t]++ }
func (o *recObserver) FrameSent(t frame.FrameType)     { o.sent[t]++ }
func (o *recObserver) RSTSent(c ErrCode)               { o.rstSent[c]++ }
func (o *recObserver) RSTReceived(c ErrCode)           { o.rstRecv[c]++ }
func (o *recObserver) GoAwaySent(c ErrCode)            { o.goAwaySent[c]++ }
func (o *recObserver) GoAwayReceived(c ErrCode)        { o.gaRcv[c]++ }
func (o *recObserver) Flood(k FloodKind)               { o.floods = append(o.floods, k) }
func (o *recObserver) Reaped(r string)                 { o.reaped = append(o.reaped, r) }
func (o *recObserver) Refused()                        { o.refused++ }
func (o *recObserver) MCSShrunk()                      { o.shrunk++ }
func (o *recObserver) PriorityUpdate()                 {}
func (o *recObserver) PriorityDropped()                {}
func (o *recObserver) HeadersTooLarge()                { o.tooLarge++ }

// gotFrame is one frame we sent, as the client read it.
type gotFrame struct {
	frame.Header
	payload []byte
	// fields is the decoded field block, on the frame that carried
	// END_HEADERS (a HEADERS, or the last CONTINUATION).
	fields []hpack.HeaderField
}

func (f gotFrame) String() string { return f.Header.String() }

// serverTester drives one server Conn.
type serverTester struct {
	t     testing.TB
	clock *fakeClock
	c     *Conn
	h     *recHandler
	obs   *recObserver
	inv   *InvariantChecker

	enc    *hpack.Encoder // the client's HPACK encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder // decodes our field blocks
	block  []byte         // a field block being assembled from our output

	wire   []byte // our output not yet cut into frames
	frames []gotFrame
	err    error // the last error Feed/Tick returned

	// autoProduce runs a Produce pass after every Feed, as the session
	// does after each batch of events.
	autoProduce bool
	// partialWrite, when set, makes the driver write only part of
	// Pending in some steps (fuzzing the Written bookkeeping).
	partialWrite func() int

	clientMaxFrame uint32
}

// newServerTester builds a Conn in server role with cfg (zero fields take
// the defaults), starts it and captures its opening frames. It does not
// greet.
func newServerTester(t testing.TB, opts ...func(*Config)) *serverTester {
	t.Helper()
	cfg := Config{Role: Server}
	for _, o := range opts {
		o(&cfg)
	}
	st := &serverTester{
		t:              t,
		clock:          &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		obs:            newRecObserver(),
		autoProduce:    true,
		clientMaxFrame: frame.DefaultMaxFrameSize,
	}
	st.h = &recHandler{
		st: st, streams: map[StreamID]*Stream{}, data: map[StreamID][]byte{}, dataEnd: map[StreamID]bool{},
		dataCall: map[StreamID]int{}, trailers: map[StreamID][]string{}, autoConsume: true,
	}
	st.c = NewConn(cfg, st.h, st.obs, st.clock.now)
	st.inv = NewInvariantChecker(st.c, func(msg string) { t.Helper(); t.Error(msg) })
	st.enc = hpack.NewEncoder(&st.encBuf)
	st.dec = hpack.NewDecoder(4096, nil)
	st.step(func() { st.c.Start() })
	return st
}

// step runs one engine entry point (Feed, Produce, Tick) and checks the
// invariants after it.
func (st *serverTester) step(fn func()) {
	st.t.Helper()
	st.inv.BeginStep()
	fn()
	st.flush(true)
}

// flush moves Pending to the wire (as a driver would) and checks the
// invariants.
func (st *serverTester) flush(entry bool) {
	st.t.Helper()
	out := st.c.Pending()
	n := len(out)
	if st.partialWrite != nil {
		n = min(n, st.partialWrite())
	}
	written := slices.Clone(out[:n])
	st.c.Written(n)
	st.inv.OurBytes(written)
	st.wire = append(st.wire, written...)
	st.cutFrames()
	full := len(st.c.Pending()) == 0 && len(st.wire) == 0
	st.inv.EndStep(full, entry)
	if full {
		st.inv.CheckObserver(st.obs.sent)
	}
	if entry && st.h.autoConsume {
		st.checkCredit()
	}
}

// checkCredit: with a handler that consumes every byte at once, no
// receive credit may leak: each window plus the credit not yet returned
// is what we advertised. A leak would slowly close the peer's windows.
func (st *serverTester) checkCredit() {
	st.t.Helper()
	c := st.c
	if c.state == connClosed || st.inv.inDead {
		return
	}
	if got := c.recvWindow + c.recvCredit; got != int64(c.cfg.ConnWindowSize) && c.state == connOpen {
		st.t.Errorf("connection receive window %d + unreturned credit %d != %d", c.recvWindow, c.recvCredit, c.cfg.ConnWindowSize)
	}
	for id, s := range c.streams {
		if s.remoteClosed() {
			continue
		}
		if got := s.recvWindow + s.recvCredit; got != int64(c.cfg.InitialWindowSize) {
			st.t.Errorf("stream %d receive window %d + unreturned credit %d != %d", id, s.recvWindow, s.recvCredit, c.cfg.InitialWindowSize)
		}
	}
}

// cutFrames splits the wire into frames, decoding field blocks in wire
// order (HPACK state follows the wire).
func (st *serverTester) cutFrames() {
	for {
		h, payload, n, err := frame.Next(st.wire, frame.MaxMaxFrameSize)
		if err != nil {
			st.t.Fatalf("our output does not parse: %v", err)
		}
		if n == 0 {
			return
		}
		f := gotFrame{Header: h, payload: slices.Clone(payload)}
		st.wire = st.wire[n:]
		switch h.Type {
		case frame.TypeHeaders:
			hf, err := frame.ParseHeaders(h, f.payload)
			if err != nil {
				st.t.Fatalf("our HEADERS does not parse: %v", err)
			}
			st.block = append(st.block[:0], hf.Fragment...)
			if hf.EndHeaders {
				f.fields = st.decodeBlock()
			}
		case frame.TypeContinuation:
			st.block = append(st.block, f.payload...)
			if h.Flags.Has(frame.FlagEndHeaders) {
				f.fields = st.decodeBlock()
			}
		}
		st.frames = append(st.frames, f)
	}
}

func (st *serverTester) decodeBlock() []hpack.HeaderField {
	fields, err := st.dec.DecodeFull(st.block)
	if err != nil {
		st.t.Fatalf("our field block does not decode: %v", err)
	}
	if fields == nil {
		fields = []hpack.HeaderField{}
	}
	return fields
}

// feed hands raw bytes to the engine as one read.
func (st *serverTester) feed(b []byte) {
	st.t.Helper()
	st.step(func() {
		st.inv.PeerBytes(b)
		if err := st.c.Feed(b); err != nil {
			st.err = err
		}
	})
	if st.autoProduce {
		st.produce()
	}
}

// produce runs one write pass.
func (st *serverTester) produce() {
	st.t.Helper()
	st.step(st.c.Produce)
}

// advance moves the fake clock by d as a driver's timer would: it asks
// NextDeadline, sleeps until it, runs Tick (and a write pass), and again,
// until the deadline lies beyond d. NextDeadline arms the coarse reaper
// clock, so it is called after every step, as the session does.
func (st *serverTester) advance(d time.Duration) {
	st.t.Helper()
	target := st.clock.t.Add(d)
	for st.err == nil && !st.c.ShouldClose() {
		dl := st.c.NextDeadline()
		if dl.IsZero() || dl.After(target) {
			break
		}
		if dl.After(st.clock.t) {
			st.clock.t = dl
		}
		st.step(func() {
			if err := st.c.Tick(); err != nil {
				st.err = err
			}
		})
		if st.autoProduce {
			st.produce()
		}
	}
	st.clock.t = target
	st.c.NextDeadline()
}

// do runs fn (a handler-side call into the Conn) as a step, then a write
// pass.
func (st *serverTester) do(fn func()) {
	st.t.Helper()
	st.inv.BeginStep()
	fn()
	st.flush(false)
	if st.autoProduce {
		st.produce()
	}
}

// greet performs the connection preface exchange: the client preface and
// an empty SETTINGS, our SETTINGS and the connection WINDOW_UPDATE, our
// ACK of the client's SETTINGS, and the client's ACK of ours.
func (st *serverTester) greet(settings ...frame.Setting) {
	st.t.Helper()
	st.greetNoAck(settings...)
	st.writeSettingsAck()
}

// greetNoAck is greet without the client's ACK of our SETTINGS.
func (st *serverTester) greetNoAck(settings ...frame.Setting) {
	st.t.Helper()
	b := append([]byte(frame.ClientPreface), frame.AppendSettings(nil, settings...)...)
	st.feed(b)
	st.wantSettings()
	wu := st.wantFrame(frame.TypeWindowUpdate)
	if wu.StreamID != 0 {
		st.t.Fatalf("opening WINDOW_UPDATE on stream %d", wu.StreamID)
	}
	if inc := st.windowIncrement(wu); int64(inc) != int64(st.c.cfg.ConnWindowSize)-initialWindow {
		st.t.Fatalf("opening WINDOW_UPDATE of %d, want %d", inc, st.c.cfg.ConnWindowSize-initialWindow)
	}
	st.wantSettingsAck()
	for _, s := range settings {
		if s.ID == frame.SettingMaxFrameSize {
			st.clientMaxFrame = s.Val
		}
	}
}

// Frame writers (the client side).

func (st *serverTester) writeRaw(h frame.Header, payload []byte) {
	st.t.Helper()
	st.feed(frame.AppendRaw(nil, h, payload))
}

// hf builds header fields from name, value pairs.
func hf(kv ...string) []hpack.HeaderField {
	if len(kv)%2 != 0 {
		panic("hf: odd number of strings")
	}
	var out []hpack.HeaderField
	for i := 0; i < len(kv); i += 2 {
		out = append(out, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// reqFields is a valid GET request's fields plus extra.
func reqFields(extra ...string) []hpack.HeaderField {
	return append(hf(":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/"), hf(extra...)...)
}

// postFields is a POST request's fields plus extra.
func postFields(extra ...string) []hpack.HeaderField {
	return append(hf(":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/upload"), hf(extra...)...)
}

// encode HPACK-encodes fields with the client's encoder. Only encode what
// is sent: the server's decoder follows the encoder's table.
func (st *serverTester) encode(fields []hpack.HeaderField) []byte {
	st.encBuf.Reset()
	for _, f := range fields {
		if err := st.enc.WriteField(f); err != nil {
			st.t.Fatal(err)
		}
	}
	return slices.Clone(st.encBuf.Bytes())
}

// writeHeaders sends a complete field block in one HEADERS frame.
func (st *serverTester) writeHeaders(id StreamID, endStream bool, fields []hpack.HeaderField) {
	st.t.Helper()
	st.feed(frame.AppendHeaders(nil, id, endStream, true, st.encode(fields)))
}

// writeRequest opens stream id with a GET and END_STREAM.
func (st *serverTester) writeRequest(id StreamID) {
	st.t.Helper()
	st.writeHeaders(id, true, reqFields())
}

func (st *serverTester) writeData(id StreamID, endStream bool, data []byte) {
	st.t.Helper()
	st.feed(frame.AppendData(nil, id, endStream, data))
}

func (st *serverTester) writeRST(id StreamID, code ErrCode) {
	st.t.Helper()
	st.feed(frame.AppendRSTStream(nil, id, code))
}

func (st *serverTester) writeWindowUpdate(id StreamID, incr uint32) {
	st.t.Helper()
	st.feed(frame.AppendWindowUpdate(nil, id, incr))
}

func (st *serverTester) writeSettings(s ...frame.Setting) {
	st.t.Helper()
	st.feed(frame.AppendSettings(nil, s...))
}

func (st *serverTester) writeSettingsAck() {
	st.t.Helper()
	st.feed(frame.AppendSettingsAck(nil))
}

func (st *serverTester) writePing(ack bool, data [8]byte) {
	st.t.Helper()
	st.feed(frame.AppendPing(nil, ack, data))
}

// Expectations over what we sent.

// nextFrame returns the next frame we sent, or fails.
func (st *serverTester) nextFrame() gotFrame {
	st.t.Helper()
	if len(st.frames) == 0 {
		st.t.Fatalf("expected a frame, the server sent none")
	}
	f := st.frames[0]
	st.frames = st.frames[1:]
	return f
}

// wantFrame returns the next frame, which must be of type typ.
func (st *serverTester) wantFrame(typ frame.FrameType) gotFrame {
	st.t.Helper()
	f := st.nextFrame()
	if f.Type != typ {
		st.t.Fatalf("got %v, want a %v frame (then: %v)", f, typ, st.frames)
	}
	return f
}

// wantNoFrame: nothing was sent since the last expectation.
func (st *serverTester) wantNoFrame() {
	st.t.Helper()
	if len(st.frames) > 0 {
		st.t.Fatalf("unexpected frames: %v", st.frames)
	}
}

// drainFrames discards the frames sent so far.
func (st *serverTester) drainFrames() []gotFrame {
	f := st.frames
	st.frames = nil
	return f
}

func (st *serverTester) wantSettings() frame.Settings {
	st.t.Helper()
	f := st.wantFrame(frame.TypeSettings)
	s, err := frame.ParseSettings(f.Header, f.payload)
	if err != nil || s.Ack {
		st.t.Fatalf("want SETTINGS, got %v (ack=%v, err=%v)", f, s.Ack, err)
	}
	return s
}

func (st *serverTester) wantSettingsAck() {
	st.t.Helper()
	f := st.wantFrame(frame.TypeSettings)
	if !f.Flags.Has(frame.FlagAck) || f.Length != 0 {
		st.t.Fatalf("want SETTINGS ACK, got %v", f)
	}
}

// wantRSTStream: the next frame resets id with code.
func (st *serverTester) wantRSTStream(id StreamID, code ErrCode) {
	st.t.Helper()
	f := st.wantFrame(frame.TypeRSTStream)
	r, err := frame.ParseRSTStream(f.Header, f.payload)
	if err != nil {
		st.t.Fatal(err)
	}
	if f.StreamID != id || r.Code != code {
		st.t.Fatalf("got RST_STREAM(%d, %v), want RST_STREAM(%d, %v)", f.StreamID, r.Code, id, code)
	}
}

// wantGoAway: the next frame is GOAWAY(last, code).
func (st *serverTester) wantGoAway(last StreamID, code ErrCode) {
	st.t.Helper()
	f := st.wantFrame(frame.TypeGoAway)
	g, err := frame.ParseGoAway(f.Header, f.payload)
	if err != nil {
		st.t.Fatal(err)
	}
	if g.LastStreamID != last || g.Code != code {
		st.t.Fatalf("got GOAWAY(last=%d, %v), want GOAWAY(last=%d, %v)", g.LastStreamID, g.Code, last, code)
	}
}

// wantConnError: the connection ended with GOAWAY(last, code) and Feed
// reported it.
func (st *serverTester) wantConnError(last StreamID, code ErrCode) {
	st.t.Helper()
	st.wantGoAway(last, code)
	if st.err == nil {
		st.t.Fatalf("GOAWAY sent but Feed returned no error")
	}
	if !st.c.ShouldClose() {
		st.t.Fatalf("GOAWAY(%v) sent but ShouldClose is false", code)
	}
}

func (st *serverTester) wantPing(ack bool, data [8]byte) {
	st.t.Helper()
	f := st.wantFrame(frame.TypePing)
	p, err := frame.ParsePing(f.Header, f.payload)
	if err != nil || p.Ack != ack || p.Data != data {
		st.t.Fatalf("got %v %x (err %v), want PING ack=%v %x", f, p.Data, err, ack, data)
	}
}

func (st *serverTester) windowIncrement(f gotFrame) uint32 {
	st.t.Helper()
	w, err := frame.ParseWindowUpdate(f.Header, f.payload)
	if err != nil {
		st.t.Fatal(err)
	}
	return w.Increment
}

// wantWindowUpdate: the next frame is WINDOW_UPDATE on id; returns the
// increment.
func (st *serverTester) wantWindowUpdate(id StreamID) uint32 {
	st.t.Helper()
	f := st.wantFrame(frame.TypeWindowUpdate)
	if f.StreamID != id {
		st.t.Fatalf("got %v, want WINDOW_UPDATE on stream %d", f, id)
	}
	return st.windowIncrement(f)
}

// wantHeaders: the next frames are a field block on id; returns the
// fields as "name: value" strings.
func (st *serverTester) wantHeaders(id StreamID, endStream bool) []string {
	st.t.Helper()
	f := st.wantFrame(frame.TypeHeaders)
	if f.StreamID != id || f.Flags.Has(frame.FlagEndStream) != endStream {
		st.t.Fatalf("got %v, want HEADERS on stream %d end_stream=%v", f, id, endStream)
	}
	for f.fields == nil {
		f = st.wantFrame(frame.TypeContinuation)
		if f.StreamID != id {
			st.t.Fatalf("CONTINUATION on stream %d inside the block of %d", f.StreamID, id)
		}
	}
	var out []string
	for _, x := range f.fields {
		out = append(out, x.Name+": "+x.Value)
	}
	return out
}

// wantStatus: the next frame is a response head with this status.
func (st *serverTester) wantStatus(id StreamID, status string, endStream bool) []string {
	st.t.Helper()
	fields := st.wantHeaders(id, endStream)
	if len(fields) == 0 || fields[0] != ":status: "+status {
		st.t.Fatalf("response head %v, want :status %s first", fields, status)
	}
	return fields
}

// wantData: the next frame is DATA on id; returns its data.
func (st *serverTester) wantData(id StreamID, endStream bool) []byte {
	st.t.Helper()
	f := st.wantFrame(frame.TypeData)
	if f.StreamID != id || f.Flags.Has(frame.FlagEndStream) != endStream {
		st.t.Fatalf("got %v, want DATA on stream %d end_stream=%v", f, id, endStream)
	}
	d, err := frame.ParseData(f.Header, f.payload)
	if err != nil {
		st.t.Fatal(err)
	}
	return d.Data
}

// wantClosed: the handler was told stream id closed with code.
func (st *serverTester) wantClosed(id StreamID, code ErrCode) {
	st.t.Helper()
	got, ok := st.h.closedCode(id)
	if !ok {
		st.t.Fatalf("stream %d not closed (closed: %v)", id, st.h.closed)
	}
	if got != code {
		st.t.Fatalf("stream %d closed with %v, want %v", id, got, code)
	}
}

// Server-side actions (what the session would do).

// stream returns the live engine stream id (fails if none).
func (st *serverTester) stream(id StreamID) *Stream {
	st.t.Helper()
	s := st.c.streams[id]
	if s == nil {
		st.t.Fatalf("stream %d is not live", id)
	}
	return s
}

// respond writes a response head on id.
func (st *serverTester) respond(id StreamID, status int, endStream bool, kv ...string) {
	st.t.Helper()
	s := st.stream(id)
	var fields []Field
	for i := 0; i+1 < len(kv); i += 2 {
		fields = append(fields, Field{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	st.do(func() {
		if err := st.c.WriteResponse(s, status, fields, endStream); err != nil {
			st.t.Errorf("WriteResponse: %v", err)
		}
	})
}

// queue queues n bytes of body (pattern bytes) on id, in pooled chunks.
func (st *serverTester) queue(id StreamID, body []byte) {
	st.t.Helper()
	s := st.stream(id)
	st.do(func() { queueBody(st.t, st.c, s, body) })
}

func queueBody(t testing.TB, c *Conn, s *Stream, body []byte) {
	for len(body) > 0 {
		ch := bufpool.Get()
		n := min(ch.Room(), len(body))
		ch.B = append(ch.B, body[:n]...)
		body = body[n:]
		if err := c.QueueData(s, ch); err != nil {
			t.Errorf("QueueData: %v", err)
			return
		}
	}
}

// endStream queues END_STREAM on id.
func (st *serverTester) endStream(id StreamID) {
	st.t.Helper()
	s := st.stream(id)
	st.do(func() {
		if err := st.c.EndStream(s); err != nil {
			st.t.Errorf("EndStream: %v", err)
		}
	})
}

// pattern returns n bytes of a recognisable pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// contains reports whether fields holds "name: value".
func contains(fields []string, f string) bool { return slices.Contains(fields, f) }

// isFloodErr reports whether err is a flood defence's.
func isFloodErr(err error, kind FloodKind) bool {
	var fe *floodError
	return errors.As(err, &fe) && fe.kind == kind
}

// String renders a request record for failure messages.
func (r reqRec) String() string {
	return r.id.String() + " " + r.method + " " + r.path + " {" + strings.Join(r.fields, ", ") + "}"
}
