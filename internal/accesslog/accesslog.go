// Package accesslog writes one structured line per request (log/slog, JSON
// or text) and defines the stable message tokens that explain why a request
// ended the way it did.
package accesslog

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
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
type Logger struct {
	l  *slog.Logger
	bw *bufferedWriter
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
	bw := newBufferedWriter(w, closer)
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.LevelKey {
			return slog.Attr{} // every line is an access record; the level is noise
		}
		return a
	}}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(bw, opts)
	} else {
		h = slog.NewJSONHandler(bw, opts)
	}
	return &Logger{l: slog.New(h), bw: bw}
}

// Log writes one record.
func (lg *Logger) Log(r *Record) {
	if lg == nil {
		return
	}
	attrs := [...]slog.Attr{
		slog.Uint64("session", r.Session),
		slog.Uint64("stream", uint64(r.Stream)),
		slog.String("listener", r.Listener),
		slog.String("client", r.Client),
		slog.String("proto", r.FrontProto),
		slog.String("backend_proto", r.BackProto),
		slog.String("method", string(r.Method)),
		slog.String("authority", string(r.Authority)),
		slog.String("path", string(r.Path)),
		slog.Int("status", r.Status),
		slog.Int64("bytes_in", r.BytesIn),
		slog.Int64("bytes_out", r.BytesOut),
		slog.Float64("duration_ms", ms(r.Total)),
		slog.Float64("backend_connect_ms", ms(r.BackendConn)),
		slog.Float64("ttfb_ms", ms(r.TimeToFirst)),
		slog.String("cluster", r.Cluster),
		slog.String("backend", r.Backend),
		slog.String("message", r.Message),
	}
	n := len(attrs)
	extra := make([]slog.Attr, 0, 6)
	if r.TLSVersion != "" {
		extra = append(extra, slog.String("tls_version", r.TLSVersion), slog.String("tls_cipher", r.TLSCipher), slog.String("sni", r.SNI))
	}
	if r.ResetCode != "" {
		extra = append(extra, slog.String("reset_code", r.ResetCode))
	}
	if r.Retries > 0 {
		extra = append(extra, slog.Int("retries", r.Retries))
	}
	all := append(attrs[:n:n], extra...)
	lg.l.LogAttrs(context.Background(), slog.LevelInfo, "request", all...)
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

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
