package h2

import "fmt"

// Scheduling of outbound DATA (DESIGN.md 3.8, RFC 9218 10).
//
// Streams with something to send wait in one of eight urgency buckets.
// Lower urgency is served first. Within a bucket, non-incremental streams
// are sent one after another in stream-id order, and incremental streams
// share the connection round-robin, one DATA frame at a time, with a
// cursor that persists across write passes. A lone incremental stream in
// its bucket does not yield: there is nobody to interleave with.
//
// A stream whose remaining output is only its end (a bare END_STREAM or
// the trailers) waits in none of the buckets but in the closing list,
// served before any bucket: those frames are not flow-controlled, are
// tiny and complete a response, so they never wait behind another
// stream's DATA or for a round of the ring. That is how nothing comes
// between the last DATA frame and its END_STREAM: when END_STREAM was
// queued with the data it rides on the last DATA frame itself; when it
// came after the data had left, it goes out first thing in the next pass.
//
// SchedulerFair puts every stream in one incremental bucket: plain
// round-robin, the baseline RFC 9218 scheduling is benchmarked against.

// SchedulerKind selects the write scheduler.
type SchedulerKind uint8

// Schedulers.
const (
	SchedulerRFC9218 SchedulerKind = iota
	SchedulerFair
)

func (k SchedulerKind) String() string {
	switch k {
	case SchedulerRFC9218:
		return "rfc9218"
	case SchedulerFair:
		return "fair"
	}
	return fmt.Sprintf("SchedulerKind(%d)", uint8(k))
}

const numUrgencies = 8

type bucket struct {
	sequential  []*Stream // non-incremental, sorted by id
	incremental []*Stream // round-robin
	cursor      int       // next incremental stream to serve
}

// queuePos is where a queued stream waits: remove looks there, whatever
// its priority became since.
type queuePos struct {
	closing     bool
	urgency     uint8
	incremental bool
}

type scheduler struct {
	kind    SchedulerKind
	closing []*Stream // streams with only END_STREAM or trailers left, FIFO
	buckets [numUrgencies]bucket
	n       int // streams in all lists
}

// closingOnly reports whether all s has left to send is its end.
func closingOnly(s *Stream) bool {
	return s.sendq.len == 0 && (s.endQueued || s.trailers != nil)
}

// add makes s eligible. It is idempotent.
func (sc *scheduler) add(s *Stream) {
	if s.queued {
		return
	}
	s.queued = true
	sc.n++
	if closingOnly(s) {
		s.pos = queuePos{closing: true}
		sc.closing = append(sc.closing, s)
		return
	}
	u, inc := s.prio.Urgency, s.prio.Incremental
	if sc.kind == SchedulerFair {
		u, inc = DefaultPriority.Urgency, true
	}
	s.pos = queuePos{urgency: u, incremental: inc}
	b := &sc.buckets[u]
	if inc {
		// Insert just before the cursor so the newcomer waits a full
		// round, as if it had been last served. Before index 0 is the
		// end of the ring: a plain append.
		if b.cursor == 0 {
			b.incremental = append(b.incremental, s)
			return
		}
		b.incremental = append(b.incremental, nil)
		copy(b.incremental[b.cursor+1:], b.incremental[b.cursor:])
		b.incremental[b.cursor] = s
		b.cursor++
		return
	}
	i := len(b.sequential)
	for i > 0 && b.sequential[i-1].id > s.id {
		i--
	}
	b.sequential = append(b.sequential, nil)
	copy(b.sequential[i+1:], b.sequential[i:])
	b.sequential[i] = s
}

// remove makes s ineligible. It is idempotent.
func (sc *scheduler) remove(s *Stream) {
	if !s.queued {
		return
	}
	s.queued = false
	sc.n--
	switch {
	case s.pos.closing:
		sc.closing = removeFrom(sc.closing, s)
	case s.pos.incremental:
		b := &sc.buckets[s.pos.urgency]
		i := indexOf(b.incremental, s)
		b.incremental = removeAt(b.incremental, i)
		// The cursor keeps pointing at the stream it pointed at; when
		// that was s, at the one after it.
		if i < b.cursor {
			b.cursor--
		}
		if b.cursor >= len(b.incremental) {
			b.cursor = 0
		}
	default:
		b := &sc.buckets[s.pos.urgency]
		b.sequential = removeFrom(b.sequential, s)
	}
}

func indexOf(list []*Stream, s *Stream) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	panic("h2: internal error: queued stream missing from its list")
}

// removeFrom deletes s from list, keeping the order.
func removeFrom(list []*Stream, s *Stream) []*Stream {
	return removeAt(list, indexOf(list, s))
}

// removeAt deletes list[i], keeping the order, and clears the freed slot
// so the backing array does not pin the stream.
func removeAt(list []*Stream, i int) []*Stream {
	copy(list[i:], list[i+1:])
	list[len(list)-1] = nil
	return list[:len(list)-1]
}

// requeue moves s to the list its current state and priority call for.
func (sc *scheduler) requeue(s *Stream) {
	if s.queued {
		sc.remove(s)
		sc.add(s)
	}
}

// next returns the stream to serve next, or nil.
func (sc *scheduler) next() *Stream {
	if sc.n == 0 {
		return nil
	}
	if len(sc.closing) > 0 {
		return sc.closing[0]
	}
	for u := range sc.buckets {
		b := &sc.buckets[u]
		if len(b.sequential) > 0 {
			return b.sequential[0]
		}
		if len(b.incremental) > 0 {
			return b.incremental[b.cursor]
		}
	}
	return nil
}

// served advances the round-robin cursor after s sent a DATA frame and
// still has data queued. RFC 9218 10: incremental streams of one urgency
// share the connection frame by frame; a lone one keeps the turn (it
// counts only the streams of its own urgency that are ready now, which
// is what the bucket holds: a stream leaves it the moment it cannot send).
func (sc *scheduler) served(s *Stream) {
	if !s.queued || !s.pos.incremental {
		return
	}
	b := &sc.buckets[s.pos.urgency]
	if len(b.incremental) > 1 {
		b.cursor = (b.cursor + 1) % len(b.incremental)
	}
}

// readyIncremental returns the incremental streams queued per urgency
// (RFC 9218 scheduling only: the fair scheduler has no priorities).
func (sc *scheduler) readyIncremental() (out [numUrgencies]int) {
	if sc.kind == SchedulerFair {
		return out
	}
	for u := range sc.buckets {
		out[u] = len(sc.buckets[u].incremental)
	}
	return out
}

// each calls fn for every queued stream: the closing list, then each
// bucket's sequential and incremental lists.
func (sc *scheduler) each(fn func(s *Stream)) {
	for _, s := range sc.closing {
		fn(s)
	}
	for u := range sc.buckets {
		for _, s := range sc.buckets[u].sequential {
			fn(s)
		}
		for _, s := range sc.buckets[u].incremental {
			fn(s)
		}
	}
}

// check reports the scheduler's own inconsistencies (for the invariant
// checker): lists agree with the streams' positions, sequential lists are
// in id order, cursors are in range, the closing list holds only streams
// with nothing but their end left.
func (sc *scheduler) check(fail func(format string, args ...any)) {
	for _, s := range sc.closing {
		if !s.pos.closing {
			fail("stream %d in the closing list, position %+v", s.id, s.pos)
		}
		if !closingOnly(s) {
			fail("stream %d in the closing list with %d bytes queued", s.id, s.sendq.len)
		}
	}
	for u := range sc.buckets {
		b := &sc.buckets[u]
		for i, s := range b.sequential {
			if s.pos != (queuePos{urgency: uint8(u)}) {
				fail("stream %d in sequential bucket %d, position %+v", s.id, u, s.pos)
			}
			if i > 0 && b.sequential[i-1].id >= s.id {
				fail("sequential bucket %d out of id order at stream %d", u, s.id)
			}
		}
		for _, s := range b.incremental {
			if s.pos != (queuePos{urgency: uint8(u), incremental: true}) {
				fail("stream %d in incremental bucket %d, position %+v", s.id, u, s.pos)
			}
		}
		if len(b.incremental) > 0 && b.cursor >= len(b.incremental) {
			fail("bucket %d cursor %d beyond its %d streams", u, b.cursor, len(b.incremental))
		}
	}
}
