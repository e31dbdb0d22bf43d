// Package h2 is sluice's HTTP/2 connection engine (RFC 9113): the
// connection and stream state machines, flow control in both directions,
// HPACK with bounded tables, the flood defences of DESIGN.md 3.7, the
// per-stream reapers, graceful GOAWAY and the frame scheduler.
//
// The engine does no I/O and starts no goroutine. A driver feeds it the
// bytes it read (Feed), lets it fill its output buffer (Produce), writes
// Pending() to the socket and reports it (Written), and calls Tick when the
// deadline from NextDeadline passes. Everything the peer does reaches the
// application through the Handler callbacks, made on the driver's
// goroutine. That is what lets the session run it on a real socket and the
// simulator run it step by step on a fake clock.
//
// Ownership: a Conn and its Streams belong to the goroutine that drives
// it; nothing in this package locks. A *Stream stays valid until the
// handler calls Release, after the stream closed; the engine never reuses
// a stream the handler still holds.
//
// Errors: frame rules raise *frame.ConnError or *frame.StreamError; they
// are turned into GOAWAY or RST_STREAM in one place (fail, resetStream),
// which also counts them under their reason token.
package h2
