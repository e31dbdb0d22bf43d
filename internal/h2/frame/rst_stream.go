package frame

// RSTStream is a RST_STREAM frame (RFC 9113 6.4).
type RSTStream struct {
	// Code says why the stream was reset.
	Code ErrCode
}

const rstStreamLen = 4

// ParseRSTStream decodes a RST_STREAM payload.
func ParseRSTStream(h Header, payload []byte) (RSTStream, error) {
	// RFC 9113 6.4: RST_STREAM on stream 0 is a connection PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return RSTStream{}, connErr(ProtocolError, "rst_stream_stream_zero")
	}
	// RFC 9113 6.4: a length other than 4 is a connection FRAME_SIZE_ERROR.
	if len(payload) != rstStreamLen {
		return RSTStream{}, connErr(FrameSizeError, "rst_stream_bad_length")
	}
	return RSTStream{Code: ErrCode(readUint32(payload))}, nil
}

// AppendRSTStream appends a RST_STREAM frame.
func AppendRSTStream(dst []byte, id StreamID, code ErrCode) []byte {
	dst = appendFrameHeader(dst, TypeRSTStream, 0, id, rstStreamLen)
	return appendUint32(dst, uint32(code))
}

// Append re-encodes f on stream id.
func (f RSTStream) Append(dst []byte, id StreamID) []byte { return AppendRSTStream(dst, id, f.Code) }
