package h2

import (
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// The basics of the flood defences (DESIGN.md 3.7), one named regression
// test per attack. The full attack suite, with real clients, lives with
// the session; these pin the engine's counters and reaction.

// wantFlood: the connection ended with GOAWAY(last, ENHANCE_YOUR_CALM)
// and the observer counted the kind.
func (st *serverTester) wantFlood(last StreamID, kind FloodKind) {
	st.t.Helper()
	st.wantConnError(last, frame.EnhanceYourCalm)
	if !isFloodErr(st.err, kind) {
		st.t.Fatalf("error %v, want flood %s", st.err, kind)
	}
	if len(st.obs.floods) != 1 || st.obs.floods[0] != kind {
		st.t.Fatalf("observer floods %v, want [%s]", st.obs.floods, kind)
	}
}

// TestRapidReset is the CVE-2023-44487 regression test: streams opened
// and reset at once, before any response, end the connection.
func TestRapidReset(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	id := StreamID(1)
	for ; id < 2*50; id += 2 {
		st.writeHeaders(id, true, reqFields())
		st.writeRST(id, frame.Cancel)
	}
	st.wantNoFrame()
	st.writeHeaders(id, true, reqFields())
	st.writeRST(id, frame.Cancel)
	st.wantFlood(id, FloodRSTAbusive)
}

// TestRapidResetWindow: resets of answered streams still count per 1 s
// window.
func TestRapidResetWindow(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.Flood.RSTStreamPerWindow = 10 })
	st.greet()
	id := StreamID(1)
	for i := 0; i < 10; i++ {
		st.writeHeaders(id, false, postFields())
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
		st.writeRST(id, frame.Cancel)
		id += 2
	}
	// A second later the window has halved: five more fit.
	st.advance(time.Second)
	for i := 0; i < 5; i++ {
		st.writeRST(id-2, frame.Cancel) // on a closed stream: still counted
	}
	st.wantNoFrame()
	st.writeRST(id-2, frame.Cancel)
	st.wantFlood(id-2, FloodRSTWindow)
}

// TestMadeYouReset is the CVE-2025-8671 regression test: frames that
// make us reset streams (here WINDOW_UPDATE(0), a stream error) count
// against the emitted-reset cap.
func TestMadeYouReset(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.Flood.RSTStreamEmittedLifetime = 20 })
	st.greet()
	id := StreamID(1)
	for i := 0; i < 20; i++ {
		st.writeHeaders(id, false, postFields())
		st.writeWindowUpdate(id, 0)
		st.wantRSTStream(id, frame.ProtocolError)
		id += 2
	}
	st.writeHeaders(id, false, postFields())
	st.writeWindowUpdate(id, 0)
	st.wantRSTStream(id, frame.ProtocolError)
	st.wantFlood(id, FloodRSTEmitted)
}

// TestPingFlood is the CVE-2019-9512 regression test.
func TestPingFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	for i := 0; i < 100; i++ {
		st.writePing(false, [8]byte{byte(i)})
		st.wantPing(true, [8]byte{byte(i)})
	}
	st.writePing(false, [8]byte{})
	st.wantFlood(0, FloodPingWindow)
}

// TestSettingsFlood is the CVE-2019-9515 regression test.
func TestSettingsFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	for i := 0; i < 50; i++ {
		st.writeSettings()
		st.wantSettingsAck()
	}
	st.writeSettings()
	st.wantFlood(0, FloodSettingsWindow)
}

// TestEmptyDataFlood is the CVE-2019-9518 regression test: zero-length
// DATA frames without END_STREAM.
func TestEmptyDataFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	for i := 0; i < 100; i++ {
		st.writeData(1, false, nil)
	}
	st.wantNoFrame()
	st.writeData(1, false, nil)
	st.wantFlood(1, FloodEmptyData)
}

// TestWindowUpdateConnFlood: stream-0 WINDOW_UPDATEs are cheap to send
// and cost a scheduling pass each.
func TestWindowUpdateConnFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	for i := 0; i < 100; i++ {
		st.writeWindowUpdate(0, 1)
	}
	st.writeWindowUpdate(0, 1)
	st.wantFlood(0, FloodWindowUpdateZero)
}

// TestGlitchFlood: protocol oddities that are legal alone (here
// unsolicited PING ACKs) end the connection in bulk.
func TestGlitchFlood(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	for i := 0; i < 100; i++ {
		st.writePing(true, [8]byte{})
	}
	st.wantNoFrame()
	st.writePing(true, [8]byte{})
	st.wantFlood(0, FloodGlitches)
}

// TestFloodWindowDecays: the per-window counters halve each second
// instead of resetting, so a paced client is not cut off and a bursty
// one cannot dodge the limit by pausing.
func TestFloodWindowDecays(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	for i := 0; i < 100; i++ {
		st.writePing(false, [8]byte{})
	}
	st.advance(time.Second) // 100 -> 50
	for i := 0; i < 50; i++ {
		st.writePing(false, [8]byte{})
	}
	if st.err != nil {
		t.Fatalf("paced PINGs cut off: %v", st.err)
	}
	st.drainFrames()
	st.writePing(false, [8]byte{})
	st.wantFlood(0, FloodPingWindow)
}

// TestWindowUpdateReturningCredit: a client returning connection credit
// for the DATA it read, in small pieces and at any rate (Go's Transport
// sends a WINDOW_UPDATE per 4 KiB read), is flow control, not a flood.
func TestWindowUpdateReturningCredit(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 30})
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(8<<20))
	for st.err == nil && len(st.frames) > 0 {
		for _, f := range st.drainFrames() {
			for n := int(f.Length); n > 0; n -= 4096 {
				st.writeWindowUpdate(0, uint32(min(n, 4096)))
			}
		}
	}
	if st.c.Stats().DataOut != 8<<20 {
		t.Fatalf("sent %d of %d", st.c.Stats().DataOut, 8<<20)
	}
	if st.err != nil || len(st.obs.floods) != 0 {
		t.Fatalf("download ended by %v (floods %v)", st.err, st.obs.floods)
	}
	// Credit nobody used still counts.
	for i := 0; i < 101 && st.err == nil; i++ {
		st.writeWindowUpdate(0, 1)
	}
	st.drainFrames()
	if !isFloodErr(st.err, FloodWindowUpdateZero) {
		t.Fatalf("unjustified WINDOW_UPDATEs: %v", st.err)
	}
}

// TestWindowUpdateAfterEndStream: a client keeps returning a stream's
// credit while it drains a response that already ended (Go's Transport
// does, one WINDOW_UPDATE per 4 KiB read); RFC 9113 5.1 says to ignore
// them, and so many are not a flood.
func TestWindowUpdateAfterEndStream(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(30000))
	st.endStream(1)
	st.drainFrames()
	st.wantClosed(1, frame.NoError)
	for range 1000 {
		st.writeWindowUpdate(1, 4096)
	}
	st.wantNoFrame()
	if st.err != nil {
		t.Fatalf("WINDOW_UPDATEs on an ended stream: %v", st.err)
	}
}
