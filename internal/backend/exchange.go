package backend

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/h1"
)

// Request is one request as a session hands it to a cluster. Byte slices
// alias the session's buffers and stay valid until RoundTrip returns.
type Request struct {
	Method    []byte
	Scheme    []byte // "http" or "https": how the client reached sluice
	Authority []byte // host[:port] from Host or :authority
	Path      []byte // origin-form target: path and query

	// Fields are the request's header fields as received. Serializers skip
	// hop-by-hop fields (by Kind), Host, and the X-Forwarded-* / Forwarded
	// fields that they rewrite, so sessions need not filter.
	Fields []h1.Field

	ContentLength int64 // -1 when unknown (chunked H1, H2 without content-length)
	HasBody       bool  // a body follows (possibly empty with chunked)
	Expect100     bool  // Expect: 100-continue: the backend decides whether the body is wanted
	TETrailers    bool  // the client accepts trailers (gRPC)
	Upgrade       []byte

	ClientIP   []byte // textual IP of the client, for X-Forwarded-For / Forwarded
	FrontProto string // "http/1.1" or "h2", for logs

	// Cancel, when set, lets the session abandon the exchange from another
	// goroutine (an HTTP/2 client reset the stream): the backend
	// connection is closed, never returned to the pool mid-response.
	Cancel *Cancel
}

// Cancel abandons an exchange running on another goroutine.
type Cancel struct {
	mu        sync.Mutex
	conn      io.Closer
	cancelled bool
}

// Cancel abandons the exchange: its backend connection is closed. Close
// runs under the lock, so once detach returned no Close is under way: the
// exchange may then recycle what it had attached.
func (c *Cancel) Cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// Cancelled reports whether Cancel was called.
func (c *Cancel) Cancelled() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelled
}

// Reset makes the Cancel reusable for another exchange.
func (c *Cancel) Reset() {
	c.mu.Lock()
	c.conn, c.cancelled = nil, false
	c.mu.Unlock()
}

// detach unregisters the connection; it reports false when Cancel ran
// (the connection may be closed and must not be reused).
func (c *Cancel) detach() bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	return !c.cancelled
}

// attach registers the connection to close on Cancel; it reports false
// when the exchange was already cancelled.
func (c *Cancel) attach(conn io.Closer) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelled {
		return false
	}
	c.conn = conn
	return true
}

// Idempotent reports whether the method may be replayed (RFC 9110 9.2.2).
func (r *Request) Idempotent() bool {
	switch string(r.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// Body is the request body as the exchange pulls it. Implementations return
// slices of their own buffers, valid until the next call.
type Body interface {
	// Next returns the next piece of the body, or io.EOF after the last one
	// (data may be non-empty together with io.EOF).
	Next() ([]byte, error)
	// Buffered reports whether Next will return without blocking.
	Buffered() bool
	// Trailers returns the request trailers; valid after io.EOF.
	Trailers() []h1.Field
	// Abort unblocks a pending Next, which then fails; used when the
	// backend answered without reading the whole body.
	Abort()
}

// ResponseHead is a response head handed to a ResponseWriter. Fields alias
// the exchange's buffer and are valid only during WriteHead.
type ResponseHead struct {
	Status        int
	Reason        []byte
	Fields        []h1.Field // as received; writers drop hop-by-hop fields by Kind
	ContentLength int64      // -1 when unknown
	NoBody        bool       // HEAD, 1xx, 204, 304: no body follows whatever the fields say
}

// ResponseWriter receives a response as it arrives from the backend. The
// exchange calls WriteHead (1xx any number of times, then the final head
// once), then Write for body pieces, WriteTrailers at most once, and Flush
// whenever it is about to wait for the backend. Write may block: that is
// how back-pressure from a slow client reaches the backend.
type ResponseWriter interface {
	WriteHead(h *ResponseHead) error
	Write(p []byte) error
	WriteTrailers(fields []h1.Field) error
	Flush() error
	// Tunnel takes over the backend connection after a 101 answer to an
	// Upgrade request; buffered holds bytes the backend already sent after
	// the 101 head. The writer owns conn from then on and closes it.
	Tunnel(conn net.Conn, buffered []byte) error
}

// Timeouts bound one exchange; they come from the frontend listener.
type Timeouts struct {
	Connect  time.Duration // TCP connect
	Response time.Duration // request sent -> first response byte, and between reads of the response
	// StreamIdle: an upload to an HTTP/2 backend stalled on the backend's
	// window this long is reaped, and the client answered 502
	// (h2_stream_idle_timeout_seconds of the listener, DESIGN.md 3.6;
	// zero: the pool engine's default).
	StreamIdle time.Duration
}

// Result describes how an exchange went, for access logs and metrics.
type Result struct {
	Backend        *Backend
	Status         int           // final status forwarded (0 when none)
	HeadSent       bool          // the final head reached the writer
	ConnectTime    time.Duration // time spent obtaining a connection
	TTFB           time.Duration // request written -> first response byte
	BytesOut       int64         // response body bytes forwarded
	BytesIn        int64         // request body bytes forwarded
	Retries        int
	BodyIncomplete bool // the request body was not fully read: the client connection cannot be reused
}

// Error is an exchange failure. Before the final head went out the session
// answers Status (502, 503 or 504) itself; afterwards it can only abort.
type Error struct {
	Status  int    // default answer to send when no head went out
	Message string // accesslog token
	Err     error
	// Reset: an HTTP/2 backend reset the stream with ResetCode; an HTTP/2
	// client gets a RST_STREAM with the same code.
	Reset     bool
	ResetCode uint32
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d): %v", e.Message, e.Status, e.Err)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

var (
	errNoBackend = &Error{Status: 503, Message: accesslog.MsgNoBackend}
	// ErrClientGone is returned by writers when the client went away; the
	// exchange stops and the backend connection is not reused.
	ErrClientGone = errors.New("client went away")
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
