package frame

// GoAway is a GOAWAY frame (RFC 9113 6.8).
type GoAway struct {
	// LastStreamID is the highest peer-initiated stream the sender may
	// have processed; MaxStreamID announces a graceful shutdown.
	LastStreamID StreamID
	// Code says why the connection is going away.
	Code ErrCode
	// Debug is opaque diagnostic data, aliasing the payload. Never log it
	// unfiltered: it is peer-controlled.
	Debug []byte
}

const goAwayMinLen = 8

// ParseGoAway decodes a GOAWAY payload.
func ParseGoAway(h Header, payload []byte) (GoAway, error) {
	// RFC 9113 6.8: GOAWAY on a non-zero stream is a connection
	// PROTOCOL_ERROR.
	if h.StreamID != 0 {
		return GoAway{}, connErr(ProtocolError, "goaway_nonzero_stream")
	}
	// RFC 9113 4.2: shorter than the mandatory 8 octets is a connection
	// FRAME_SIZE_ERROR (a stream-0 frame).
	if len(payload) < goAwayMinLen {
		return GoAway{}, connErr(FrameSizeError, "goaway_too_short")
	}
	return GoAway{
		LastStreamID: StreamID(readUint32(payload) & uint32(MaxStreamID)),
		Code:         ErrCode(readUint32(payload[4:])),
		Debug:        payload[goAwayMinLen:],
	}, nil
}

// AppendGoAway appends a GOAWAY frame.
func AppendGoAway(dst []byte, last StreamID, code ErrCode, debug []byte) []byte {
	dst = appendFrameHeader(dst, TypeGoAway, 0, 0, goAwayMinLen+len(debug))
	dst = appendUint32(dst, uint32(last&MaxStreamID))
	dst = appendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// Append re-encodes f (always on stream 0).
func (f GoAway) Append(dst []byte) []byte {
	return AppendGoAway(dst, f.LastStreamID, f.Code, f.Debug)
}
