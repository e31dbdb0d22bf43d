package h2

import (
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// The per-stream reapers (DESIGN.md 3.6), on the fake clock.

func TestStreamIdleReap(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.StreamIdleTimeout = 30 * time.Second })
	st.greet()
	st.writeHeaders(1, false, postFields())
	if d := st.c.NextDeadline(); d.IsZero() || d.After(st.clock.t.Add(30*time.Second)) {
		t.Fatalf("NextDeadline %v: no reaper armed", d)
	}
	st.advance(20 * time.Second)
	st.writeData(1, false, []byte("activity"))
	st.advance(29 * time.Second)
	st.wantNoFrame()
	// Control frames do not count as stream activity.
	st.writePing(false, [8]byte{})
	st.wantPing(true, [8]byte{})
	st.writeWindowUpdate(1, 1)
	// Reaped at the deadline, give or take the reapers' coarse clock
	// (at most a second late).
	st.advance(2 * time.Second)
	st.wantRSTStream(1, frame.Cancel)
	st.wantClosed(1, frame.Cancel)
	if st.h.closed[0].reap != ReapIdle || len(st.obs.reaped) != 1 || st.obs.reaped[0] != ReapIdle {
		t.Fatalf("reap reason %q, observer %v", st.h.closed[0].reap, st.obs.reaped)
	}
}

// TestWindowStallReap: a response stuck on a send window that the client
// opens one byte at a time is reaped after the stream idle timeout even
// though each drip moves data (DESIGN.md 3.6).
func TestWindowStallReap(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.StreamIdleTimeout = 30 * time.Second })
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(100000))
	st.wantNoFrame()
	for range 5 {
		st.advance(5 * time.Second)
		st.writeWindowUpdate(1, 1)
		if d := st.wantData(1, false); len(d) != 1 {
			t.Fatalf("drip sent %d", len(d))
		}
	}
	st.advance(4 * time.Second)
	st.wantNoFrame()
	st.advance(2 * time.Second)
	st.wantRSTStream(1, frame.Cancel)
	if st.h.closed[0].reap != ReapWindowStall {
		t.Fatalf("reap reason %q", st.h.closed[0].reap)
	}
	if len(st.obs.reaped) != 2 || st.obs.reaped[0] != ReapWindowStall || st.obs.reaped[1] != ReapStallBudget {
		t.Fatalf("observer %v", st.obs.reaped)
	}
}

// TestStallClearedByProgress: a window that opens for real clears the
// stall; the stream lives on.
func TestStallClearedByProgress(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.StreamIdleTimeout = 30 * time.Second })
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
	st.writeRequest(1)
	st.respond(1, 200, false)
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(40000))
	st.advance(25 * time.Second)
	st.writeWindowUpdate(1, 20000)
	st.drainFrames()
	st.advance(25 * time.Second)
	st.wantNoFrame()
	if st.stream(1).Closed() {
		t.Fatalf("stream reaped after real progress")
	}
}
