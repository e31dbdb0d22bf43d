// Package frame is the HTTP/2 frame codec (RFC 9113 sections 4 and 6, plus
// PRIORITY_UPDATE from RFC 9218 section 7.1).
//
// The package is sans-I/O: [Next] finds complete frames in a caller-owned
// byte slice, the Parse* functions decode one frame payload into a value
// whose slices alias that payload, and the Append* functions append a
// complete frame (9-octet header plus payload) to a caller-owned slice.
// Nothing here allocates on the success path, so the connection engine can
// parse and write frames at line rate without garbage.
//
// The codec enforces only the rules that a single frame can break on its
// own: payload sizes, padding, and which frame types may (not) use stream
// 0. Rules that need connection state (stream states, CONTINUATION
// sequencing, flow-control windows, zero WINDOW_UPDATE increments) belong
// to the engine. Violations are reported as *ConnError (answer GOAWAY) or
// *StreamError (answer RST_STREAM), each with a stable snake_case Reason
// suitable as a metric label.
//
// Layout: one file per frame type (parse function, append writer, and the
// type's own validation), with shared header, padding and error code
// helpers beside them.
package frame
