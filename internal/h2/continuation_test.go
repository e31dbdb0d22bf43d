package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// CONTINUATION sequencing (RFC 9113 6.2, 6.10): a field block is a
// HEADERS frame followed by CONTINUATION frames on the same stream with
// nothing in between.

func TestContinuationAssembles(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	block := st.encode(reqFields("x-long", string(pattern(300)), "x-other", "v"))
	// Split inside fields: 1, 7, 100 octets, then the rest.
	var b []byte
	b = frame.AppendHeaders(b, 1, true, false, block[:1])
	b = frame.AppendContinuation(b, 1, false, block[1:8])
	b = frame.AppendContinuation(b, 1, false, block[8:108])
	b = frame.AppendContinuation(b, 1, true, block[108:])
	st.feed(b)
	r := st.h.request(1)
	if !contains(r.fields, "x-long: "+string(pattern(300))) || !contains(r.fields, "x-other: v") {
		t.Fatalf("request %v", r)
	}
	// Each frame as its own read, and an empty CONTINUATION.
	block = st.encode(reqFields("x-n", "3"))
	st.feed(frame.AppendHeaders(nil, 3, true, false, block[:3]))
	st.feed(frame.AppendContinuation(nil, 3, false, nil))
	if len(st.h.requests) != 1 {
		t.Fatalf("request delivered before END_HEADERS")
	}
	st.feed(frame.AppendContinuation(nil, 3, true, block[3:]))
	if r := st.h.request(3); !contains(r.fields, "x-n: 3") {
		t.Fatalf("request %v", r)
	}
	st.wantNoFrame()
}

// TestContinuationInterleaved: any frame but a CONTINUATION of the same
// stream inside a field block is a connection PROTOCOL_ERROR.
func TestContinuationInterleaved(t *testing.T) {
	tests := []struct {
		name  string
		frame func(st *serverTester) []byte
	}{
		{"data", func(*serverTester) []byte { return frame.AppendData(nil, 1, false, []byte("x")) }},
		{"ping", func(*serverTester) []byte { return frame.AppendPing(nil, false, [8]byte{}) }},
		{"settings", func(*serverTester) []byte { return frame.AppendSettings(nil) }},
		{"window_update", func(*serverTester) []byte { return frame.AppendWindowUpdate(nil, 0, 1) }},
		{"priority", func(*serverTester) []byte { return frame.AppendPriority(nil, 1, frame.Priority{Weight: 1}) }},
		{"rst_stream", func(*serverTester) []byte { return frame.AppendRSTStream(nil, 1, frame.Cancel) }},
		{"headers_other_stream", func(st *serverTester) []byte {
			return frame.AppendHeaders(nil, 3, true, true, []byte{0x82})
		}},
		{"continuation_other_stream", func(*serverTester) []byte { return frame.AppendContinuation(nil, 3, true, []byte{0x84}) }},
		{"unknown_type", func(*serverTester) []byte {
			return frame.AppendRaw(nil, frame.Header{Type: 0xee, StreamID: 1}, []byte("x"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			block := st.encode(reqFields())
			st.feed(frame.AppendHeaders(nil, 1, true, false, block[:2]))
			st.feed(tt.frame(st))
			st.wantConnError(1, frame.ProtocolError)
			if len(st.h.requests) != 0 {
				t.Fatalf("a half-received block reached the handler")
			}
		})
	}
}

// TestContinuationWithoutHeaders: a CONTINUATION that continues nothing.
func TestContinuationWithoutHeaders(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRequest(1)
	st.feed(frame.AppendContinuation(nil, 1, true, []byte{0x82}))
	st.wantConnError(1, frame.ProtocolError)
}

// TestContinuationFlood is the CVE-2024-27316 regression test: endless
// CONTINUATION frames (each small, never END_HEADERS) end the connection
// once the per-block frame cap is passed, before any limit on memory.
func TestContinuationFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.feed(frame.AppendHeaders(nil, 1, false, false, st.encode(reqFields())))
	for i := 0; i < 20; i++ {
		st.feed(frame.AppendContinuation(nil, 1, false, []byte{0x40, 0x01, 'a', 0x01, 'b'}))
	}
	st.wantNoFrame()
	st.feed(frame.AppendContinuation(nil, 1, false, []byte{0x40, 0x01, 'a', 0x01, 'b'}))
	st.wantConnError(1, frame.EnhanceYourCalm)
	if len(st.obs.floods) != 1 || st.obs.floods[0] != FloodContinuation {
		t.Fatalf("flood metric %v", st.obs.floods)
	}
}

// TestHeaderBlockTooLarge: a field block over 64 KiB across CONTINUATION
// frames ends the connection (DESIGN.md 3.7).
func TestHeaderBlockTooLarge(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.Flood.ContinuationFrames = 100 })
	st.greet()
	big := st.encode(reqFields("x-big", string(pattern(120<<10))))
	st.feed(frame.AppendHeaders(nil, 1, true, false, big[:16000]))
	off := 16000
	for off+16000 < len(big) && st.err == nil {
		st.feed(frame.AppendContinuation(nil, 1, false, big[off:off+16000]))
		off += 16000
	}
	st.wantConnError(1, frame.EnhanceYourCalm)
	if len(st.obs.floods) != 1 || st.obs.floods[0] != FloodHeaderBlock {
		t.Fatalf("flood metric %v", st.obs.floods)
	}
}
