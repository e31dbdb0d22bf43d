package e2e

import (
	"testing"

	"golang.org/x/net/http2"
)

// Control-frame floods (DESIGN.md 3.7): each frame is cheap to send and
// costs sluice an answer or a pass, so each kind is counted per 1 s window
// (halved, not reset, each second) and the connection that goes over ends
// with GOAWAY(ENHANCE_YOUR_CALM). Each attack is repeated on fresh
// connections while a well-behaved client keeps being served.

// TestAttackPingFlood is CVE-2019-9512: PINGs at full speed, each of
// which would cost a PING ACK.
func TestAttackPingFlood(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	runs := good.during(3, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		for i := range 1000 {
			b.fr.WritePing(false, [8]byte{byte(i), byte(i >> 8)})
		}
		a.send(b)
		before, _ := a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		if n := len(before); n > 100 {
			t.Errorf("%d frames (PING ACKs) before the GOAWAY, want at most the limit, 100", n)
		}
	})
	at.wantFlood(t, "ping_window", float64(runs))
	good.check()
}

// TestAttackSettingsFlood is CVE-2019-9515: SETTINGS frames at full
// speed, each of which costs a SETTINGS ACK (and a pass over every
// stream when it changes the initial window); or one frame stuffed with
// parameters.
func TestAttackSettingsFlood(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	runs := good.during(3, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		for i := range 500 {
			b.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(1<<20 + i%2)})
		}
		a.send(b)
		before, _ := a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		if n := len(before); n > 50 {
			t.Errorf("%d frames (SETTINGS ACKs) before the GOAWAY, want at most the limit, 50", n)
		}
	})
	at.wantFlood(t, "settings_window", float64(runs))

	a := dialAttacker(t, at.addr, 0)
	var many []http2.Setting
	for range 100 {
		many = append(many, http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	}
	b := newBurst()
	b.fr.WriteSettings(many...)
	a.send(b)
	a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
	at.wantFlood(t, "settings_entries", 1)
	good.check()
}

// TestAttackEmptyDataFlood is CVE-2019-9518: zero-length DATA frames
// without END_STREAM carry nothing and cost a frame's processing each.
func TestAttackEmptyDataFlood(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	runs := good.during(3, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		b.headers(1, false, a.reqBlock("POST", "/attack/empty-data"))
		for range 1000 {
			b.fr.WriteData(1, false, nil)
		}
		a.send(b)
		a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
	})
	at.wantFlood(t, "empty_data", float64(runs))
	good.check()
}

// TestAttackWindowUpdateConnFlood: WINDOW_UPDATE frames on stream 0 that
// pay back no credit our DATA used (a flood of scheduling passes).
// Credit that pays back DATA is flow control and is never limited:
// TestH2LargeTransfers downloads at full speed with Go's Transport, which
// sends one per 4 KiB it reads.
func TestAttackWindowUpdateConnFlood(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	runs := good.during(3, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		for range 1000 {
			b.fr.WriteWindowUpdate(0, 1)
		}
		a.send(b)
		a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
	})
	at.wantFlood(t, "window_update_conn", float64(runs))
	good.check()
}

// TestAttackContinuationFlood is CVE-2024-27316: a field block that never
// ends. "endless": CONTINUATION frames of header bytes (one literal value
// that never ends), which would grow a buffer without bound; "tiny":
// empty CONTINUATION frames, which grow nothing but cost a frame each.
// Either is cut off before a request exists: by the block's size cap
// (the header list size, 64 KiB) or its frame cap (20).
func TestAttackContinuationFlood(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	chunk := make([]byte, 16384)
	for i := range chunk {
		chunk[i] = 'a'
	}
	t.Run("endless", func(t *testing.T) {
		runs := good.during(3, func(int) {
			a := dialAttacker(t, at.addr, 0)
			b := newBurst()
			b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: a.reqBlock("GET", "/attack/endless"), EndStream: true})
			// Literal field, new name "x", value length 2^28+.
			b.fr.WriteContinuation(1, false, []byte{0x00, 0x01, 'x', 0x7f, 0xff, 0xff, 0xff, 0x0f})
			for range 10 {
				b.fr.WriteContinuation(1, false, chunk)
			}
			a.send(b)
			a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		})
		at.wantFlood(t, "header_block_bytes", float64(runs))
	})
	t.Run("tiny", func(t *testing.T) {
		runs := good.during(3, func(int) {
			a := dialAttacker(t, at.addr, 0)
			b := newBurst()
			b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: a.reqBlock("GET", "/attack/tiny"), EndStream: true})
			for range 1000 {
				b.fr.WriteContinuation(1, false, nil)
			}
			a.send(b)
			a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		})
		at.wantFlood(t, "continuation_frames", float64(runs))
	})
	if n := at.attackRequests.Load(); n != 0 {
		t.Errorf("the backend saw %d requests of unfinished blocks", n)
	}
	good.check()
}
