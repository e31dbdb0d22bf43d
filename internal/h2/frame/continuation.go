package frame

// Continuation is a CONTINUATION frame (RFC 9113 6.10).
type Continuation struct {
	// Fragment is the next field block fragment, aliasing the payload.
	Fragment []byte
	// EndHeaders is the END_HEADERS flag: the field block is complete.
	EndHeaders bool
}

// ParseContinuation decodes a CONTINUATION payload. Whether a
// CONTINUATION is expected at all (RFC 9113 6.10: only right after a
// HEADERS, PUSH_PROMISE or CONTINUATION without END_HEADERS, on the same
// stream) is connection state the engine checks.
func ParseContinuation(h Header, payload []byte) (Continuation, error) {
	// RFC 9113 6.10: CONTINUATION on stream 0 is a connection
	// PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return Continuation{}, connErr(ProtocolError, "continuation_stream_zero")
	}
	return Continuation{Fragment: payload, EndHeaders: h.Flags.Has(FlagEndHeaders)}, nil
}

// AppendContinuation appends a CONTINUATION frame.
func AppendContinuation(dst []byte, id StreamID, endHeaders bool, fragment []byte) []byte {
	dst = appendFrameHeader(dst, TypeContinuation, flagIf(endHeaders, FlagEndHeaders), id, len(fragment))
	return append(dst, fragment...)
}

// Append re-encodes f on stream id.
func (f Continuation) Append(dst []byte, id StreamID) []byte {
	return AppendContinuation(dst, id, f.EndHeaders, f.Fragment)
}
