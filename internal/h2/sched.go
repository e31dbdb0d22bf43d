package h2

// Scheduling of outbound DATA (DESIGN.md 3.8, RFC 9218).
//
// Streams with something to send sit in one of eight urgency buckets.
// Lower urgency is served first. Within a bucket, non-incremental streams
// are sent one after another in stream-id order, and incremental streams
// share the connection round-robin, one DATA frame at a time, with a
// cursor that persists across write passes. A lone incremental stream in
// its bucket does not yield. The last DATA frame of a response carries
// END_STREAM itself, so nothing can come between them.
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

// Priority is an RFC 9218 priority: urgency 0 (highest) to 7, default 3,
// and whether the response is useful incrementally.
type Priority struct {
	Urgency     uint8
	Incremental bool
}

// DefaultPriority is RFC 9218 4's default: u=3, not incremental.
var DefaultPriority = Priority{Urgency: 3}

const numUrgencies = 8

type bucket struct {
	sequential  []*Stream // non-incremental, sorted by id
	incremental []*Stream // round-robin
	cursor      int       // next incremental stream to serve
}

type scheduler struct {
	kind    SchedulerKind
	buckets [numUrgencies]bucket
	n       int // streams in all buckets
}

func (sc *scheduler) effective(s *Stream) (uint8, bool) {
	if sc.kind == SchedulerFair {
		return DefaultPriority.Urgency, true
	}
	return s.prio.Urgency, s.prio.Incremental
}

// add makes s eligible. It is idempotent.
func (sc *scheduler) add(s *Stream) {
	if s.queued {
		return
	}
	s.queued = true
	sc.n++
	u, inc := sc.effective(s)
	b := &sc.buckets[u]
	if inc {
		// Insert just before the cursor so the newcomer waits a full
		// round, as if it had been last served.
		if len(b.incremental) == 0 {
			b.incremental = append(b.incremental, s)
			b.cursor = 0
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
	u, inc := sc.effective(s)
	b := &sc.buckets[u]
	if inc {
		for i, x := range b.incremental {
			if x == s {
				b.incremental = append(b.incremental[:i], b.incremental[i+1:]...)
				if i < b.cursor {
					b.cursor--
				}
				if b.cursor >= len(b.incremental) {
					b.cursor = 0
				}
				return
			}
		}
		panic("h2: internal error: queued stream missing from its bucket")
	}
	for i, x := range b.sequential {
		if x == s {
			b.sequential = append(b.sequential[:i], b.sequential[i+1:]...)
			return
		}
	}
	panic("h2: internal error: queued stream missing from its bucket")
}

// reprioritize moves s to the bucket of its new priority.
func (sc *scheduler) reprioritize(s *Stream, p Priority) {
	if !s.queued {
		s.prio = p
		return
	}
	sc.remove(s)
	s.prio = p
	sc.add(s)
}

// next returns the stream to serve next, or nil.
func (sc *scheduler) next() *Stream {
	if sc.n == 0 {
		return nil
	}
	for u := range sc.buckets {
		b := &sc.buckets[u]
		if len(b.sequential) > 0 {
			return b.sequential[0]
		}
		if len(b.incremental) > 0 {
			if b.cursor >= len(b.incremental) {
				b.cursor = 0
			}
			return b.incremental[b.cursor]
		}
	}
	return nil
}

// served advances the round-robin cursor after s sent one DATA frame. A
// lone incremental stream keeps the turn; so does a stream whose next
// frame ends it (never yield between the last DATA and END_STREAM).
func (sc *scheduler) served(s *Stream) {
	u, inc := sc.effective(s)
	if !inc || !s.queued {
		return
	}
	b := &sc.buckets[u]
	if len(b.incremental) > 1 {
		b.cursor = (b.cursor + 1) % len(b.incremental)
	}
}

// readyIncremental returns the incremental streams queued per urgency (for
// the metric).
func (sc *scheduler) readyIncremental() (out [numUrgencies]int) {
	for u := range sc.buckets {
		out[u] = len(sc.buckets[u].incremental)
	}
	return out
}

// ParsePriority parses an RFC 9218 Priority field value (an RFC 8941
// dictionary): u=0..7 and i (boolean). Unknown members are ignored; a
// malformed value yields the default priority (RFC 9218 4).
func ParsePriority(v []byte, base Priority) Priority {
	p := base
	for len(v) > 0 {
		v = trimOWS(v)
		if len(v) == 0 {
			break
		}
		// key
		i := 0
		for i < len(v) && isKeyChar(v[i]) {
			i++
		}
		if i == 0 {
			return DefaultPriority
		}
		key := v[:i]
		v = v[i:]
		var val []byte
		hasVal := false
		if len(v) > 0 && v[0] == '=' {
			v = v[1:]
			j := 0
			for j < len(v) && v[j] != ',' && v[j] != ';' {
				j++
			}
			val, v = trimOWS(v[:j]), v[j:]
			hasVal = true
		}
		// parameters are allowed and ignored
		for len(v) > 0 && v[0] == ';' {
			j := 1
			for j < len(v) && v[j] != ',' && v[j] != ';' {
				j++
			}
			v = v[j:]
		}
		switch string(key) {
		case "u":
			if !hasVal || len(val) != 1 || val[0] < '0' || val[0] > '7' {
				return DefaultPriority
			}
			p.Urgency = val[0] - '0'
		case "i":
			switch {
			case !hasVal, string(val) == "?1":
				p.Incremental = true
			case string(val) == "?0":
				p.Incremental = false
			default:
				return DefaultPriority
			}
		}
		v = trimOWS(v)
		if len(v) > 0 {
			if v[0] != ',' {
				return DefaultPriority
			}
			v = v[1:]
		}
	}
	return p
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*'
}

func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
