package h1

import "strconv"

// BodyMode is how a message body is delimited (RFC 9112 6.3).
type BodyMode uint8

// The body modes.
const (
	BodyNone       BodyMode = iota // no body
	BodyLength                     // Content-Length bytes (possibly 0)
	BodyChunked                    // chunked transfer coding, decode with ChunkedDecoder
	BodyUntilClose                 // response body ends when the server closes (RFC 9112 6.3 item 8)
	BodyTunnel                     // the connection becomes a tunnel after the head (101, 2xx to CONNECT)
)

// String returns the mode's name, as used in logs and tests.
func (m BodyMode) String() string {
	switch m {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	case BodyTunnel:
		return "tunnel"
	}
	return "BodyMode(" + strconv.Itoa(int(m)) + ")"
}

// BodyMode returns how the request's body is delimited (RFC 9112 6.3):
// chunked, else Content-Length, else none (item 6: a request without
// either has no body). The parser has already refused every head where
// the two disagree.
func (h *RequestHead) BodyMode() BodyMode {
	switch {
	case h.Chunked:
		return BodyChunked
	case h.ContentLength >= 0:
		return BodyLength
	}
	return BodyNone
}

// ResponseBodyMode returns how a response to a request with method
// reqMethod is delimited, in the order of RFC 9112 6.3: no body for HEAD
// and for 1xx, 204 and 304 (item 1), a tunnel after 101 or a 2xx to
// CONNECT (item 2; RFC 9110 7.8), then chunked, Content-Length, and
// finally the rest of the connection (item 8).
func ResponseBodyMode(reqMethod []byte, h *ResponseHead) BodyMode {
	switch {
	case h.Status == 101:
		return BodyTunnel
	case string(reqMethod) == "HEAD", h.Status < 200, h.Status == 204, h.Status == 304:
		return BodyNone
	case h.Status < 300 && string(reqMethod) == "CONNECT":
		return BodyTunnel
	case h.Chunked:
		return BodyChunked
	case h.ContentLength >= 0:
		return BodyLength
	}
	return BodyUntilClose
}
