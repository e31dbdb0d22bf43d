package frame

// PriorityUpdate is a PRIORITY_UPDATE frame (RFC 9218 7.1): a client
// re-prioritising a request stream after it was opened.
type PriorityUpdate struct {
	// PrioritizedID is the stream whose priority changes.
	PrioritizedID StreamID
	// FieldValue is the Priority Field Value (RFC 9218 5, a structured
	// field dictionary such as "u=1, i"), aliasing the payload.
	FieldValue []byte
}

const prioritizedIDLen = 4

// ParsePriorityUpdate decodes a PRIORITY_UPDATE payload. Whether the
// prioritized stream is in an acceptable state is the engine's to check.
func ParsePriorityUpdate(h Header, payload []byte) (PriorityUpdate, error) {
	// RFC 9218 7.1: the frame is sent on stream 0; any other stream is a
	// connection PROTOCOL_ERROR.
	if h.StreamID != 0 {
		return PriorityUpdate{}, connErr(ProtocolError, "priority_update_nonzero_stream")
	}
	// RFC 9218 7.1 / RFC 9113 4.2: too short for the Prioritized Stream ID
	// is a connection FRAME_SIZE_ERROR.
	if len(payload) < prioritizedIDLen {
		return PriorityUpdate{}, connErr(FrameSizeError, "priority_update_too_short")
	}
	id := StreamID(readUint32(payload) & uint32(MaxStreamID))
	// RFC 9218 7.1: a Prioritized Stream ID of 0 is a connection
	// PROTOCOL_ERROR.
	if id == 0 {
		return PriorityUpdate{}, connErr(ProtocolError, "priority_update_stream_zero")
	}
	return PriorityUpdate{PrioritizedID: id, FieldValue: payload[prioritizedIDLen:]}, nil
}

// AppendPriorityUpdate appends a PRIORITY_UPDATE frame (on stream 0).
func AppendPriorityUpdate(dst []byte, prioritized StreamID, value []byte) []byte {
	dst = appendFrameHeader(dst, TypePriorityUpdate, 0, 0, prioritizedIDLen+len(value))
	dst = appendUint32(dst, uint32(prioritized&MaxStreamID))
	return append(dst, value...)
}

// Append re-encodes f (always on stream 0).
func (f PriorityUpdate) Append(dst []byte) []byte {
	return AppendPriorityUpdate(dst, f.PrioritizedID, f.FieldValue)
}
