package frame

// Priority is the RFC 7540 5.3 priority signal carried by PRIORITY frames
// and by HEADERS with the PRIORITY flag. RFC 9113 5.3.2 deprecates the
// scheme; the frames are still parsed (and their fields validated) so the
// connection stays in sync, but a server may ignore their meaning.
type Priority struct {
	// StreamDep is the stream this one depends on (0 for the root).
	StreamDep StreamID
	// Exclusive is the E bit.
	Exclusive bool
	// Weight is the wire value; the effective weight is Weight+1.
	Weight uint8
}

// priorityLen is the size of the priority fields (RFC 9113 6.3).
const priorityLen = 5

// parsePriorityFields decodes the 5 octets of priority fields; b must be at
// least that long.
func parsePriorityFields(b []byte) Priority {
	v := readUint32(b)
	return Priority{
		StreamDep: StreamID(v & uint32(MaxStreamID)),
		Exclusive: v&(1<<31) != 0,
		Weight:    b[4],
	}
}

func appendPriorityFields(dst []byte, p Priority) []byte {
	v := uint32(p.StreamDep & MaxStreamID)
	if p.Exclusive {
		v |= 1 << 31
	}
	dst = appendUint32(dst, v)
	return append(dst, p.Weight)
}

// Check reports a stream depending on itself, which RFC 9113 5.3.1 (and
// RFC 7540 5.3.1) make a stream error PROTOCOL_ERROR. ParsePriority applies
// it; for HEADERS the engine must call it itself after the field block
// has been decoded, so the HPACK state stays in sync.
func (p Priority) Check(id StreamID) error {
	if p.StreamDep == id {
		return streamErr(id, ProtocolError, "priority_self_dependency")
	}
	return nil
}

// ParsePriority decodes a PRIORITY payload.
func ParsePriority(h Header, payload []byte) (Priority, error) {
	// RFC 9113 6.3: PRIORITY on stream 0 is a connection PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return Priority{}, connErr(ProtocolError, "priority_stream_zero")
	}
	// RFC 9113 6.3: a length other than 5 is a *stream* error
	// FRAME_SIZE_ERROR; the frame carries no connection state.
	if len(payload) != priorityLen {
		return Priority{}, streamErr(h.StreamID, FrameSizeError, "priority_bad_length")
	}
	p := parsePriorityFields(payload)
	if err := p.Check(h.StreamID); err != nil {
		return Priority{}, err
	}
	return p, nil
}

// AppendPriority appends a PRIORITY frame.
func AppendPriority(dst []byte, id StreamID, p Priority) []byte {
	dst = appendFrameHeader(dst, TypePriority, 0, id, priorityLen)
	return appendPriorityFields(dst, p)
}

// Append re-encodes p as a PRIORITY frame on stream id.
func (p Priority) Append(dst []byte, id StreamID) []byte { return AppendPriority(dst, id, p) }
