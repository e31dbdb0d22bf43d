package h2

import "strconv"

// RFC 9218 priority signals: the Priority field value, carried by the
// `priority` request header, by PRIORITY_UPDATE frames and by a backend's
// `priority` response header.

// Priority is an RFC 9218 priority: urgency 0 (highest) to 7, default 3,
// and whether the response is useful incrementally.
type Priority struct {
	Urgency     uint8
	Incremental bool
}

// DefaultPriority is RFC 9218 4's default: u=3, not incremental.
var DefaultPriority = Priority{Urgency: 3}

// String renders p as a Priority field value ("u=3", "u=1, i").
func (p Priority) String() string {
	s := "u=" + strconv.Itoa(int(p.Urgency))
	if p.Incremental {
		s += ", i"
	}
	return s
}

// maxPriorityValue bounds the field values we parse (DESIGN.md 3.8): a
// real one is a few bytes ("u=1, i"); a longer one is treated as
// malformed, so parsing costs a bounded amount whatever the peer sends.
const maxPriorityValue = 1024

// prioParams are the priority parameters one signal carried. Absent
// parameters leave the value they are merged over unchanged.
type prioParams struct {
	urgency        uint8
	hasUrgency     bool
	incremental    bool
	hasIncremental bool
}

// over merges p over base: a parameter p carries wins (RFC 9218 8).
func (p prioParams) over(base Priority) Priority {
	if p.hasUrgency {
		base.Urgency = p.urgency
	}
	if p.hasIncremental {
		base.Incremental = p.incremental
	}
	return base
}

// ParsePriority parses an RFC 9218 Priority field value: an RFC 8941
// Dictionary whose member u is the urgency (an Integer 0..7) and whose
// member i is the incremental flag (a Boolean; bare "i" means ?1). A
// value that does not parse as a Dictionary, or is longer than 1 KiB,
// is ignored as a whole (RFC 8941 4.2): the default priority. Unknown
// members, out-of-range values and values of another type are ignored
// one by one (RFC 9218 4), leaving that parameter at its default.
func ParsePriority(v []byte) Priority {
	p, ok := parsePriorityParams(v)
	if !ok {
		return DefaultPriority
	}
	return p.over(DefaultPriority)
}

// parsePriorityParams parses a Priority field value; false when it is
// not a valid RFC 8941 Dictionary (or too long to bother).
func parsePriorityParams(v []byte) (prioParams, bool) {
	var p prioParams
	if len(v) > maxPriorityValue {
		return p, false
	}
	sp := sfParser{b: v}
	var u, i sfItem
	var haveU, haveI bool
	ok := sp.dictionary(func(key []byte, it sfItem) {
		// RFC 8941 3.2: a repeated key overwrites the earlier value.
		switch string(key) {
		case "u":
			u, haveU = it, true
		case "i":
			i, haveI = it, true
		}
	})
	if !ok {
		return prioParams{}, false
	}
	// RFC 9218 4.1: an Integer in 0..7; anything else is ignored.
	if haveU && u.kind == sfInteger && u.num >= 0 && u.num <= 7 {
		p.urgency, p.hasUrgency = uint8(u.num), true
	}
	// RFC 9218 4.2: a Boolean; anything else is ignored.
	if haveI && i.kind == sfBoolean {
		p.incremental, p.hasIncremental = i.num == 1, true
	}
	return p, true
}

// setClientPriority records the client's signal for s (the request's
// header, or a PRIORITY_UPDATE that replaces it: RFC 9218 7, each signal
// is complete and absent parameters take their defaults) and moves s to
// its new bucket.
func (c *Conn) setClientPriority(s *Stream, p Priority) {
	s.clientPrio = p
	c.applyPriority(s)
}

// SetResponsePriority merges a backend's `priority` response header over
// the client's signal for s (RFC 9218 8): a parameter the response
// carries wins, one it omits keeps the client's value, so an origin can
// raise or lower the urgency of what it knows better. A value that does
// not parse is ignored and the client's priority stands. Later client
// PRIORITY_UPDATE frames change only what the response left to the
// client.
func (c *Conn) SetResponsePriority(s *Stream, value []byte) {
	p, ok := parsePriorityParams(value)
	if !ok || s.Closed() {
		return
	}
	s.respPrio = p
	c.applyPriority(s)
}

func (c *Conn) applyPriority(s *Stream) {
	p := s.respPrio.over(s.clientPrio)
	if p == s.prio {
		return
	}
	s.prio = p
	c.sched.requeue(s)
}

// ReadyIncremental returns, per urgency, the incremental streams ready to
// send right now (the sluice_h2_ready_incremental_streams gauge): the
// count that decides whether a stream yields after a DATA frame. The fair
// scheduler has no priorities and reports zeros.
func (c *Conn) ReadyIncremental() [8]int { return c.sched.readyIncremental() }
