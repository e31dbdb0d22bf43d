package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Stream identifiers (RFC 9113 5.1.1), concurrency (5.1.2) and the
// at-most-one-RST_STREAM rule.

func TestStreamIDRules(t *testing.T) {
	tests := []struct {
		name     string
		run      func(st *serverTester)
		last     StreamID
		codes    []ErrCode // the connection error expected (any of)
		survives bool
	}{
		{
			// RFC 9113 5.1.1: clients open odd streams.
			name:  "even_id",
			run:   func(st *serverTester) { st.writeHeaders(2, true, reqFields()) },
			codes: []ErrCode{frame.ProtocolError},
		},
		{
			// RFC 9113 6.2: HEADERS on stream 0.
			name:  "stream_zero",
			run:   func(st *serverTester) { st.feed(frame.AppendHeaders(nil, 0, true, true, []byte{0x82})) },
			codes: []ErrCode{frame.ProtocolError},
		},
		{
			// RFC 9113 5.1.1: a new stream's id must exceed every id used
			// before. Stream 3 was skipped (implicitly closed by 5):
			// RFC 9113 5.1.1 says PROTOCOL_ERROR, 5.1 (closed) says
			// STREAM_CLOSED; the engine cannot tell a skipped id from a
			// finished one and answers STREAM_CLOSED.
			name: "decreasing_id",
			run: func(st *serverTester) {
				st.writeRequest(5)
				st.respond(5, 204, true)
				st.wantStatus(5, "204", true)
				st.writeRequest(3)
			},
			last:  5,
			codes: []ErrCode{frame.ProtocolError, frame.StreamClosed},
		},
		{
			name: "reused_id",
			run: func(st *serverTester) {
				st.writeRequest(1)
				st.respond(1, 204, true)
				st.wantStatus(1, "204", true)
				st.writeRequest(1)
			},
			last:  1,
			codes: []ErrCode{frame.StreamClosed, frame.ProtocolError},
		},
		{
			// Skipping ids is legal; the skipped ones are closed.
			name: "skipped_ids",
			run: func(st *serverTester) {
				st.writeRequest(1)
				st.writeRequest(7)
				if len(st.h.requests) != 2 {
					st.t.Fatalf("requests %v", st.h.requests)
				}
			},
			survives: true,
		},
		{
			name: "max_id",
			run: func(st *serverTester) {
				st.writeRequest(frame.MaxStreamID)
				st.h.request(frame.MaxStreamID)
			},
			survives: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			tt.run(st)
			if tt.survives {
				st.drainFrames()
				if st.err != nil {
					t.Fatalf("connection error %v", st.err)
				}
				return
			}
			f := st.wantFrame(frame.TypeGoAway)
			g, err := frame.ParseGoAway(f.Header, f.payload)
			if err != nil {
				t.Fatal(err)
			}
			ok := false
			for _, c := range tt.codes {
				ok = ok || g.Code == c
			}
			if !ok || g.LastStreamID != tt.last {
				t.Fatalf("GOAWAY(last=%d, %v), want last=%d code in %v", g.LastStreamID, g.Code, tt.last, tt.codes)
			}
			if st.err == nil || !st.c.ShouldClose() {
				t.Fatalf("connection not ending after GOAWAY (err %v)", st.err)
			}
		})
	}
}

// TestMaxConcurrentStreams: beyond SETTINGS_MAX_CONCURRENT_STREAMS a
// stream is refused with REFUSED_STREAM (RFC 9113 5.1.2), the handler
// never hears of it, and a slot freed by a finished stream can be used.
func TestMaxConcurrentStreams(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.MaxConcurrentStreams = 2 })
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.writeRequest(3) // half-closed (remote): still counts
	st.writeHeaders(5, false, postFields("x-big", "value"))
	st.wantRSTStream(5, frame.RefusedStream)
	if len(st.h.requests) != 2 {
		t.Fatalf("handler saw %d requests, want 2", len(st.h.requests))
	}
	if st.obs.refused != 1 {
		t.Fatalf("observer counted %d refusals", st.obs.refused)
	}
	// The client's body for 5 was in flight: ignored, its connection
	// credit returned (checkCredit).
	st.writeData(5, true, []byte("late"))
	st.wantNoFrame()
	if st.err != nil {
		t.Fatal(st.err)
	}
	// Half-closed (local) still counts: answer 1 but leave its body open.
	st.respond(1, 200, true)
	st.wantStatus(1, "200", true)
	st.writeRequest(7)
	st.wantRSTStream(7, frame.RefusedStream)
	// Finishing stream 3 frees a slot.
	st.respond(3, 204, true)
	st.wantStatus(3, "204", true)
	st.writeRequest(9)
	if r := st.h.request(9); r.method != "GET" {
		t.Fatalf("request 9: %v", r)
	}
	st.wantNoFrame()
}

// TestRefusalBackPressure: a client that keeps opening streams beyond the
// limit sees the limit halved (DESIGN.md 3.2).
func TestRefusalBackPressure(t *testing.T) {
	st := newServerTester(t, func(c *Config) {
		c.MaxConcurrentStreams = 4
		c.Flood.RefusedStreamsBeforeShrink = 3
	})
	st.greet()
	for id := StreamID(1); id <= 7; id += 2 {
		st.writeHeaders(id, false, postFields())
	}
	for id := StreamID(9); id <= 13; id += 2 {
		st.writeRequest(id)
		st.wantRSTStream(id, frame.RefusedStream)
	}
	// The fourth refusal crosses the threshold: SETTINGS with MCS/2,
	// then the refusal itself.
	st.writeRequest(15)
	s := st.wantSettings()
	st.wantRSTStream(15, frame.RefusedStream)
	if s.NumSettings() != 1 || s.Setting(0) != (frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: 2}) {
		t.Fatalf("SETTINGS %v, want MAX_CONCURRENT_STREAMS=2", s.Setting(0))
	}
	if st.obs.shrunk != 1 {
		t.Fatalf("observer counted %d shrinks", st.obs.shrunk)
	}
	st.writeSettingsAck()
	st.wantNoFrame()
}

// TestRSTStreamAtMostOnce: whatever provokes it, a stream id gets at most
// one RST_STREAM from us (DESIGN.md 4.4, 3.7). The invariant checker
// fails the test on a second one; these are the paths that could emit it.
func TestRSTStreamAtMostOnce(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.MaxConcurrentStreams = 1; c.StreamIdleTimeout = 10e9 })
	st.greet()

	// Reset by the handler, twice, then frames in flight, then the reaper.
	st.writeHeaders(1, false, postFields())
	s1 := st.stream(1)
	st.do(func() {
		st.c.Reset(s1, frame.Cancel)
		st.c.Reset(s1, frame.InternalError)
	})
	st.wantRSTStream(1, frame.Cancel)
	st.writeData(1, false, []byte("in flight"))
	st.writeWindowUpdate(1, 0) // would be a stream error on a live stream
	st.writeHeaders(1, true, hf("x-trailer", "t"))
	st.advance(11e9)
	st.wantNoFrame()

	// A stream error, then more errors on the same stream.
	st.writeHeaders(3, false, postFields())
	st.writeWindowUpdate(3, 0)
	st.wantRSTStream(3, frame.ProtocolError)
	st.writeWindowUpdate(3, 0)
	st.writeData(3, false, pattern(10))
	st.wantNoFrame()

	// A refused stream (no engine stream), then its in-flight frames.
	st.writeHeaders(5, false, postFields())
	st.writeHeaders(7, false, postFields())
	st.wantRSTStream(7, frame.RefusedStream)
	st.writeHeaders(7, true, hf("x-trailer", "t"))
	st.writeData(7, true, []byte("x"))
	st.wantNoFrame()

	// The peer resets; we never answer a reset with a reset.
	st.writeRST(5, frame.Cancel)
	st.wantNoFrame()
	if st.err != nil {
		t.Fatal(st.err)
	}
	if st.c.Stats().RSTSent != 3 {
		t.Fatalf("RSTSent = %d, want 3", st.c.Stats().RSTSent)
	}
}

// TestGoAwayLastStreamID: a connection error's GOAWAY names the last
// stream the peer opened (RFC 9113 5.4.1, 6.8), so the client knows which
// requests may be retried.
func TestGoAwayLastStreamID(t *testing.T) {
	errs := []struct {
		name string
		send func(st *serverTester)
		code ErrCode
	}{
		{"window_update_zero", func(st *serverTester) { st.writeWindowUpdate(0, 0) }, frame.ProtocolError},
		{"ping_on_stream", func(st *serverTester) {
			st.writeRaw(frame.Header{Type: frame.TypePing, StreamID: 1}, make([]byte, 8))
		}, frame.ProtocolError},
		{"settings_bad_length", func(st *serverTester) {
			st.writeRaw(frame.Header{Type: frame.TypeSettings}, make([]byte, 5))
		}, frame.FrameSizeError},
		{"frame_too_large", func(st *serverTester) {
			st.writeRaw(frame.Header{Type: frame.TypeData, StreamID: 3}, make([]byte, 16385))
		}, frame.FrameSizeError},
		{"hpack_garbage", func(st *serverTester) {
			st.feed(frame.AppendHeaders(nil, 1, true, true, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
		}, frame.CompressionError},
		{"push_promise", func(st *serverTester) {
			st.feed(frame.AppendPushPromise(nil, 3, 2, true, []byte{0x82}))
		}, frame.ProtocolError},
		{"goaway_nonzero_stream", func(st *serverTester) {
			st.writeRaw(frame.Header{Type: frame.TypeGoAway, StreamID: 1}, make([]byte, 8))
		}, frame.ProtocolError},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeHeaders(1, false, postFields())
			st.writeRequest(3)
			e.send(st)
			st.wantConnError(3, e.code)
			st.wantNoFrame()
			// Every stream is closed and reported.
			if st.c.ActiveStreams() != 0 || len(st.h.closed) != 2 {
				t.Fatalf("streams left %d, closed %v", st.c.ActiveStreams(), st.h.closed)
			}
			// Nothing more is processed.
			if err := st.c.Feed(frame.AppendPing(nil, false, [8]byte{})); err != ErrClosed {
				t.Fatalf("Feed after the GOAWAY: %v", err)
			}
		})
	}
}

// TestRSTOnceAfterIdleReset: a self-dependent PRIORITY on an idle stream
// earns a RST_STREAM (RFC 9113 5.3.1), which closes that id. A HEADERS
// the client then sends on it must not open a stream that could be reset
// a second time (DESIGN.md 4.4).
func TestRSTOnceAfterIdleReset(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.feed(frame.AppendPriority(nil, 5, frame.Priority{StreamDep: 5}))
	st.wantRSTStream(5, frame.ProtocolError)
	st.writeHeaders(5, false, postFields())
	if s := st.c.streams[5]; s != nil {
		st.do(func() { st.c.Reset(s, frame.Cancel) })
	}
	st.drainFrames()
	if len(st.h.requests) != 0 {
		t.Fatalf("a request opened on stream 5 after we reset it")
	}
	// The HPACK state survived the discarded block, and ids keep rising.
	st.writeRequest(7)
	st.h.request(7)
	st.writeRequest(3)
	st.wantConnError(7, frame.StreamClosed)
}
