package h2

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// RFC 9218 priorities in the writer (DESIGN.md 3.8), at the frame level:
// the signals (priority header, PRIORITY_UPDATE, the backend's response
// header), the scheduler's order under a shared bottleneck, and the rules
// that keep it from stranding or spinning.

// prioObserver counts the priority events on top of the harness observer.
type prioObserver struct {
	*recObserver
	updates, dropped int
}

func (o *prioObserver) PriorityUpdate()  { o.updates++ }
func (o *prioObserver) PriorityDropped() { o.dropped++ }

// prioStream is a request to open: its id and priority header ("" none).
type prioStream struct {
	id       StreamID
	priority string
}

// openPrio greets with big stream windows but leaves the connection
// window at its initial 65,535 (the shared bottleneck), opens the streams
// and answers each with a 200 head. Write passes are then driven by hand.
func openPrio(t *testing.T, kind SchedulerKind, streams ...prioStream) (*serverTester, *prioObserver) {
	t.Helper()
	st := newServerTester(t)
	st.c.SetScheduler(kind)
	obs := &prioObserver{recObserver: st.obs}
	st.c.obs = obs
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 20})
	for _, ps := range streams {
		var extra []string
		if ps.priority != "" {
			extra = []string{"priority", ps.priority}
		}
		st.writeHeaders(ps.id, true, reqFields(extra...))
		st.respond(ps.id, 200, false)
		st.wantStatus(ps.id, "200", false)
	}
	st.autoProduce = false
	return st, obs
}

// queueFrames queues n full DATA frames' worth of body on each stream,
// with END_STREAM behind it when end is set, as one handler step.
func (st *serverTester) queueFrames(n int, end bool, ids ...StreamID) {
	st.t.Helper()
	st.do(func() {
		for _, id := range ids {
			s := st.stream(id)
			queueBody(st.t, st.c, s, pattern(n*frame.DefaultMaxFrameSize))
			if end {
				if err := st.c.EndStream(s); err != nil {
					st.t.Errorf("EndStream: %v", err)
				}
			}
		}
	})
}

// drip returns connection credit one frame's worth at a time, a write
// pass after each, until no stream has anything left, and returns the
// DATA frames' stream ids in order ("" after each id for readability).
func (st *serverTester) drip() string {
	st.t.Helper()
	var order []string
	for i := 0; st.c.sched.n > 0; i++ {
		if i > 1000 {
			st.t.Fatalf("streams still queued after 1000 WINDOW_UPDATEs")
		}
		st.writeWindowUpdate(0, frame.DefaultMaxFrameSize)
		st.produce()
		order = append(order, dataIDs(st.drainFrames())...)
	}
	return strings.Join(order, " ")
}

// dataIDs returns the stream id of each DATA frame.
func dataIDs(frames []gotFrame) []string {
	var out []string
	for _, f := range frames {
		if f.Type == frame.TypeData {
			out = append(out, f.StreamID.String())
		}
	}
	return out
}

// runs collapses consecutive repeats: "5 5 3 3 1" -> "5 3 1".
func runs(order string) string {
	var out []string
	for _, id := range strings.Fields(order) {
		if len(out) == 0 || out[len(out)-1] != id {
			out = append(out, id)
		}
	}
	return strings.Join(out, " ")
}

// TestPriorityUrgencyOrder: with a small connection window and responses
// queued on streams of urgency 7, 3 and 0, DATA leaves in urgency order:
// the urgent response overtakes one that already holds the connection
// (RFC 9218 10: lower urgency first).
func TestPriorityUrgencyOrder(t *testing.T) {
	st, _ := openPrio(t, SchedulerRFC9218,
		prioStream{1, "u=7"}, prioStream{3, ""}, prioStream{5, "u=0"})
	st.queueFrames(6, true, 1)
	st.produce()
	if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "1 1 1 1" {
		t.Fatalf("first pass sent DATA on %q, want the 65,535-byte window on stream 1", got)
	}
	st.queueFrames(3, true, 3, 5)
	order := st.drip()
	if runs(order) != "5 3 1" {
		t.Fatalf("DATA order %q, want all of stream 5 (u=0), then 3 (u=3), then 1 (u=7)", order)
	}
	for _, id := range []StreamID{1, 3, 5} {
		st.wantClosed(id, frame.NoError)
	}
}

// TestPriorityIncrementalInterleave: two incremental streams of one
// urgency share the connection one DATA frame at a time, and the rotation
// carries over from one write pass to the next.
func TestPriorityIncrementalInterleave(t *testing.T) {
	st, _ := openPrio(t, SchedulerRFC9218, prioStream{1, "u=2, i"}, prioStream{3, "i, u=2"})
	st.queueFrames(5, true, 1, 3)
	// 65,535 bytes: four frames in the first pass, then one per credit.
	order := strings.Join(dataIDs(func() []gotFrame { st.produce(); return st.drainFrames() }()), " ")
	if order != "1 3 1 3" {
		t.Fatalf("first pass %q, want 1 3 1 3", order)
	}
	// Stream 3 sent the last frame of the first pass (a 16,383-byte one,
	// the window's remainder): stream 1 is next, in the next pass.
	order += " " + st.drip()
	if order != "1 3 1 3 1 3 1 3 1 3 3" {
		t.Fatalf("DATA order %q, want strict alternation (then 3's window remainder)", order)
	}
}

// TestPriorityLoneIncremental: an incremental stream alone in its urgency
// sends back to back, in one pass, even while incremental streams of
// another urgency wait (the count of peers is per urgency).
func TestPriorityLoneIncremental(t *testing.T) {
	st, _ := openPrio(t, SchedulerRFC9218,
		prioStream{1, "u=5, i"}, prioStream{3, "u=1, i"}, prioStream{5, "u=5, i"})
	st.writeWindowUpdate(0, 1<<20)
	st.queueFrames(2, true, 1, 5)
	st.queueFrames(4, true, 3)
	st.produce()
	if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "3 3 3 3 1 5 1 5" {
		t.Fatalf("one pass sent %q, want 3 back to back, then 1 and 5 alternating", got)
	}
}

// TestPriorityUpdateReorders: a PRIORITY_UPDATE mid-response moves the
// rest of a response ahead of (or into rotation with) another.
func TestPriorityUpdateReorders(t *testing.T) {
	t.Run("urgency", func(t *testing.T) {
		st, obs := openPrio(t, SchedulerRFC9218, prioStream{1, ""}, prioStream{3, ""})
		st.queueFrames(6, true, 1, 3)
		st.produce()
		if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "1 1 1 1" {
			t.Fatalf("first pass %q", got)
		}
		st.feed(frame.AppendPriorityUpdate(nil, 3, []byte("u=0")))
		if p := st.stream(3).Priority(); p != (Priority{Urgency: 0}) {
			t.Fatalf("stream 3 priority %v after PRIORITY_UPDATE u=0", p)
		}
		if got := runs(st.drip()); got != "3 1" {
			t.Fatalf("after the update DATA went %q, want all of 3 before the rest of 1", got)
		}
		if obs.updates != 1 {
			t.Fatalf("%d PRIORITY_UPDATEs counted, want 1", obs.updates)
		}
	})
	t.Run("incremental", func(t *testing.T) {
		st, _ := openPrio(t, SchedulerRFC9218, prioStream{1, ""}, prioStream{3, ""})
		st.queueFrames(6, true, 1, 3)
		st.produce()
		st.drainFrames()
		// Both become incremental: they share what is left.
		st.feed(frame.AppendPriorityUpdate(nil, 1, []byte("i")))
		st.feed(frame.AppendPriorityUpdate(nil, 3, []byte("u=3, i")))
		if got := st.drip(); !strings.HasPrefix(got, "1 3 1 3 1 3") && !strings.HasPrefix(got, "3 1 3 1 3 1") {
			t.Fatalf("after both became incremental DATA went %q, want alternation", got)
		}
	})
}

// TestPriorityEndStreamNotSeparated: nothing comes between a stream's last
// DATA frame and the frame that ends it, whichever way the end arrives.
func TestPriorityEndStreamNotSeparated(t *testing.T) {
	incr := []prioStream{{1, "i"}, {3, "i"}, {5, "i"}}
	t.Run("end queued with the data", func(t *testing.T) {
		st, _ := openPrio(t, SchedulerRFC9218, incr...)
		st.writeWindowUpdate(0, 1<<20)
		st.queueFrames(2, true, 1)
		st.queueFrames(4, true, 3, 5)
		st.writeLoop(3) // two passes: the first stops at the high-water mark
		frames := st.drainFrames()
		if got := strings.Join(dataIDs(frames), " "); got != "1 3 5 1 3 5 3 5 3 5" {
			t.Fatalf("DATA order %q", got)
		}
		// END_STREAM rides on each stream's last DATA frame: no bare
		// END_STREAM frame can be separated from it.
		for _, f := range frames {
			if f.Type == frame.TypeData && f.Length == 0 {
				t.Fatalf("empty DATA frame %v: END_STREAM left its last DATA frame", f)
			}
		}
	})
	t.Run("end after the data left", func(t *testing.T) {
		st, _ := openPrio(t, SchedulerRFC9218, incr...)
		st.queueFrames(1, false, 1)
		st.queueFrames(4, false, 3, 5)
		st.produce() // 1's only frame, then 3 and 5 until the window closes
		if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "1 3 5 3" {
			t.Fatalf("first pass %q", got)
		}
		// The backend's end arrives now. It goes out at once, though the
		// connection window is closed and 3 and 5 are mid-rotation.
		st.endStream(1)
		st.produce()
		f := st.wantFrame(frame.TypeData)
		if f.StreamID != 1 || f.Length != 0 || !f.Flags.Has(frame.FlagEndStream) {
			t.Fatalf("got %v, want stream 1's bare END_STREAM", f)
		}
		st.wantNoFrame()
		st.wantClosed(1, frame.NoError)
		// Window open, 3 and 5 drained. In one step 5 gets more data and
		// 3 its end: the end leaves first, not after a round of data.
		st.writeWindowUpdate(0, 1<<20)
		st.produce()
		st.drainFrames()
		st.do(func() {
			queueBody(t, st.c, st.stream(5), pattern(2*frame.DefaultMaxFrameSize))
			st.c.EndStream(st.stream(3))
		})
		st.produce()
		f = st.wantFrame(frame.TypeData)
		if f.StreamID != 3 || f.Length != 0 || !f.Flags.Has(frame.FlagEndStream) {
			t.Fatalf("got %v, want stream 3's bare END_STREAM before stream 5's data", f)
		}
		if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "5 5" {
			t.Fatalf("then %q, want 5 5", got)
		}
	})
	t.Run("trailers", func(t *testing.T) {
		st, _ := openPrio(t, SchedulerRFC9218, incr[:2]...)
		st.writeWindowUpdate(0, 1<<20)
		st.queueFrames(2, false, 1)
		st.queueFrames(4, true, 3)
		st.do(func() {
			st.c.WriteTrailers(st.stream(1), []Field{{Name: []byte("x-checksum"), Value: []byte("1")}})
		})
		st.produce()
		var got []string
		for _, f := range st.drainFrames() {
			got = append(got, f.Type.String()+"/"+f.StreamID.String())
		}
		want := "DATA/1 DATA/3 DATA/1 HEADERS/1 DATA/3 DATA/3 DATA/3"
		if strings.Join(got, " ") != want {
			t.Fatalf("frames %v, want %s: stream 1's trailers right after its last DATA", got, want)
		}
	})
}

// TestPriorityYieldNeverStrands: the session's write loop calls Produce
// until a pass produces nothing. A pass ends at outHighWater with streams
// still mid-rotation; the loop must get everything out with no other
// event, every pass bounded.
func TestPriorityYieldNeverStrands(t *testing.T) {
	for _, kind := range []SchedulerKind{SchedulerRFC9218, SchedulerFair} {
		t.Run(kind.String(), func(t *testing.T) {
			st, _ := openPrio(t, kind, prioStream{1, "u=1, i"}, prioStream{3, "u=1, i"}, prioStream{5, "u=6"})
			st.writeWindowUpdate(0, 8<<20)
			st.queueFrames(12, true, 1, 3, 5) // 576 KiB: several passes' worth
			passes := st.writeLoop(10)
			if passes < 4 {
				t.Fatalf("%d passes for 576 KiB: the high-water mark was not applied", passes)
			}
			for _, id := range []StreamID{1, 3, 5} {
				st.wantClosed(id, frame.NoError)
			}
			if st.c.sched.n != 0 {
				t.Fatalf("%d streams still queued", st.c.sched.n)
			}
		})
	}
}

// writeLoop runs write passes as the session's write loop does: Produce,
// write out what it produced, again until a pass produces nothing. It
// returns the passes that produced output and fails beyond max of them
// or when one pass exceeds the engine's high-water mark.
func (st *serverTester) writeLoop(max int) (produced int) {
	st.t.Helper()
	for {
		st.inv.BeginStep()
		st.c.Produce()
		n := len(st.c.Pending())
		if n > outHighWater+frame.DefaultMaxFrameSize+frame.HeaderLen {
			st.t.Fatalf("one pass produced %d bytes", n)
		}
		st.flush(true)
		if n == 0 {
			return produced
		}
		if produced++; produced > max {
			st.t.Fatalf("the write loop still produces after %d passes", max)
		}
	}
}

// TestPriorityNoSpin: with every window closed, write passes produce
// nothing and leave nothing for the session to retry: the write loop ends
// after one empty pass each time an event wakes it. A spinning writer
// (a stream re-queued for ever, a pass producing an empty frame) would
// make the loop run away.
func TestPriorityNoSpin(t *testing.T) {
	writeLoop := func(st *serverTester) int { return st.writeLoop(50) }
	t.Run("stream windows closed", func(t *testing.T) {
		st := newServerTester(t)
		st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
		for _, ps := range []prioStream{{1, "u=1, i"}, {3, "u=1, i"}, {5, ""}, {7, ""}} {
			st.writeHeaders(ps.id, true, reqFields("priority", ps.priority))
			st.respond(ps.id, 200, false)
			st.wantStatus(ps.id, "200", false)
		}
		st.autoProduce = false
		st.queueFrames(2, true, 1, 3, 5)
		st.endStream(7) // nothing to flow-control: goes out
		if got := writeLoop(st); got != 1 {
			t.Fatalf("%d passes produced output, want the one with stream 7's END_STREAM", got)
		}
		st.wantData(7, true)
		st.wantClosed(7, frame.NoError)
		if st.c.sched.n != 0 || st.c.ReadyIncremental() != [8]int{} {
			t.Fatalf("window-blocked streams left ready (%d, %v): the writer would spin", st.c.sched.n, st.c.ReadyIncremental())
		}
		for range 20 {
			st.feed(frame.AppendPing(nil, false, [8]byte{1}))
			if got := writeLoop(st); got != 0 {
				t.Fatalf("a PING woke %d productive passes with every window closed", got)
			}
		}
		st.drainFrames() // the PING ACKs
		st.writeWindowUpdate(3, 100)
		st.produce()
		if d := st.wantData(3, false); len(d) != 100 {
			t.Fatalf("sent %d after WINDOW_UPDATE(3, 100)", len(d))
		}
		if got := writeLoop(st); got != 0 {
			t.Fatalf("%d more passes after the credit was used", got)
		}
	})
	t.Run("connection window closed", func(t *testing.T) {
		st, _ := openPrio(t, SchedulerRFC9218, prioStream{1, "u=2, i"}, prioStream{3, "u=2, i"}, prioStream{5, "u=4, i"})
		st.queueFrames(8, true, 1, 3, 5)
		if got := writeLoop(st); got != 1 {
			t.Fatalf("%d passes produced output, want 1 (the 65,535-byte window)", got)
		}
		// The streams stay ready (only the shared window is missing) and
		// the ready incremental counts say so, per urgency.
		if got, want := st.c.ReadyIncremental(), [8]int{2: 2, 4: 1}; got != want {
			t.Fatalf("ready incremental %v, want %v", got, want)
		}
		for range 20 {
			st.feed(frame.AppendPing(nil, false, [8]byte{2}))
			if got := writeLoop(st); got != 0 {
				t.Fatalf("a PING woke %d productive passes with the connection window closed", got)
			}
		}
		st.writeWindowUpdate(0, 10)
		if got := writeLoop(st); got != 1 {
			t.Fatalf("%d passes after WINDOW_UPDATE(0, 10), want 1", got)
		}
	})
}

// TestPriorityReadyIncrementalLive: the count of ready incremental peers
// is per urgency and changes within a pass: once its peer has ended, a
// stream stops yielding.
func TestPriorityReadyIncrementalLive(t *testing.T) {
	st, _ := openPrio(t, SchedulerRFC9218, prioStream{1, "u=3, i"}, prioStream{3, "u=3, i"}, prioStream{5, "u=0, i"})
	st.writeWindowUpdate(0, 1<<20)
	st.queueFrames(1, true, 1)
	st.queueFrames(4, true, 3)
	st.queueFrames(2, true, 5)
	if got, want := st.c.ReadyIncremental(), [8]int{0: 1, 3: 2}; got != want {
		t.Fatalf("ready incremental %v, want %v", got, want)
	}
	st.produce()
	if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "5 5 1 3 3 3 3" {
		t.Fatalf("DATA order %q, want 5 alone, then 1 and 3 until 1 ends, then 3 alone", got)
	}
	if got := st.c.ReadyIncremental(); got != [8]int{} {
		t.Fatalf("ready incremental %v after everything was sent", got)
	}
}

// TestPriorityFairIgnoresPriorities: the fair scheduler (the benchmark
// baseline) round-robins whatever the signals say.
func TestPriorityFairIgnoresPriorities(t *testing.T) {
	st, _ := openPrio(t, SchedulerFair, prioStream{1, "u=7"}, prioStream{3, "u=0"})
	st.writeWindowUpdate(0, 1<<20)
	st.queueFrames(3, true, 1, 3)
	st.produce()
	if got := strings.Join(dataIDs(st.drainFrames()), " "); got != "1 3 1 3 1 3" {
		t.Fatalf("DATA order %q, want plain round-robin", got)
	}
}

// TestPriorityResponseHeader: a backend's priority response header merges
// over the client's signal (RFC 9218 8), and can raise the urgency of a
// response already queued.
func TestPriorityResponseHeader(t *testing.T) {
	st, _ := openPrio(t, SchedulerRFC9218, prioStream{1, "u=5, i"}, prioStream{3, "u=5"}, prioStream{5, ""})
	s1, s3, s5 := st.stream(1), st.stream(3), st.stream(5)
	cases := []struct {
		s     *Stream
		value string
		want  Priority
	}{
		{s1, "u=1", Priority{1, true}},       // urgency from the response, i from the client
		{s3, "i", Priority{5, true}},         // the reverse
		{s5, "u=9, i=?1", Priority{3, true}}, // out-of-range u ignored
		{s5, "u=1,,", Priority{3, true}},     // malformed: ignored, the earlier merge stands
	}
	for _, tc := range cases {
		st.do(func() { st.c.SetResponsePriority(tc.s, []byte(tc.value)) })
		if got := tc.s.Priority(); got != tc.want {
			t.Errorf("stream %d after response %q: %v, want %v", tc.s.ID(), tc.value, got, tc.want)
		}
	}
	// A later client update changes only what the response left alone.
	st.feed(frame.AppendPriorityUpdate(nil, 1, []byte("u=6")))
	if got := s1.Priority(); got != (Priority{1, false}) {
		t.Errorf("stream 1 after PRIORITY_UPDATE u=6: %v, want u=1 (the backend's) non-incremental", got)
	}
	// The order follows: 1 (u=1) first, then 5 and 3 (u=3 incremental is
	// now 5 alone; 3 is u=5 incremental).
	st.queueFrames(2, true, 3, 5, 1)
	if got := runs(st.drip()); got != "1 5 3" {
		t.Fatalf("DATA order %q, want 1 5 3", got)
	}
}

// TestPriorityUpdateRules: where PRIORITY_UPDATE may appear and what it
// does (RFC 9218 7.1), and RFC 7540 PRIORITY parsed and ignored.
func TestPriorityUpdateRules(t *testing.T) {
	t.Run("on a stream other than 0", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeRequest(1)
		st.writeRaw(frame.Header{Type: frame.TypePriorityUpdate, StreamID: 1}, append([]byte{0, 0, 0, 1}, "u=1"...))
		st.wantConnError(1, frame.ProtocolError)
	})
	goAway := []struct {
		name    string
		payload []byte
		code    ErrCode
	}{
		{"prioritized id 0", append([]byte{0, 0, 0, 0}, "u=1"...), frame.ProtocolError},
		{"prioritized even id", append([]byte{0, 0, 0, 2}, "u=1"...), frame.ProtocolError},
		{"too short", []byte{0, 0, 1}, frame.FrameSizeError},
	}
	for _, tc := range goAway {
		t.Run(tc.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeRaw(frame.Header{Type: frame.TypePriorityUpdate}, tc.payload)
			st.wantConnError(0, tc.code)
		})
	}
	t.Run("values", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeHeaders(1, false, reqFields("priority", "u=1, i"))
		s := st.stream(1)
		for _, tc := range []struct {
			value string
			want  Priority
		}{
			{"u=0", Priority{0, false}}, // replaces: i is back to its default
			{"i", Priority{3, true}},    // and so is u
			{"u=2, x=(a b), i=?1", Priority{2, true}},
			{"u=2,", DefaultPriority},                               // malformed: the defaults
			{"u=1, i" + strings.Repeat(" ", 1100), DefaultPriority}, // over 1 KiB: not parsed
		} {
			st.feed(frame.AppendPriorityUpdate(nil, 1, []byte(tc.value)))
			if got := s.Priority(); got != tc.want {
				t.Errorf("after PRIORITY_UPDATE %.20q: %v, want %v", tc.value, got, tc.want)
			}
		}
		st.wantNoFrame()
	})
	t.Run("before the stream opens", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.feed(frame.AppendPriorityUpdate(nil, 3, []byte("u=6, i")))
		st.writeHeaders(3, true, reqFields("priority", "u=1"))
		if got := st.stream(3).Priority(); got != (Priority{6, true}) {
			t.Fatalf("stream 3 opened with %v, want the earlier PRIORITY_UPDATE's u=6, i over its header", got)
		}
		if st.c.priorities != nil {
			t.Fatalf("remembered priorities kept after use: %v", st.c.priorities)
		}
		// Closed streams: nothing happens.
		st.respond(3, 204, true)
		st.drainFrames()
		st.feed(frame.AppendPriorityUpdate(nil, 3, []byte("u=0")))
		st.wantNoFrame()
		if st.err != nil || len(st.c.priorities) != 0 {
			t.Fatalf("PRIORITY_UPDATE for a closed stream: err %v, remembered %v", st.err, st.c.priorities)
		}
	})
	t.Run("RFC 7540 PRIORITY", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeHeaders(1, false, reqFields("priority", "u=1"))
		// Parsed and ignored: no effect on the RFC 9218 priority.
		st.feed(frame.AppendPriority(nil, 1, frame.Priority{StreamDep: 0, Weight: 255, Exclusive: true}))
		st.wantNoFrame()
		if got := st.stream(1).Priority(); got != (Priority{1, false}) {
			t.Fatalf("PRIORITY changed the priority to %v", got)
		}
		// RFC 9113 5.3.1: a stream cannot depend on itself.
		st.feed(frame.AppendPriority(nil, 1, frame.Priority{StreamDep: 1}))
		st.wantRSTStream(1, frame.ProtocolError)
		st.wantClosed(1, frame.ProtocolError)
	})
}

// TestPriorityUpdateFlood: PRIORITY_UPDATEs for streams that never open
// cannot grow memory: at most Flood.PriorityEntries are remembered, only
// within the look-ahead, and the rest are dropped and counted.
func TestPriorityUpdateFlood(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.MaxConcurrentStreams = 10000 })
	obs := &prioObserver{recObserver: st.obs}
	st.c.obs = obs
	st.greet()
	st.writeRequest(1)
	st.drainFrames()
	var flood []byte
	const n = 10000 // ids 3 .. 20001, all within the look-ahead (1 + 2*10000)
	for i := range n {
		flood = frame.AppendPriorityUpdate(flood, StreamID(3+2*i), []byte("u=0, i"))
	}
	flood = frame.AppendPriorityUpdate(flood, 1<<30+1, []byte("u=0")) // far beyond the look-ahead
	st.feed(flood)
	if st.err != nil {
		t.Fatal(st.err)
	}
	st.wantNoFrame()
	limit := st.c.cfg.Flood.PriorityEntries
	if len(st.c.priorities) != limit {
		t.Fatalf("%d priorities remembered, want the bound %d", len(st.c.priorities), limit)
	}
	if obs.updates != n+1 || obs.dropped != n+1-limit {
		t.Fatalf("observer: %d updates, %d dropped; want %d, %d", obs.updates, obs.dropped, n+1, n+1-limit)
	}
	// Opening a high id closes every idle id below it (RFC 9113 5.1.1):
	// their entries go at the next sweep, which a new update triggers.
	st.writeRequest(8001)
	if got := st.stream(8001).Priority(); got != (Priority{0, true}) {
		t.Fatalf("stream 8001 opened with %v, want its remembered u=0, i", got)
	}
	if len(st.c.priorities) != limit-1 {
		t.Fatalf("%d priorities remembered after stream 8001 took its own", len(st.c.priorities))
	}
	st.feed(frame.AppendPriorityUpdate(nil, 20001, []byte("u=1"))) // fills the map again
	st.feed(frame.AppendPriorityUpdate(nil, 20003, []byte("u=1"))) // sweeps
	// Left: ids 8003..8193 from the flood (96), 20001 and 20003.
	if got := len(st.c.priorities); got != 98 {
		t.Fatalf("%d priorities remembered after the sweep, want 98", got)
	}
	for id := range st.c.priorities {
		if id <= st.c.lastPeer {
			t.Fatalf("entry for closed stream %d survived the sweep", id)
		}
	}
}

// TestParsePriority: the RFC 9218 field value as an RFC 8941 Dictionary.
func TestParsePriority(t *testing.T) {
	def := DefaultPriority
	cases := []struct {
		in   string
		want Priority
	}{
		{"", def},
		{"u=0", Priority{0, false}},
		{"u=7, i", Priority{7, true}},
		{"i", Priority{3, true}},
		{"i=?1", Priority{3, true}},
		{"i=?0", Priority{3, false}},
		{"u=1,i", Priority{1, true}},
		{"u=1 ,\ti", Priority{1, true}},
		{" u=2", Priority{2, false}},
		{"u=2;x=1;y, i;z=?0", Priority{2, true}}, // parameters ignored
		{"u=1, foo=bar, i", Priority{1, true}},   // unknown members ignored
		{"x, *y=?1, u=4", Priority{4, false}},
		{"u=000000000000005", Priority{5, false}}, // 15 digits
		// RFC 9218 4: out of range or the wrong type: that parameter only.
		{"u=8, i", Priority{3, true}},
		{"u=-1", def},
		{"u=2.0, i", Priority{3, true}},
		{"u=a", def},
		{`u="1"`, def},
		{"u=(1 2), i", Priority{3, true}},
		{"u=?1", def},
		{"u=1, i=1", Priority{1, false}},
		{`u=1, i="?1"`, Priority{1, false}},
		// RFC 8941 3.2: a repeated key overwrites the earlier value.
		{"u=1, u=6", Priority{6, false}},
		{"u=1, u=9", def},
		{"i, i=?0", def},
		// Valid values of other types in unknown members.
		{`u=1, a=@1659578233, b=%"caf%c3%a9", c=:aGk=:, d="x\"y\\", e=-1.5, f=(x "y";p=1);q`, Priority{1, false}},
		// Not a Dictionary: the whole field is ignored.
		{"u=1,", def},
		{"u=1,, i", def},
		{",u=1", def},
		{"U=1", def},
		{"u=1 i", def},
		{"u=1;", def},
		{"u=1, i=?2", def},
		{"u=0000000000000001", def}, // 16 digits
		{"u=1, a=1.2345", def},
		{"u=1, a=1.", def},
		{"u=1, a=\"\x01\"", def},
		{"u=1, a=\"open", def},
		{"u=1, a=(1 2", def},
		{"u=1, a=(1,2)", def},
		{"u=1, a=%\"X%C3\"", def},
		{"u=1, a=:a b:", def},
		{"u=1, a=@1.5", def},
		{"u=1, a=-", def},
		{"u=1, 1a=2", def},
		{"u=1, i" + strings.Repeat(" ", 1100), def}, // over 1 KiB
	}
	for _, tc := range cases {
		if got := ParsePriority([]byte(tc.in)); got != tc.want {
			t.Errorf("ParsePriority(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzParsePriority: any value parses to a valid priority, without
// panicking; a value that parsed keeps its meaning when an unknown member
// is appended, and ParsePriority(p.String()) == p.
func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{"u=1, i", "i", "u=7", "u=3, i=?0", `u=1, a=("x" 1.5);p, b=:AA==:`, "u=1;a=@5", `x=%"a%20b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		p := ParsePriority(v)
		if p.Urgency > 7 {
			t.Fatalf("ParsePriority(%q): urgency %d", v, p.Urgency)
		}
		if again := ParsePriority([]byte(p.String())); again != p {
			t.Fatalf("ParsePriority(%q) = %v, but its rendering %q parses to %v", v, p, p.String(), again)
		}
		pp, ok := parsePriorityParams(v)
		if !ok {
			return
		}
		if len(bytes.TrimSpace(v)) == 0 || len(v)+6 > maxPriorityValue {
			return
		}
		ext := append(bytes.Clone(v), ", zz=1"...)
		if pp2, ok2 := parsePriorityParams(ext); !ok2 || pp2 != pp {
			t.Fatalf("%q parsed (%+v) but %q gives %+v, %v", v, pp, ext, pp2, ok2)
		}
	})
}

// BenchmarkParsePriority: parsing a typical value allocates nothing.
func BenchmarkParsePriority(b *testing.B) {
	v := []byte("u=1, i")
	b.ReportAllocs()
	for range b.N {
		if ParsePriority(v).Urgency != 1 {
			b.Fatal("bad parse")
		}
	}
}

// schedBenchHandler keeps every stream the client opens.
type schedBenchHandler struct {
	benchHandler
	streams []*Stream
}

func (h *schedBenchHandler) OnRequest(s *Stream, _ *Request) { h.streams = append(h.streams, s) }

// benchScheduler: write passes over many busy streams. Each op queues a
// 1 KiB chunk on each of 100 response streams and runs the write loop
// (Produce, Written) until the 100 DATA frames are out: the scheduler's
// work per frame (add, next, served or remove) against the framing around
// it. prio gives stream i's priority header ("" none).
func benchScheduler(b *testing.B, kind SchedulerKind, prio func(i int) string) {
	const streams, chunk = 100, 1024
	h := &schedBenchHandler{}
	c := NewConn(Config{Role: Server, MaxConcurrentStreams: streams}, h, nil, nil)
	h.c = c
	c.SetScheduler(kind)
	c.Start()
	in := append([]byte(frame.ClientPreface), frame.AppendSettings(nil, frame.Setting{ID: frame.SettingInitialWindowSize, Val: maxWindow})...)
	in = frame.AppendSettingsAck(in)
	in = frame.AppendWindowUpdate(in, 0, maxWindow-initialWindow)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range streams {
		hb.Reset()
		fields := reqFields()
		if p := prio(i); p != "" {
			fields = reqFields("priority", p)
		}
		for _, f := range fields {
			enc.WriteField(f)
		}
		in = frame.AppendHeaders(in, StreamID(2*i+1), true, true, hb.Bytes())
	}
	if err := c.Feed(in); err != nil {
		b.Fatal(err)
	}
	for _, s := range h.streams {
		c.WriteResponse(s, 200, benchFields, false)
	}
	c.Written(len(c.Pending()))
	sent := int64(0)
	wu := frame.AppendWindowUpdate(nil, 0, 1<<30)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, s := range h.streams {
			ch := bufpool.Get()
			ch.B = ch.B[:chunk]
			c.QueueData(s, ch)
		}
		for {
			c.Produce()
			if len(c.Pending()) == 0 {
				break
			}
			c.Written(len(c.Pending()))
		}
		if sent += streams * chunk; sent >= 1<<30 {
			// Return the connection credit as the client would (stream
			// windows are 2 GiB: they last the whole run).
			if err := c.Feed(wu); err != nil {
				b.Fatal(err)
			}
			c.Written(len(c.Pending()))
			sent = 0
		}
	}
	b.StopTimer()
	if c.sched.n != 0 {
		b.Fatalf("%d streams still queued", c.sched.n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*streams), "ns/frame")
}

// BenchmarkSchedulerRFC9218: every stream at the default priority (u=3,
// non-incremental: the sequential list), as h2load's requests are.
func BenchmarkSchedulerRFC9218(b *testing.B) {
	benchScheduler(b, SchedulerRFC9218, func(int) string { return "" })
}

// BenchmarkSchedulerRFC9218Mixed: urgencies 0..7, every other stream
// incremental: all buckets and rotations in use.
func BenchmarkSchedulerRFC9218Mixed(b *testing.B) {
	benchScheduler(b, SchedulerRFC9218, func(i int) string {
		if i%2 == 1 {
			return fmt.Sprintf("u=%d, i", i%8)
		}
		return fmt.Sprintf("u=%d", i%8)
	})
}

// BenchmarkSchedulerFair: the round-robin baseline.
func BenchmarkSchedulerFair(b *testing.B) {
	benchScheduler(b, SchedulerFair, func(int) string { return "" })
}
