package h2

import (
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// More attacks of DESIGN.md 3.6 and 3.7 at engine level, on the fake
// clock: the variants of MadeYouReset, slow loris in a field block, the
// HPACK bomb in bulk, slow multiplex, and the reapers in client role
// (uploads toward an HTTP/2 backend). The same attacks run over real
// sockets against a running sluice in internal/e2e/attack_*_test.go.

// TestMadeYouResetVariants: every frame that makes us emit a reset counts
// against the emitted-reset cap (CVE-2025-8671), whichever stream error
// provoked it.
func TestMadeYouResetVariants(t *testing.T) {
	provoke := map[string]func(st *serverTester, id StreamID){
		"window_update_zero": func(st *serverTester, id StreamID) { st.writeWindowUpdate(id, 0) },
		"window_overflow":    func(st *serverTester, id StreamID) { st.writeWindowUpdate(id, maxWindow) },
		"data_over_window": func(st *serverTester, id StreamID) {
			// The stream window is 1 MiB; the connection's is the same,
			// so one frame over the stream window fits the connection
			// window only after the credit we returned: send 16 KiB
			// frames to a stream whose window was lowered by SETTINGS.
			st.writeData(id, false, pattern(17))
		},
		"trailers_without_end_stream": func(st *serverTester, id StreamID) {
			st.writeHeaders(id, false, hf("x-trailer", "v"))
		},
		"content_length_mismatch": func(st *serverTester, id StreamID) {
			st.writeData(id, true, pattern(3))
		},
	}
	wantCode := map[string]ErrCode{
		"window_update_zero":          frame.ProtocolError,
		"window_overflow":             frame.FlowControlError,
		"data_over_window":            frame.FlowControlError,
		"trailers_without_end_stream": frame.ProtocolError,
		"content_length_mismatch":     frame.ProtocolError,
	}
	for name, fn := range provoke {
		t.Run(name, func(t *testing.T) {
			st := newServerTester(t, func(c *Config) {
				c.Flood.RSTStreamEmittedLifetime = 10
				c.InitialWindowSize = 16
			})
			st.greet()
			id := StreamID(1)
			for i := 0; i <= 10; i++ {
				st.writeHeaders(id, false, postFields("content-length", "10"))
				fn(st, id)
				st.wantRSTStream(id, wantCode[name])
				if i < 10 {
					st.wantNoFrame()
				}
				id += 2
			}
			st.wantFlood(id-2, FloodRSTEmitted)
		})
	}
}

// TestSlowHeaderBlock: a client that starts a field block and trickles
// CONTINUATION frames (fewer than the frame cap, so the CONTINUATION
// flood defence never fires) holds the connection, because no other
// frame may arrive until END_HEADERS (RFC 9113 6.10). The block's
// deadline ends it.
func TestSlowHeaderBlock(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.HeaderBlockTimeout = 10 * time.Second })
	st.greet()
	block := st.encode(reqFields("x-slow", string(pattern(40))))
	st.feed(frame.AppendHeaders(nil, 1, true, false, block[:1]))
	if d := st.c.NextDeadline(); d.IsZero() || d.After(st.clock.t.Add(10*time.Second)) {
		t.Fatalf("NextDeadline %v: the block's deadline is not armed", d)
	}
	for i := 1; i < 10; i++ {
		st.advance(time.Second)
		st.feed(frame.AppendContinuation(nil, 1, false, block[i:i+1]))
		st.wantNoFrame()
	}
	st.advance(time.Second)
	st.wantFlood(1, FloodSlowHeaders)
	if len(st.h.requests) != 0 {
		t.Fatalf("a request reached the handler: %v", st.h.requests)
	}
}

// TestHeaderBlockInTime: blocks that complete, however they are split,
// leave no deadline behind.
func TestHeaderBlockInTime(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.HeaderBlockTimeout = 10 * time.Second })
	st.greet()
	block := st.encode(reqFields())
	st.feed(frame.AppendHeaders(nil, 1, true, false, block[:2]))
	st.advance(9 * time.Second)
	st.feed(frame.AppendContinuation(nil, 1, true, block[2:]))
	st.h.request(1)
	st.respond(1, 200, true)
	st.wantStatus(1, "200", true)
	st.advance(time.Minute)
	if st.err != nil || st.c.ShouldClose() {
		t.Fatalf("connection ended: %v", st.err)
	}
}

// TestHPACKBombInBulk: a field block that expands past the header list
// size (a few bytes of references to one large dynamic-table entry) is
// answered 431 without being stored; in bulk such blocks end the
// connection as glitches.
func TestHPACKBombInBulk(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.Flood.GlitchCount = 5 })
	st.greet()
	// One 4000-byte entry in the client's dynamic table...
	big := string(pattern(4000))
	st.writeHeaders(1, true, reqFields("x-big", big))
	st.h.request(1)
	// ...then blocks of 20 references to it: 80 KiB of header list from
	// a few dozen bytes on the wire.
	var bomb []string
	for range 20 {
		bomb = append(bomb, "x-big", big)
	}
	id := StreamID(3)
	for i := 0; i < 5; i++ {
		block := st.encode(reqFields(bomb...))
		if len(block) > 200 {
			t.Fatalf("the bomb is %d bytes: not a bomb", len(block))
		}
		st.feed(frame.AppendHeaders(nil, id, true, true, block))
		st.wantStatus(id, "431", true)
		if n := st.c.ActiveStreams(); n != 1 {
			t.Fatalf("%d streams open after the 431: the answered one holds a slot", n)
		}
		id += 2
	}
	st.feed(frame.AppendHeaders(nil, id, true, true, st.encode(reqFields(bomb...))))
	st.wantFlood(id, FloodGlitches)
	if len(st.h.requests) != 1 || st.obs.tooLarge != 5 {
		t.Fatalf("%d requests reached the handler, %d counted too large", len(st.h.requests), st.obs.tooLarge)
	}
}

// TestSlowMultiplex: a client opens every stream it may and then says
// nothing on them (slow multiplex slowloris): each is reaped after the
// stream idle timeout with RST_STREAM(CANCEL), and the reaped resets
// count against the emitted-reset cap, so an attacker cannot use our
// reapers to dodge it.
func TestSlowMultiplex(t *testing.T) {
	st := newServerTester(t, func(c *Config) {
		c.MaxConcurrentStreams = 4
		c.StreamIdleTimeout = 10 * time.Second
		c.Flood.RSTStreamEmittedLifetime = 5
	})
	st.greet()
	for id := StreamID(1); id <= 7; id += 2 {
		st.writeHeaders(id, false, postFields())
	}
	// Control frames keep the connection warm but not the streams.
	for range 9 {
		st.advance(time.Second)
		st.writePing(false, [8]byte{})
		st.wantPing(true, [8]byte{})
	}
	st.wantNoFrame()
	st.advance(2 * time.Second)
	for id := StreamID(1); id <= 7; id += 2 {
		st.wantRSTStream(id, frame.Cancel)
	}
	if len(st.obs.reaped) != 4 || st.obs.reaped[0] != ReapIdle {
		t.Fatalf("observer reaped %v", st.obs.reaped)
	}
	// The slots are free again; two more reaps cross the emitted cap.
	st.writeHeaders(9, false, postFields())
	st.writeHeaders(11, false, postFields())
	st.wantNoFrame()
	st.advance(12 * time.Second)
	st.wantRSTStream(9, frame.Cancel)
	st.wantRSTStream(11, frame.Cancel)
	st.wantFlood(11, FloodRSTEmitted)
}

// clientTester drives an engine in client role (a backend connection)
// on a fake clock; the test plays the server with raw frames.
type clientTester struct {
	t      *testing.T
	clock  *fakeClock
	c      *Conn
	obs    *recObserver
	closed []*Stream
	wire   []byte
}

type closeRecorder struct {
	nopHandler
	ct *clientTester
}

func (h closeRecorder) OnClosed(s *Stream) { h.ct.closed = append(h.ct.closed, s) }

func newClientTester(t *testing.T, cfg Config, serverSettings ...frame.Setting) *clientTester {
	ct := &clientTester{t: t, clock: &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, obs: newRecObserver()}
	cfg.Role = Client
	ct.c = NewConn(cfg, closeRecorder{ct: ct}, ct.obs, ct.clock.now)
	ct.c.Start()
	ct.flush()
	ct.wire = ct.wire[len(frame.ClientPreface):]
	ct.feed(frame.AppendSettings(nil, serverSettings...))
	ct.feed(frame.AppendSettingsAck(nil))
	return ct
}

func (ct *clientTester) feed(b []byte) {
	if err := ct.c.Feed(b); err != nil {
		ct.t.Fatalf("Feed: %v", err)
	}
	ct.c.Produce()
	ct.flush()
}

func (ct *clientTester) flush() {
	ct.wire = append(ct.wire, ct.c.Pending()...)
	ct.c.Written(len(ct.c.Pending()))
}

// advance runs the timers up to d from now, as the backend pool's owner
// does.
func (ct *clientTester) advance(d time.Duration) {
	target := ct.clock.t.Add(d)
	for {
		dl := ct.c.NextDeadline()
		if dl.IsZero() || dl.After(target) {
			break
		}
		if dl.After(ct.clock.t) {
			ct.clock.t = dl
		}
		if err := ct.c.Tick(); err != nil {
			ct.t.Fatalf("Tick: %v", err)
		}
		ct.c.Produce()
		ct.flush()
	}
	ct.clock.t = target
}

// frames cuts what the engine wrote since the last call.
func (ct *clientTester) frames() []frame.Header {
	var out []frame.Header
	for {
		h, _, n, err := frame.Next(ct.wire, frame.MaxMaxFrameSize)
		if err != nil {
			ct.t.Fatal(err)
		}
		if n == 0 {
			return out
		}
		ct.wire = ct.wire[n:]
		out = append(out, h)
	}
}

func clientFields(method string) []Field {
	return []Field{{Name: []byte(":method"), Value: []byte(method)}, {Name: []byte(":scheme"), Value: []byte("http")},
		{Name: []byte(":authority"), Value: []byte("backend")}, {Name: []byte(":path"), Value: []byte("/upload")}}
}

// TestClientUploadStallReap: an upload toward an HTTP/2 backend that
// keeps the stream window shut (or drips it open a byte at a time) is
// reaped with RST_STREAM(CANCEL) after its idle timeout (DESIGN.md 3.6),
// while a stream merely waiting for the backend's response is left to
// the response timeout.
func TestClientUploadStallReap(t *testing.T) {
	ct := newClientTester(t, Config{StreamIdleTimeout: time.Minute},
		frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
	c := ct.c
	upload, err := c.OpenStream(clientFields("POST"), false)
	if err != nil {
		t.Fatal(err)
	}
	upload.SetIdleTimeout(10 * time.Second) // the listener's deadline, shorter than the pool's
	waiting, err := c.OpenStream(clientFields("GET"), true)
	if err != nil {
		t.Fatal(err)
	}
	queueBody(t, c, upload, pattern(50000))
	c.Produce()
	ct.flush()
	ct.frames()
	for range 4 {
		ct.advance(2 * time.Second)
		ct.feed(frame.AppendWindowUpdate(nil, upload.ID(), 1))
	}
	if fs := ct.frames(); len(fs) != 4 || fs[0].Type != frame.TypeData || fs[0].Length != 1 {
		t.Fatalf("drip: %v", fs)
	}
	ct.advance(3 * time.Second)
	fs := ct.frames()
	if len(fs) != 1 || fs[0].Type != frame.TypeRSTStream || fs[0].StreamID != upload.ID() {
		t.Fatalf("after the stall: %v, want RST_STREAM on %d", fs, upload.ID())
	}
	if len(ct.closed) != 1 || ct.closed[0] != upload || upload.ReapReason() != ReapWindowStall || upload.CloseCode() != frame.Cancel {
		t.Fatalf("closed %v, reason %q", ct.closed, upload.ReapReason())
	}
	if len(ct.obs.reaped) != 2 || ct.obs.reaped[1] != ReapStallBudget {
		t.Fatalf("observer %v", ct.obs.reaped)
	}
	// The silent GET outlives the pool's own idle timeout: a backend's
	// silence is the response timeout's to judge.
	ct.advance(5 * time.Minute)
	if waiting.Closed() || len(ct.frames()) != 0 {
		t.Fatalf("a stream waiting for its response was reaped")
	}
}

// TestSilenceReaperJudgesThePeer: the silence reaper reaps a stream the
// peer could send on and does not. A request that is complete waits on
// the backend (whose timeouts answer 504), and a body the peer cannot
// send because we withhold the window is our silence, not the peer's:
// neither is reaped; once the window reopens, the peer's clock restarts.
func TestSilenceReaperJudgesThePeer(t *testing.T) {
	st := newServerTester(t, func(c *Config) {
		c.StreamIdleTimeout = 10 * time.Second
		c.InitialWindowSize = 65535
	})
	st.h.autoConsume = false
	st.greet()
	st.writeRequest(1) // GET: complete
	st.writeHeaders(3, false, postFields())
	st.writeData(3, false, pattern(16384))
	st.writeData(3, false, pattern(16384))
	st.writeData(3, false, pattern(16384))
	st.writeData(3, false, pattern(16383)) // the stream window is full
	st.advance(time.Minute)
	st.wantNoFrame()
	if st.stream(1).Closed() || st.stream(3).Closed() {
		t.Fatalf("a stream waiting on us was reaped")
	}
	// The handler consumes the body: the window reopens, and from then
	// on the peer's silence counts.
	s3 := st.stream(3)
	st.do(func() { st.c.Consume(s3, 65535) })
	if inc := st.wantWindowUpdate(3); inc != 65535 {
		t.Fatalf("WINDOW_UPDATE %d", inc)
	}
	st.advance(9 * time.Second)
	st.wantNoFrame()
	st.advance(2 * time.Second)
	st.wantRSTStream(3, frame.Cancel)
	if st.stream(1).Closed() {
		t.Fatalf("the complete request was reaped")
	}
}

// TestPendingResetCap: resets we queued but could not write yet are
// capped (MadeYouReset, CVE-2025-8671): one read that provokes more than
// PendingRSTStreams resets ends the connection, while the same resets
// spread over reads that are written in between are only counted against
// the lifetime cap.
func TestPendingResetCap(t *testing.T) {
	provoke := func(st *serverTester, id StreamID) []byte {
		b := frame.AppendHeaders(nil, id, false, true, st.encode(postFields()))
		return frame.AppendWindowUpdate(b, id, 0)
	}
	t.Run("one_read", func(t *testing.T) {
		st := newServerTester(t, func(c *Config) { c.Flood.PendingRSTStreams = 20 })
		st.greet()
		var b []byte
		for id := StreamID(1); id <= 2*21; id += 2 {
			b = append(b, provoke(st, id)...)
		}
		st.feed(b)
		for id := StreamID(1); id <= 2*21; id += 2 {
			st.wantRSTStream(id, frame.ProtocolError)
		}
		st.wantFlood(41, FloodRSTPending)
	})
	t.Run("written_between", func(t *testing.T) {
		st := newServerTester(t, func(c *Config) { c.Flood.PendingRSTStreams = 20 })
		st.greet()
		for id := StreamID(1); id <= 2*30; id += 2 {
			st.feed(provoke(st, id))
			st.wantRSTStream(id, frame.ProtocolError)
		}
		if st.err != nil || len(st.obs.floods) != 0 {
			t.Fatalf("resets written as they come ended the connection: %v %v", st.err, st.obs.floods)
		}
	})
}
