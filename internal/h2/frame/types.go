package frame

import "strconv"

// StreamID identifies a stream (RFC 9113 5.1.1). Only the low 31 bits are
// meaningful; the reserved high bit is cleared when parsing.
type StreamID uint32

// MaxStreamID is the largest stream identifier (RFC 9113 5.1.1); a GOAWAY
// carrying it announces a graceful shutdown without yet naming a last
// stream (RFC 9113 6.8).
const MaxStreamID StreamID = 1<<31 - 1

// IsClient reports whether the id belongs to a client-initiated stream:
// clients use odd identifiers (RFC 9113 5.1.1). Stream 0 is neither.
func (id StreamID) IsClient() bool { return id&1 == 1 }

// String formats the id in decimal.
func (id StreamID) String() string { return strconv.FormatUint(uint64(id), 10) }

// FrameType is the 8-bit frame type (RFC 9113 6, RFC 9218 7.1).
type FrameType uint8

// Frame types defined by RFC 9113 section 6 and RFC 9218 section 7.1.
const (
	TypeData           FrameType = 0x0
	TypeHeaders        FrameType = 0x1
	TypePriority       FrameType = 0x2
	TypeRSTStream      FrameType = 0x3
	TypeSettings       FrameType = 0x4
	TypePushPromise    FrameType = 0x5
	TypePing           FrameType = 0x6
	TypeGoAway         FrameType = 0x7
	TypeWindowUpdate   FrameType = 0x8
	TypeContinuation   FrameType = 0x9
	TypePriorityUpdate FrameType = 0x10
)

// Known reports whether the codec understands t. Unknown types are not
// errors: RFC 9113 4.1 and 5.5 require receivers to ignore and discard them
// (except in the middle of a field block, which the engine checks).
func (t FrameType) Known() bool {
	return t <= TypeContinuation || t == TypePriorityUpdate
}

// String returns the RFC name of the type, or unknown_0xNN.
func (t FrameType) String() string {
	switch t {
	case TypeData:
		return "DATA"
	case TypeHeaders:
		return "HEADERS"
	case TypePriority:
		return "PRIORITY"
	case TypeRSTStream:
		return "RST_STREAM"
	case TypeSettings:
		return "SETTINGS"
	case TypePushPromise:
		return "PUSH_PROMISE"
	case TypePing:
		return "PING"
	case TypeGoAway:
		return "GOAWAY"
	case TypeWindowUpdate:
		return "WINDOW_UPDATE"
	case TypeContinuation:
		return "CONTINUATION"
	case TypePriorityUpdate:
		return "PRIORITY_UPDATE"
	}
	return "unknown_0x" + strconv.FormatUint(uint64(t), 16)
}

// Flags is the 8-bit flags field of the frame header. The meaning of a bit
// depends on the frame type; bits without meaning for a type are ignored on
// receipt (RFC 9113 4.1).
type Flags uint8

// Flag bits (RFC 9113 6). FlagEndStream and FlagAck share bit 0x1: the
// first applies to DATA and HEADERS, the second to SETTINGS and PING.
const (
	FlagEndStream  Flags = 0x1
	FlagAck        Flags = 0x1
	FlagEndHeaders Flags = 0x4
	FlagPadded     Flags = 0x8
	FlagPriority   Flags = 0x20
)

// Has reports whether all bits of v are set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// Frame-layout constants (RFC 9113 4.1, 4.2, 3.4).
const (
	// HeaderLen is the size of the fixed frame header in octets.
	HeaderLen = 9
	// ClientPreface is the connection preface a client sends before its
	// first SETTINGS frame (RFC 9113 3.4).
	ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	// DefaultMaxFrameSize is the initial SETTINGS_MAX_FRAME_SIZE and the
	// smallest value a peer may advertise (RFC 9113 6.5.2).
	DefaultMaxFrameSize = 16384
	// MaxMaxFrameSize is the largest frame payload the 24-bit length field
	// can express and the largest SETTINGS_MAX_FRAME_SIZE (RFC 9113 6.5.2).
	MaxMaxFrameSize = 1<<24 - 1
)
