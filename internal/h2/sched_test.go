package h2

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// The write scheduler (DESIGN.md 3.8): fair between streams, and never
// spinning when every window is closed.

// openResponses opens n GET streams (1, 3, ...) and writes a 200 head on
// each, with a client that granted big windows.
func openResponses(t *testing.T, kind SchedulerKind, n int, extra ...string) *serverTester {
	st := newServerTester(t)
	st.c.SetScheduler(kind)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	st.writeWindowUpdate(0, 4<<20)
	for i := range n {
		id := StreamID(2*i + 1)
		st.writeHeaders(id, true, reqFields(extra...))
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
	}
	return st
}

// dataOrder returns the stream ids of the DATA frames sent, in order.
func dataOrder(frames []gotFrame) string {
	var b strings.Builder
	for _, f := range frames {
		if f.Type == frame.TypeData {
			b.WriteString(f.StreamID.String())
		}
	}
	return b.String()
}

// TestSchedulerFairRoundRobin: two streams with data queued at once share
// the connection one DATA frame at a time.
func TestSchedulerFairRoundRobin(t *testing.T) {
	st := openResponses(t, SchedulerFair, 2)
	st.autoProduce = false
	st.do(func() {
		queueBody(t, st.c, st.stream(1), pattern(3*16384))
		queueBody(t, st.c, st.stream(3), pattern(3*16384))
		st.c.EndStream(st.stream(1))
		st.c.EndStream(st.stream(3))
	})
	st.produce()
	if got := dataOrder(st.drainFrames()); got != "131313" {
		t.Fatalf("DATA order %s, want 131313", got)
	}
	st.wantClosed(1, frame.NoError)
	st.wantClosed(3, frame.NoError)
}

// TestSchedulerRFC9218Order: by default non-incremental streams of one
// urgency go one after another, and a lower urgency goes first.
func TestSchedulerRFC9218Order(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	st.writeWindowUpdate(0, 4<<20)
	st.writeHeaders(1, true, reqFields())
	st.writeHeaders(3, true, reqFields())
	st.writeHeaders(5, true, reqFields("priority", "u=1"))
	for _, id := range []StreamID{1, 3, 5} {
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
	}
	st.autoProduce = false
	st.do(func() {
		for _, id := range []StreamID{1, 3, 5} {
			queueBody(t, st.c, st.stream(id), pattern(2*16384))
		}
	})
	st.produce()
	if got := dataOrder(st.drainFrames()); got != "551133" {
		t.Fatalf("DATA order %s, want 551133", got)
	}
}

// TestSchedulerNoSpin: with every stream window closed a pass produces
// nothing and leaves nothing in the ready set; more passes stay empty; a
// WINDOW_UPDATE brings exactly that stream back.
func TestSchedulerNoSpin(t *testing.T) {
	st := newServerTester(t)
	st.c.SetScheduler(SchedulerFair)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
	for _, id := range []StreamID{1, 3} {
		st.writeRequest(id)
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
	}
	st.autoProduce = false
	st.do(func() {
		queueBody(t, st.c, st.stream(1), pattern(1000))
		queueBody(t, st.c, st.stream(3), pattern(1000))
	})
	st.produce()
	st.wantNoFrame()
	if st.c.sched.n != 0 {
		t.Fatalf("%d streams still ready with closed windows: the writer would spin", st.c.sched.n)
	}
	for range 5 {
		st.produce()
	}
	st.wantNoFrame()
	st.writeWindowUpdate(3, 300)
	if st.c.sched.n != 1 {
		t.Fatalf("ready streams %d after one WINDOW_UPDATE, want 1", st.c.sched.n)
	}
	st.produce()
	if d := st.wantData(3, false); len(d) != 300 {
		t.Fatalf("sent %d", len(d))
	}
	st.produce()
	st.wantNoFrame()
}

// TestSchedulerConnWindowClosed: with the connection window closed, a
// pass stops at once (no work per queued stream) and resumes on
// WINDOW_UPDATE(0).
func TestSchedulerConnWindowClosed(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	for _, id := range []StreamID{1, 3} {
		st.writeRequest(id)
		st.respond(id, 200, false)
		st.wantStatus(id, "200", false)
	}
	st.autoProduce = false
	st.do(func() {
		queueBody(t, st.c, st.stream(1), pattern(initialWindow))
		queueBody(t, st.c, st.stream(3), pattern(1000))
	})
	st.produce()
	if got := len(st.drainFrames()); got != 4 {
		t.Fatalf("%d DATA frames for 65,535 bytes", got)
	}
	framesOut := st.c.Stats().FramesOut
	for range 5 {
		st.produce()
	}
	st.wantNoFrame()
	if st.c.Stats().FramesOut != framesOut {
		t.Fatalf("passes with a closed window produced frames")
	}
	st.writeWindowUpdate(0, 1000)
	st.produce()
	if d := st.wantData(3, false); len(d) != 1000 {
		t.Fatalf("sent %d", len(d))
	}
}

// TestEndStreamNotBlockedByConnWindow: a stream whose remaining output is
// not flow-controlled (a bare END_STREAM, trailers) completes even while
// another stream's data waits on a closed connection window (RFC 9113
// 6.9: only DATA payload counts against windows).
func TestEndStreamNotBlockedByConnWindow(t *testing.T) {
	for _, kind := range []SchedulerKind{SchedulerRFC9218, SchedulerFair} {
		t.Run(map[SchedulerKind]string{SchedulerRFC9218: "rfc9218", SchedulerFair: "fair"}[kind], func(t *testing.T) {
			st := newServerTester(t)
			st.c.SetScheduler(kind)
			st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
			for _, id := range []StreamID{1, 3, 5} {
				st.writeRequest(id)
				st.respond(id, 200, false)
				st.wantStatus(id, "200", false)
			}
			st.queue(1, pattern(initialWindow+100)) // closes the connection window
			st.drainFrames()
			st.endStream(3)
			s5 := st.stream(5)
			st.do(func() { st.c.WriteTrailers(s5, []Field{{Name: []byte("x-t"), Value: []byte("1")}}) })
			frames := st.drainFrames()
			var ended []StreamID
			for _, f := range frames {
				if f.Flags.Has(frame.FlagEndStream) {
					ended = append(ended, f.StreamID)
				}
			}
			if len(ended) != 2 {
				t.Fatalf("frames %v: streams 3 and 5 did not end while 1 waits for window", frames)
			}
			st.wantClosed(3, frame.NoError)
			st.wantClosed(5, frame.NoError)
			st.writeWindowUpdate(0, 100)
			if d := st.wantData(1, false); len(d) != 100 {
				t.Fatalf("sent %d", len(d))
			}
		})
	}
}
