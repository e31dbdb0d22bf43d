package frame

// Next finds the first complete frame in buf, a window over bytes read from
// the connection (after the client preface).
//
// It returns n == 0 and a nil error when buf does not yet hold a whole
// frame: the caller reads more and calls again. Otherwise n is the number
// of octets the frame occupies (HeaderLen + payload length) and payload
// aliases buf, capped so that appending to it cannot overwrite the next
// frame.
//
// A header announcing a payload longer than maxFrameSize (the
// SETTINGS_MAX_FRAME_SIZE we advertised) is a connection error
// FRAME_SIZE_ERROR (RFC 9113 4.2); it is reported as soon as the header
// is visible, without waiting for the oversized payload. The header is
// returned alongside the error for logging.
func Next(buf []byte, maxFrameSize uint32) (h Header, payload []byte, n int, err error) {
	if len(buf) < HeaderLen {
		return Header{}, nil, 0, nil
	}
	h = ParseHeader(buf)
	// RFC 9113 4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE is a frame
	// size error; treated as a connection error because the oversized frame
	// cannot be skipped without buffering it.
	if h.Length > maxFrameSize {
		return h, nil, 0, &ConnError{
			Code:   FrameSizeError,
			Reason: "frame_too_large",
		}
	}
	end := HeaderLen + int(h.Length)
	if len(buf) < end {
		return h, nil, 0, nil
	}
	return h, buf[HeaderLen:end:end], end, nil
}
