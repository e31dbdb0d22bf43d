package frame

import "strconv"

// Header is the fixed 9-octet frame header (RFC 9113 4.1).
type Header struct {
	// Length is the payload length in octets (24 bits on the wire).
	Length uint32
	// Type selects the payload layout; unknown types are legal.
	Type FrameType
	// Flags are type-specific boolean flags.
	Flags Flags
	// StreamID is the stream the frame belongs to; 0 is the connection.
	StreamID StreamID
}

// ParseHeader decodes a frame header from the first HeaderLen octets of b.
// It panics if b is shorter; callers get b from Next, which checks. The
// reserved bit of the stream identifier is cleared because RFC 9113 4.1
// says it MUST be ignored when receiving.
func ParseHeader(b []byte) Header {
	_ = b[HeaderLen-1] // one bounds check for the whole header
	return Header{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: StreamID(readUint32(b[5:]) & uint32(MaxStreamID)),
	}
}

// AppendHeader appends the 9-octet encoding of h to dst. The reserved bit
// is written as zero (RFC 9113 4.1: it MUST remain unset when sending). A
// Length that does not fit the 24-bit field is a programming error and
// panics rather than emitting a corrupt frame.
func AppendHeader(dst []byte, h Header) []byte {
	if h.Length > MaxMaxFrameSize {
		panic("frame: internal error: payload length " + strconv.FormatUint(uint64(h.Length), 10) + " exceeds 2^24-1")
	}
	id := uint32(h.StreamID & MaxStreamID)
	return append(dst,
		byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

// String renders the header for logs and debug history, e.g.
// "HEADERS stream=1 len=42 flags=END_STREAM|END_HEADERS".
func (h Header) String() string {
	b := make([]byte, 0, 64)
	b = append(b, h.Type.String()...)
	b = append(b, " stream="...)
	b = strconv.AppendUint(b, uint64(h.StreamID), 10)
	b = append(b, " len="...)
	b = strconv.AppendUint(b, uint64(h.Length), 10)
	if h.Flags != 0 {
		b = append(b, " flags="...)
		b = appendFlagNames(b, h.Type, h.Flags)
	}
	return string(b)
}

// appendFlagNames names the flags that have meaning for t and prints any
// other set bits in hex, so a debug dump shows exactly what arrived.
func appendFlagNames(b []byte, t FrameType, f Flags) []byte {
	type named struct {
		bit  Flags
		name string
	}
	var defs []named
	switch t {
	case TypeData:
		defs = []named{{FlagEndStream, "END_STREAM"}, {FlagPadded, "PADDED"}}
	case TypeHeaders:
		defs = []named{{FlagEndStream, "END_STREAM"}, {FlagEndHeaders, "END_HEADERS"}, {FlagPadded, "PADDED"}, {FlagPriority, "PRIORITY"}}
	case TypeSettings, TypePing:
		defs = []named{{FlagAck, "ACK"}}
	case TypePushPromise:
		defs = []named{{FlagEndHeaders, "END_HEADERS"}, {FlagPadded, "PADDED"}}
	case TypeContinuation:
		defs = []named{{FlagEndHeaders, "END_HEADERS"}}
	}
	first := true
	sep := func() {
		if !first {
			b = append(b, '|')
		}
		first = false
	}
	rest := f
	for _, d := range defs {
		if f.Has(d.bit) {
			sep()
			b = append(b, d.name...)
			rest &^= d.bit
		}
	}
	if rest != 0 {
		sep()
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	return b
}

// AppendRaw appends a frame with an arbitrary header and payload; h.Length
// is taken from len(payload). It exists for tests and for the attack
// clients that must send frames the typed writers refuse to build.
func AppendRaw(dst []byte, h Header, payload []byte) []byte {
	h.Length = uint32(len(payload))
	if len(payload) > MaxMaxFrameSize {
		h.Length = MaxMaxFrameSize + 1 // let AppendHeader panic with the real reason
	}
	dst = AppendHeader(dst, h)
	return append(dst, payload...)
}

func readUint32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendFrameHeader is the writers' shorthand; n is the payload length.
func appendFrameHeader(dst []byte, t FrameType, f Flags, id StreamID, n int) []byte {
	if n > MaxMaxFrameSize {
		panic("frame: internal error: " + t.String() + " payload of " + strconv.Itoa(n) + " octets exceeds 2^24-1")
	}
	return AppendHeader(dst, Header{Length: uint32(n), Type: t, Flags: f, StreamID: id})
}

// flagIf returns f when cond holds, else 0.
func flagIf(cond bool, f Flags) Flags {
	if cond {
		return f
	}
	return 0
}
