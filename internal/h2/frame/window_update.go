package frame

// WindowUpdate is a WINDOW_UPDATE frame (RFC 9113 6.9).
type WindowUpdate struct {
	// Increment is the window credit in octets (31 bits). Zero is returned
	// as is: RFC 9113 6.9 makes it a stream error on a stream and a
	// connection error on stream 0, and only the engine knows whether the
	// stream is still open.
	Increment uint32
}

const windowUpdateLen = 4

// ParseWindowUpdate decodes a WINDOW_UPDATE payload (any stream, including
// 0 for the connection window).
func ParseWindowUpdate(h Header, payload []byte) (WindowUpdate, error) {
	// RFC 9113 6.9: a length other than 4 is a connection FRAME_SIZE_ERROR.
	if len(payload) != windowUpdateLen {
		return WindowUpdate{}, connErr(FrameSizeError, "window_update_bad_length")
	}
	// RFC 9113 6.9: the reserved high bit MUST be ignored.
	return WindowUpdate{Increment: readUint32(payload) & MaxWindowSize}, nil
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame; id 0 credits the
// connection window.
func AppendWindowUpdate(dst []byte, id StreamID, incr uint32) []byte {
	dst = appendFrameHeader(dst, TypeWindowUpdate, 0, id, windowUpdateLen)
	return appendUint32(dst, incr&MaxWindowSize)
}

// Append re-encodes f on stream id.
func (f WindowUpdate) Append(dst []byte, id StreamID) []byte {
	return AppendWindowUpdate(dst, id, f.Increment)
}
