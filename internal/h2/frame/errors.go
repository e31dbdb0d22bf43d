package frame

// ConnError is a connection error (RFC 9113 5.4.1): the engine answers with
// GOAWAY carrying Code and then closes the connection.
type ConnError struct {
	// Code goes into the GOAWAY frame.
	Code ErrCode
	// Reason is a stable snake_case token naming the violated rule; it is
	// used as a metric label and in logs, never sent to the peer as is.
	Reason string
}

// Error implements error.
func (e *ConnError) Error() string {
	return "http2: connection error " + e.Code.String() + ": " + e.Reason
}

// StreamError is a stream error (RFC 9113 5.4.2): the engine answers with
// RST_STREAM carrying Code on StreamID and the connection stays up.
type StreamError struct {
	// StreamID is the stream to reset.
	StreamID StreamID
	// Code goes into the RST_STREAM frame.
	Code ErrCode
	// Reason is a stable snake_case token naming the violated rule.
	Reason string
}

// Error implements error.
func (e *StreamError) Error() string {
	return "http2: stream error on stream " + e.StreamID.String() + " " + e.Code.String() + ": " + e.Reason
}

// Errors are built only on failure paths, so allocating them is fine; the
// constructors keep the call sites short.

func connErr(code ErrCode, reason string) error { return &ConnError{Code: code, Reason: reason} }

func streamErr(id StreamID, code ErrCode, reason string) error {
	return &StreamError{StreamID: id, Code: code, Reason: reason}
}
