package h2

import (
	"bytes"
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Flow control in both directions (RFC 9113 5.2, 6.9).

// collectData reads DATA frames on id until none is left, returning the
// bytes and whether END_STREAM came. Any other frame fails the test.
func (st *serverTester) collectData(id StreamID) ([]byte, bool, int) {
	st.t.Helper()
	var got []byte
	frames := 0
	for len(st.frames) > 0 {
		f := st.frames[0]
		if f.Type != frame.TypeData || f.StreamID != id {
			st.t.Fatalf("got %v while collecting DATA on %d", f, id)
		}
		end := f.Flags.Has(frame.FlagEndStream)
		got = append(got, st.wantData(id, end)...)
		frames++
		if end {
			return got, true, frames
		}
	}
	return got, false, frames
}

// TestSendStreamWindow: response DATA never exceeds the stream window the
// client granted; WINDOW_UPDATE resumes it.
func TestSendStreamWindow(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 100})
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	body := pattern(250)
	st.queue(1, body)
	st.endStream(1)
	got, end, _ := st.collectData(1)
	if len(got) != 100 || end {
		t.Fatalf("sent %d bytes (end %v) in a 100-byte window", len(got), end)
	}
	st.produce()
	st.wantNoFrame()

	st.writeWindowUpdate(1, 100)
	more, end, _ := st.collectData(1)
	if len(more) != 100 || end {
		t.Fatalf("after WINDOW_UPDATE(100): %d bytes, end %v", len(more), end)
	}
	st.writeWindowUpdate(1, 1000)
	rest, end, _ := st.collectData(1)
	if len(rest) != 50 || !end {
		t.Fatalf("after WINDOW_UPDATE(1000): %d bytes, end %v", len(rest), end)
	}
	if !bytes.Equal(append(append(got, more...), rest...), body) {
		t.Fatalf("body corrupted")
	}
	st.wantClosed(1, frame.NoError)
}

// TestSendConnWindow: the connection window (65,535 until the client
// enlarges it) caps the sum over streams; WINDOW_UPDATE on stream 0
// resumes.
func TestSendConnWindow(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	for _, id := range []StreamID{1, 3} {
		st.writeRequest(id)
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
	}
	st.autoProduce = false
	st.do(func() {
		queueBody(t, st.c, st.stream(1), pattern(50000))
		queueBody(t, st.c, st.stream(3), pattern(50000))
	})
	st.produce()
	total := 0
	for _, f := range st.drainFrames() {
		if f.Type != frame.TypeData {
			t.Fatalf("unexpected %v", f)
		}
		total += int(f.Length)
	}
	if total != initialWindow {
		t.Fatalf("sent %d bytes, the connection window is %d", total, initialWindow)
	}
	// More passes send nothing: the connection window is closed.
	for range 3 {
		st.produce()
	}
	st.wantNoFrame()
	st.writeWindowUpdate(0, 20000)
	st.produce()
	total = 0
	for _, f := range st.drainFrames() {
		total += int(f.Length)
	}
	if total != 20000 {
		t.Fatalf("sent %d after WINDOW_UPDATE(0, 20000)", total)
	}
	st.writeWindowUpdate(0, 1<<20)
	st.produce()
	total = 0
	for _, f := range st.drainFrames() {
		total += int(f.Length)
	}
	if total != 100000-initialWindow-20000 {
		t.Fatalf("sent %d of the remaining %d", total, 100000-initialWindow-20000)
	}
}

// TestSettingsInitialWindowChange: a new SETTINGS_INITIAL_WINDOW_SIZE
// applies to every open stream by the difference, and a window may go
// negative (RFC 9113 6.9.2); only credit beyond it lets data out.
func TestSettingsInitialWindowChange(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 100})
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(1000))
	if got, _, _ := st.collectData(1); len(got) != 100 {
		t.Fatalf("sent %d in a 100-byte window", len(got))
	}
	st.writeSettings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 50})
	st.wantSettingsAck()
	if w := st.stream(1).SendWindow(); w != -50 {
		t.Fatalf("window %d after lowering the initial window by 50, want -50", w)
	}
	st.writeWindowUpdate(1, 60)
	if got, _, _ := st.collectData(1); len(got) != 10 {
		t.Fatalf("sent %d with a window of 10", len(got))
	}
	// Raising the initial window unblocks the stream.
	st.writeSettings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 500})
	st.wantSettingsAck()
	if got, _, _ := st.collectData(1); len(got) != 450 {
		t.Fatalf("sent %d after raising the initial window by 450", len(got))
	}
	// A new stream starts with the new initial window.
	st.writeRequest(3)
	if w := st.stream(3).SendWindow(); w != 500 {
		t.Fatalf("new stream window %d, want 500", w)
	}
	// Overflow through SETTINGS is a connection FLOW_CONTROL_ERROR.
	st.writeWindowUpdate(3, maxWindow-500)
	st.writeSettings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 501})
	st.wantConnError(3, frame.FlowControlError)
}

// TestWindowUpdateErrors: zero increments and overflows (RFC 9113 6.9,
// 6.9.1).
func TestWindowUpdateErrors(t *testing.T) {
	t.Run("stream_zero_increment", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRequest(1)
		st.writeWindowUpdate(1, 0)
		st.wantRSTStream(1, frame.ProtocolError)
	})
	t.Run("conn_zero_increment", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeWindowUpdate(0, 0)
		st.wantConnError(0, frame.ProtocolError)
	})
	t.Run("stream_overflow", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRequest(1)
		st.writeWindowUpdate(1, maxWindow)
		st.wantRSTStream(1, frame.FlowControlError)
	})
	t.Run("conn_overflow", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeWindowUpdate(0, maxWindow)
		st.wantConnError(0, frame.FlowControlError)
	})
	t.Run("bad_length", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRaw(frame.Header{Type: frame.TypeWindowUpdate}, []byte{0, 0, 1})
		st.wantConnError(0, frame.FrameSizeError)
	})
}

// TestRecvStreamWindowExceeded: DATA beyond the stream window we
// advertised is a stream FLOW_CONTROL_ERROR (RFC 9113 6.9.1); the
// connection survives and its credit is not lost.
func TestRecvStreamWindowExceeded(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.InitialWindowSize = 1000 })
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.h.autoConsume = false
	st.writeData(1, false, pattern(600))
	st.writeData(1, false, pattern(401))
	st.wantRSTStream(1, frame.FlowControlError)
	st.wantClosed(1, frame.FlowControlError)
	if len(st.h.data[1]) != 600 {
		t.Fatalf("handler got %d bytes, want the 600 within the window", len(st.h.data[1]))
	}
	st.h.autoConsume = true
	st.do(func() { st.c.Consume(st.h.streams[1], 600) })
	st.checkCredit()
}

// TestRecvConnWindowExceeded: DATA beyond the connection window is a
// connection FLOW_CONTROL_ERROR.
func TestRecvConnWindowExceeded(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.ConnWindowSize = initialWindow })
	st.feed(append([]byte(frame.ClientPreface), frame.AppendSettings(nil)...))
	st.wantSettings()
	st.wantSettingsAck() // no WINDOW_UPDATE: the window stays at 65,535
	st.writeSettingsAck()
	st.writeHeaders(1, false, postFields())
	st.h.autoConsume = false
	for range 3 {
		st.writeData(1, false, pattern(16384))
	}
	st.writeData(1, false, pattern(16384-1))
	st.wantNoFrame()
	st.writeData(1, false, []byte("x"))
	st.wantConnError(1, frame.FlowControlError)
}

// TestRecvCreditBatched: credit for consumed DATA is returned in batches,
// far fewer WINDOW_UPDATEs than DATA frames, and a client that respects
// its windows is never starved (a 4 MiB upload through 1 MiB windows).
func TestRecvCreditBatched(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	const total = 4 << 20
	connWin, streamWin := int64(1<<20), int64(1<<20) // as the client sees them
	sent, dataFrames, updates := 0, 0, 0
	for sent < total {
		n := int(min(16384, connWin, streamWin, int64(total-sent)))
		if n <= 0 {
			t.Fatalf("client starved after %d bytes: windows conn=%d stream=%d", sent, connWin, streamWin)
		}
		st.writeData(1, sent+n == total, pattern(n))
		sent += n
		dataFrames++
		connWin -= int64(n)
		streamWin -= int64(n)
		for _, f := range st.drainFrames() {
			if f.Type != frame.TypeWindowUpdate {
				continue
			}
			updates++
			inc := int64(st.windowIncrement(f))
			if f.StreamID == 0 {
				connWin += inc
			} else {
				streamWin += inc
			}
		}
	}
	if len(st.h.data[1]) != total || !st.h.dataEnd[1] {
		t.Fatalf("handler got %d bytes (end %v)", len(st.h.data[1]), st.h.dataEnd[1])
	}
	if updates*4 > dataFrames {
		t.Fatalf("%d WINDOW_UPDATEs for %d DATA frames: credit is not batched", updates, dataFrames)
	}
	t.Logf("%d DATA frames, %d WINDOW_UPDATEs", dataFrames, updates)
}

// TestPaddingCredit: padding is flow-controlled but never reaches the
// handler; its credit comes back without the handler's help.
func TestPaddingCredit(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.feed(frame.AppendDataPadded(nil, 1, true, []byte("abc"), 200))
	if string(st.h.data[1]) != "abc" || !st.h.dataEnd[1] {
		t.Fatalf("handler got %q", st.h.data[1])
	}
	// checkCredit (after every step) proves the 201 padding octets were
	// credited back.
}

// TestConsumeAfterClose: credit for bytes consumed after the stream
// closed still returns to the connection window.
func TestConsumeAfterClose(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.h.autoConsume = false
	st.h.noRelease = true
	st.writeHeaders(1, false, postFields())
	st.writeData(1, false, pattern(300<<10/20)) // 15 KiB
	s := st.stream(1)
	st.writeRST(1, frame.Cancel)
	st.wantClosed(1, frame.Cancel)
	before := st.c.recvWindow + st.c.recvCredit
	st.do(func() { st.c.Consume(s, 300<<10/20) })
	if after := st.c.recvWindow + st.c.recvCredit; after != before+300<<10/20 {
		t.Fatalf("connection credit %d -> %d after consuming 15 KiB", before, after)
	}
}
