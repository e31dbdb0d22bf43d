// Package accesslog writes one structured line per request (JSON or text,
// in the shapes of log/slog's handlers) and defines the stable message
// tokens that explain why a request ended the way it did.
package accesslog

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Message tokens: stable values of the access log's "message" field. Scripts
// and dashboards match on them; never rename one.
const (
	MsgClientTimeout             = "client_timeout"                 // H1 client idle or slow head -> 408
	MsgClientTimeoutDuringResp   = "client_timeout_during_response" // 504 or abort while linked
	MsgBackendTimeout            = "backend_timeout"                // no response started -> 504
	MsgBackendResponseTimeout    = "backend_response_timeout"       // response in progress -> abort
	MsgBackendConnectFailed      = "backend_connect_failed"         // -> 502
	MsgBackendConnectTimeout     = "backend_connect_timeout"        // -> 504
	MsgBackendReset              = "backend_reset"                  // backend closed or reset -> 502 / abort
	MsgBackendBadResponse        = "backend_bad_response"           // unparsable or smuggling-prone response -> 502
	MsgNoBackend                 = "no_backend"                     // cluster has no live backend -> 503
	MsgNoRoute                   = "no_route"                       // no frontend matches -> 404
	MsgMisdirected               = "misdirected"                    // certificate does not cover authority -> 421
	MsgBadRequest                = "bad_request"                    // malformed request -> 400/431
	MsgClientAborted             = "client_aborted"                 // client went away mid-exchange
	MsgClientReset               = "client_reset"                   // H2 client reset the stream
	MsgH2IdleTimeout             = "h2_idle_timeout"                // stream reaped: bidirectional silence
	MsgH2WindowStall             = "h2_window_stall"                // stream reaped: flow-control stall
	MsgShutdown                  = "shutdown"                       // forced close at the drain deadline
	MsgUpgraded                  = "upgraded"                       // tunnel after 101 ended
	MsgRequestBodyIncomplete     = "request_body_incomplete"        // backend answered before reading the whole body
	MsgBackendRefusedStream      = "backend_refused_stream"         // retried elsewhere
	MsgBackendGoAway             = "backend_goaway"                 // backend connection going away
	MsgBackendProtocolError      = "backend_protocol_error"         // backend violated HTTP/2
	MsgRequestTooLarge           = "request_header_too_large"       // 431
	MsgTunnelTimeout             = "tunnel_timeout"                 // upgraded connection idle
	MsgClientClosedBeforeRequest = "client_closed"                  // informational
)

// Record is one request as the access log sees it. The session fills it and
// hands it to Log; byte-slice fields may alias request buffers because Log
// consumes them before returning.
type Record struct {
	Start         time.Time
	Session       uint64
	Stream        uint32 // 0 for HTTP/1.1
	Listener      string
	Client        string // client address
	FrontProto    string // "http/1.1", "h2"
	BackProto     string // "http/1.1", "h2c", "h2", "" when no backend
	TLSVersion    string
	TLSCipher     string
	SNI           string
	Method        []byte
	Authority     []byte
	Path          []byte
	Status        int
	BytesIn       int64 // request body bytes
	BytesOut      int64 // response body bytes
	Total         time.Duration
	BackendConn   time.Duration // time to obtain a backend connection
	TimeToFirst   time.Duration // request dispatched -> first response byte from the backend
	Cluster       string
	Backend       string
	Message       string // one of the Msg* tokens, or ""
	ResetCode     string // H2: the RST_STREAM code when the stream was reset
	Retries       int
	UpgradeTunnel bool
}

// Logger writes access-log lines. A nil *Logger logs nothing, so callers need
// no "is logging on" checks.
//
// Lines are formatted by hand into a reused buffer, in the shapes of
// log/slog's JSON and text handlers (same keys, "time" and "msg" first):
// formatting them through slog costs about as much CPU as proxying the
// request itself.
type Logger struct {
	bw   *bufferedWriter
	text bool
	mu   sync.Mutex
	line []byte
}

// Open returns a logger for the access_log setting ("stdout", "stderr", "off"
// or a file path) and format ("json" or "text"). It returns nil for "off".
func Open(dest, format string) (*Logger, error) {
	var w io.Writer
	var closer io.Closer
	switch dest {
	case "off", "":
		return nil, nil
	case "stdout":
		w = os.Stdout
	case "stderr":
		w = os.Stderr
	default:
		f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		w, closer = f, f
	}
	return New(w, closer, format), nil
}

// New wraps any writer (tests use a buffer). closer may be nil.
func New(w io.Writer, closer io.Closer, format string) *Logger {
	return &Logger{bw: newBufferedWriter(w, closer), text: format == "text"}
}

// Log writes one record.
func (lg *Logger) Log(r *Record) {
	if lg == nil {
		return
	}
	lg.mu.Lock()
	e := enc{b: lg.line[:0], text: lg.text}
	e.begin(time.Now())
	e.num("session", int64(r.Session))
	e.num("stream", int64(r.Stream))
	e.str("listener", r.Listener)
	e.str("client", r.Client)
	e.str("proto", r.FrontProto)
	e.str("backend_proto", r.BackProto)
	e.bytes("method", r.Method)
	e.bytes("authority", r.Authority)
	e.bytes("path", r.Path)
	e.num("status", int64(r.Status))
	e.num("bytes_in", r.BytesIn)
	e.num("bytes_out", r.BytesOut)
	e.ms("duration_ms", r.Total)
	e.ms("backend_connect_ms", r.BackendConn)
	e.ms("ttfb_ms", r.TimeToFirst)
	e.str("cluster", r.Cluster)
	e.str("backend", r.Backend)
	e.str("message", r.Message)
	if r.TLSVersion != "" {
		e.str("tls_version", r.TLSVersion)
		e.str("tls_cipher", r.TLSCipher)
		e.str("sni", r.SNI)
	}
	if r.ResetCode != "" {
		e.str("reset_code", r.ResetCode)
	}
	if r.Retries > 0 {
		e.num("retries", int64(r.Retries))
	}
	e.end()
	lg.line = e.b
	lg.bw.Write(e.b)
	lg.mu.Unlock()
}

// Close flushes and closes the destination.
func (lg *Logger) Close() error {
	if lg == nil {
		return nil
	}
	return lg.bw.Close()
}

// Flush writes buffered lines now.
func (lg *Logger) Flush() {
	if lg != nil {
		lg.bw.Flush()
	}
}

// enc appends one line as JSON ({"k":v,...}) or logfmt-style text
// (k=v ..., values quoted when needed), like slog's handlers.
type enc struct {
	b    []byte
	text bool
}

func (e *enc) begin(t time.Time) {
	if e.text {
		e.b = append(e.b, "time="...)
		e.b = t.AppendFormat(e.b, time.RFC3339Nano)
		e.b = append(e.b, " msg=request"...)
		return
	}
	e.b = append(e.b, `{"time":"`...)
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, `","msg":"request"`...)
}

func (e *enc) key(k string) {
	if e.text {
		e.b = append(e.b, ' ')
		e.b = append(e.b, k...)
		e.b = append(e.b, '=')
		return
	}
	e.b = append(e.b, ',', '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *enc) num(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

// ms writes a duration in milliseconds with microsecond precision.
func (e *enc) ms(k string, d time.Duration) {
	e.key(k)
	e.b = strconv.AppendFloat(e.b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

func (e *enc) str(k, v string) {
	e.key(k)
	e.quoted(v)
}

func (e *enc) bytes(k string, v []byte) {
	e.key(k)
	e.quoted(unsafe.String(unsafe.SliceData(v), len(v)))
}

// quoted appends v as a JSON string, or as a text value (bare when it
// needs no quoting). Bytes that are not valid UTF-8 or are control
// characters are escaped: a request cannot forge a line break or a field.
func (e *enc) quoted(v string) {
	if e.text && v != "" && !needsQuote(v) {
		e.b = append(e.b, v...)
		return
	}
	e.b = append(e.b, '"')
	for i := 0; i < len(v); {
		c := v[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			e.b = append(e.b, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && size == 1 {
				e.b = append(e.b, `\ufffd`...)
			} else {
				e.b = append(e.b, v[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			e.b = append(e.b, '\\', c)
		case '\n':
			e.b = append(e.b, '\\', 'n')
		case '\r':
			e.b = append(e.b, '\\', 'r')
		case '\t':
			e.b = append(e.b, '\\', 't')
		default:
			e.b = append(e.b, `\u00`...)
			e.b = append(e.b, hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
	}
	e.b = append(e.b, '"')
}

const hexDigits = "0123456789abcdef"

func needsQuote(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c == '"' || c == '=' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func (e *enc) end() {
	if !e.text {
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, '\n')
}

// bufferedWriter batches lines into few writes: one write per line would cost
// a syscall per request. Lines are flushed when 64 KiB accumulate or every
// 200 ms, whichever comes first, and on Close.
type bufferedWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer
	stop   chan struct{}
	done   chan struct{}
}

func newBufferedWriter(w io.Writer, closer io.Closer) *bufferedWriter {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), closer: closer, stop: make(chan struct{}), done: make(chan struct{})}
	go b.flusher()
	return b
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedWriter) Flush() {
	b.mu.Lock()
	b.w.Flush()
	b.mu.Unlock()
}

func (b *bufferedWriter) flusher() {
	defer close(b.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			return
		}
	}
}

func (b *bufferedWriter) Close() error {
	close(b.stop)
	<-b.done
	b.Flush()
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}
