package h2

import (
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Connection-level frames: preface, SETTINGS, PING, GOAWAY from the peer,
// unknown frames.

func TestPreface(t *testing.T) {
	t.Run("byte_by_byte", func(t *testing.T) {
		st := newServerTester(t)
		st.drainFrames()
		b := append([]byte(frame.ClientPreface), frame.AppendSettings(nil)...)
		for i := range b {
			st.feed(b[i : i+1])
		}
		st.wantSettingsAck()
		if st.err != nil {
			t.Fatal(st.err)
		}
	})
	t.Run("bad_preface", func(t *testing.T) {
		st := newServerTester(t)
		st.drainFrames()
		st.feed([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		st.wantConnError(0, frame.ProtocolError)
	})
	t.Run("first_frame_not_settings", func(t *testing.T) {
		st := newServerTester(t)
		st.drainFrames()
		st.feed(append([]byte(frame.ClientPreface), frame.AppendPing(nil, false, [8]byte{})...))
		st.wantConnError(0, frame.ProtocolError)
	})
	t.Run("first_settings_is_ack", func(t *testing.T) {
		st := newServerTester(t)
		st.drainFrames()
		st.feed(append([]byte(frame.ClientPreface), frame.AppendSettingsAck(nil)...))
		st.wantConnError(0, frame.ProtocolError)
	})
}

func TestPing(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	st.writePing(false, data)
	st.wantPing(true, data)
	// An ACK we did not ask for is ignored (a glitch, counted).
	st.writePing(true, data)
	st.wantNoFrame()
	if st.c.Stats().Glitches != 1 {
		t.Fatalf("glitches %d, want 1", st.c.Stats().Glitches)
	}
	if !st.c.LastActivity().IsZero() {
		t.Fatalf("PING moved the idle clock")
	}
}

func TestPingErrors(t *testing.T) {
	t.Run("bad_length", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRaw(frame.Header{Type: frame.TypePing}, make([]byte, 7))
		st.wantConnError(0, frame.FrameSizeError)
	})
	t.Run("on_stream", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRaw(frame.Header{Type: frame.TypePing, StreamID: 1}, make([]byte, 8))
		st.wantConnError(0, frame.ProtocolError)
	})
}

func TestSettings(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeSettings(
		frame.Setting{ID: frame.SettingMaxFrameSize, Val: 1 << 20},
		frame.Setting{ID: frame.SettingHeaderTableSize, Val: 0},
		frame.Setting{ID: 0x99, Val: 7}, // unknown: ignored (RFC 9113 6.5.2)
	)
	st.wantSettingsAck()
	if st.c.peerMaxFrame != 1<<20 {
		t.Fatalf("peer max frame %d", st.c.peerMaxFrame)
	}
	// A large response now goes out in frames up to the new maximum.
	st.writeRequest(1)
	st.writeWindowUpdate(0, 1<<20)
	st.writeSettings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	st.wantSettingsAck()
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(100000))
	st.inv.peerMaxFrame = 1 << 20
	if d := st.wantData(1, false); len(d) != 100000 {
		t.Fatalf("one DATA frame of %d, want 100000 (peer max frame 1 MiB)", len(d))
	}
	if !st.c.LastActivity().Equal(st.clock.t) {
		t.Fatalf("the request did not move the idle clock")
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		h       frame.Header
		code    ErrCode
	}{
		{"enable_push_2", frame.AppendSettings(nil, frame.Setting{ID: frame.SettingEnablePush, Val: 2})[9:], frame.Header{Type: frame.TypeSettings}, frame.ProtocolError},
		{"initial_window_too_large", frame.AppendSettings(nil, frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 31})[9:], frame.Header{Type: frame.TypeSettings}, frame.FlowControlError},
		{"max_frame_too_small", frame.AppendSettings(nil, frame.Setting{ID: frame.SettingMaxFrameSize, Val: 16383})[9:], frame.Header{Type: frame.TypeSettings}, frame.ProtocolError},
		{"max_frame_too_large", frame.AppendSettings(nil, frame.Setting{ID: frame.SettingMaxFrameSize, Val: 1 << 24})[9:], frame.Header{Type: frame.TypeSettings}, frame.ProtocolError},
		{"ack_with_payload", make([]byte, 6), frame.Header{Type: frame.TypeSettings, Flags: frame.FlagAck}, frame.FrameSizeError},
		{"bad_length", make([]byte, 7), frame.Header{Type: frame.TypeSettings}, frame.FrameSizeError},
		{"on_stream", nil, frame.Header{Type: frame.TypeSettings, StreamID: 1}, frame.ProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeRaw(tt.h, tt.payload)
			st.wantConnError(0, tt.code)
		})
	}
}

// TestSettingsAckTimeout: SETTINGS not acknowledged within the timeout
// end the connection with SETTINGS_TIMEOUT (RFC 9113 6.5.3).
func TestSettingsAckTimeout(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.SettingsAckTimeout = 5 * time.Second })
	st.greetNoAck()
	if d := st.c.NextDeadline(); !d.Equal(st.clock.t.Add(5 * time.Second)) {
		t.Fatalf("NextDeadline %v, want the ACK deadline", d)
	}
	st.writeRequest(1) // traffic is not an ACK
	st.advance(4999 * time.Millisecond)
	st.wantNoFrame()
	st.advance(time.Millisecond)
	st.wantGoAway(1, frame.SettingsTimeout)
	if st.err == nil || !st.c.ShouldClose() {
		t.Fatalf("timeout did not end the connection")
	}
}

// TestSettingsAckInTime: an ACK within the timeout disarms it, including
// for a later SETTINGS (refusal back-pressure sends one).
func TestSettingsAckInTime(t *testing.T) {
	st := newServerTester(t)
	st.greetNoAck()
	st.advance(4 * time.Second)
	st.writeSettingsAck()
	st.advance(time.Hour)
	st.wantNoFrame()
	if st.err != nil {
		t.Fatal(st.err)
	}
	if !st.c.NextDeadline().IsZero() {
		t.Fatalf("a timer is still armed: %v", st.c.NextDeadline())
	}
}

// TestPeerGoAway: the client's GOAWAY reaches the handler; its last id
// may not grow (RFC 9113 6.8).
func TestPeerGoAway(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.feed(frame.AppendGoAway(nil, 0, frame.NoError, []byte("bye")))
	st.wantNoFrame()
	if len(st.h.goAways) != 1 || st.h.goAways[0] != "0 NO_ERROR" {
		t.Fatalf("OnGoAway calls %v", st.h.goAways)
	}
	if ok, last := st.c.PeerGoingAway(); !ok || last != 0 {
		t.Fatalf("PeerGoingAway = %v, %d", ok, last)
	}
	// A client that went away may still finish its streams; our streams
	// are unaffected (we open none).
	st.feed(frame.AppendGoAway(nil, 2, frame.NoError, nil))
	st.wantConnError(0, frame.ProtocolError)
}

// TestUnknownFrames: unknown types are ignored (RFC 9113 5.5), except
// inside a field block.
func TestUnknownFrames(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRaw(frame.Header{Type: 0xfa, Flags: 0xff, StreamID: 99}, []byte("whatever"))
	st.wantNoFrame()
	st.writeRequest(1)
	st.h.request(1)
	if st.err != nil {
		t.Fatal(st.err)
	}
	if !st.c.LastActivity().Equal(st.clock.t) {
		t.Fatalf("request did not move the idle clock")
	}
}

// TestPriorityFrame: RFC 7540 priorities are ignored, but a stream that
// depends on itself is a stream PROTOCOL_ERROR (RFC 9113 5.3.1).
func TestPriorityFrame(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.feed(frame.AppendPriority(nil, 3, frame.Priority{StreamDep: 1, Weight: 100}))
	st.wantNoFrame()
	st.feed(frame.AppendPriority(nil, 5, frame.Priority{StreamDep: 5}))
	st.wantRSTStream(5, frame.ProtocolError)
	st.feed(frame.AppendHeadersPriority(nil, 7, true, true, frame.Priority{StreamDep: 7}, st.encode(reqFields())))
	st.wantRSTStream(7, frame.ProtocolError)
	if len(st.h.requests) != 0 {
		t.Fatalf("self-dependent stream reached the handler")
	}
	// RFC 9113 6.3: a PRIORITY of the wrong length is a stream error.
	st.writeRaw(frame.Header{Type: frame.TypePriority, StreamID: 9}, make([]byte, 4))
	st.wantRSTStream(9, frame.FrameSizeError)
	st.writeRaw(frame.Header{Type: frame.TypePriority}, make([]byte, 5))
	st.wantConnError(7, frame.ProtocolError)
}
