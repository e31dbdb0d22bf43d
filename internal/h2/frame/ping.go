package frame

// Ping is a PING frame (RFC 9113 6.7).
type Ping struct {
	// Ack is the ACK flag: this PING answers one of ours.
	Ack bool
	// Data is the opaque payload an ACK must echo.
	Data [8]byte
}

const pingLen = 8

// ParsePing decodes a PING payload.
func ParsePing(h Header, payload []byte) (Ping, error) {
	// RFC 9113 6.7: PING on a non-zero stream is a connection PROTOCOL_ERROR.
	if h.StreamID != 0 {
		return Ping{}, connErr(ProtocolError, "ping_nonzero_stream")
	}
	// RFC 9113 6.7: a length other than 8 is a connection FRAME_SIZE_ERROR.
	if len(payload) != pingLen {
		return Ping{}, connErr(FrameSizeError, "ping_bad_length")
	}
	return Ping{Ack: h.Flags.Has(FlagAck), Data: [8]byte(payload)}, nil
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	dst = appendFrameHeader(dst, TypePing, flagIf(ack, FlagAck), 0, pingLen)
	return append(dst, data[:]...)
}

// Append re-encodes f (always on stream 0).
func (f Ping) Append(dst []byte) []byte { return AppendPing(dst, f.Ack, f.Data) }
