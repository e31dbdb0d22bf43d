// Package listener runs the accept loops: it enforces connection limits at
// accept, performs TLS handshakes (bounded by the request timeout), detects
// the protocol (ALPN on https listeners, the h2c prior-knowledge preface on
// http listeners) and hands each connection to a session.
package listener

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/session"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// Options configure a listener.
type Options struct {
	Env              *session.Env
	TLS              *tls.Config // nil for plaintext listeners
	H2C              bool        // plaintext: serve the h2c prior-knowledge preface
	MaxConnections   int         // 0 = unlimited
	MaxPerIP         int         // 0 = off
	HandshakeTimeout time.Duration
	// Classify turns a TLS handshake error into a metric reason; nil = "error".
	Classify func(error) string
	// Handshake runs the TLS handshake and returns the connection's TLS
	// identity (SNI, certificate names for the coalescing check); nil =
	// a plain handshake without coalescing checks.
	Handshake func(context.Context, *tls.Conn) (*session.TLSInfo, error)
	Log       *slog.Logger
}

// Listener accepts connections on one address.
type Listener struct {
	ln     net.Listener
	opts   Options
	active atomic.Int64
	closed atomic.Bool

	// tlsH1 is whether HTTP/1.1 may be served over TLS: alpn_protocols
	// lists http/1.1 (so a connection that negotiated no protocol is
	// HTTP/1.1).
	tlsH1 bool

	mu    sync.Mutex
	perIP map[netip.Prefix]int // by limitKey

	done chan struct{}
}

// New wraps an already bound listener (bound here or inherited from a
// previous process during an upgrade).
func New(ln net.Listener, o Options) *Listener {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	l := &Listener{ln: ln, opts: o, perIP: map[netip.Prefix]int{}, done: make(chan struct{})}
	// Without ALPN in the config, crypto/tls negotiates nothing and every
	// connection is HTTP/1.1.
	l.tlsH1 = o.TLS != nil && (len(o.TLS.NextProtos) == 0 || slices.Contains(o.TLS.NextProtos, tlsstore.ProtoHTTP11))
	return l
}

// Addr returns the bound address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Raw returns the underlying listener (for handing it to a new process).
func (l *Listener) Raw() net.Listener { return l.ln }

// Env returns the sessions' environment.
func (l *Listener) Env() *session.Env { return l.opts.Env }

// Serve accepts until Close. Temporary accept errors (out of file
// descriptors) back off instead of spinning.
func (l *Listener) Serve() error {
	defer close(l.done)
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			l.opts.Log.Warn("accept failed", "listener", l.opts.Env.Listener, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.opts.Env.LMetrics.Accepted.Inc()
		ip := remoteIP(c)
		key := limitKey(c)
		if reason := l.admit(key); reason != "" {
			// Excess connections are closed at once: rejecting must cost
			// less than accepting, or a flood starves the loop.
			l.opts.Env.LMetrics.Rejected(reason)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
			continue
		}
		go l.handle(c, ip, key)
	}
}

// admit applies the connection limits; it returns the reason for a refusal
// or "".
func (l *Listener) admit(key netip.Prefix) string {
	if m := l.opts.MaxConnections; m > 0 && l.active.Load() >= int64(m) {
		return "max_connections"
	}
	if l.opts.MaxPerIP > 0 && key.IsValid() {
		l.mu.Lock()
		if l.perIP[key] >= l.opts.MaxPerIP {
			l.mu.Unlock()
			return "max_connections_per_ip"
		}
		l.perIP[key]++
		l.mu.Unlock()
	}
	l.active.Add(1)
	return ""
}

func (l *Listener) release(key netip.Prefix) {
	l.active.Add(-1)
	if l.opts.MaxPerIP > 0 && key.IsValid() {
		l.mu.Lock()
		if n := l.perIP[key] - 1; n > 0 {
			l.perIP[key] = n
		} else {
			delete(l.perIP, key)
		}
		l.mu.Unlock()
	}
}

// Active returns the number of open connections.
func (l *Listener) Active() int64 { return l.active.Load() }

// Close stops accepting; open sessions continue (Env().Drain ends them).
func (l *Listener) Close() error {
	l.closed.Store(true)
	err := l.ln.Close()
	<-l.done
	return err
}

// handle runs a connection's handshake and protocol detection, then its
// session. An HTTP/1.1 session runs on this goroutine; an HTTP/2 session
// may outlive it (its owner goroutine parks while the connection is idle)
// and reports its end through ConnInfo.Done.
func (l *Listener) handle(c net.Conn, ip string, key netip.Prefix) {
	released := false
	release := func() {
		if !released {
			released = true
			l.release(key)
		}
	}
	env := l.opts.Env
	info := session.ConnInfo{Conn: c, ClientIP: []byte(ip), Client: c.RemoteAddr().String()}
	serveH2 := func(initial []byte) {
		var once sync.Once
		info.Done = func() { once.Do(func() { l.release(key) }) }
		released = true
		env.ServeH2(info, initial)
	}
	defer release()
	if l.opts.TLS != nil {
		tc := tls.Server(c, l.opts.TLS)
		// The request timeout bounds the handshake too: a slow loris can
		// stall in TLS as well as in HTTP.
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.HandshakeTimeout)
		var ti *session.TLSInfo
		var err error
		if l.opts.Handshake != nil {
			ti, err = l.opts.Handshake(ctx, tc)
		} else {
			err = tc.HandshakeContext(ctx)
		}
		cancel()
		if err != nil {
			reason := "error"
			if l.opts.Classify != nil {
				reason = l.opts.Classify(err)
			}
			env.LMetrics.TLSHandshakeFailed(reason)
			c.Close()
			return
		}
		info.Conn = tc
		info.TLS = ti
		if ti == nil {
			cs := tc.ConnectionState()
			info.TLS = &session.TLSInfo{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite), SNI: cs.ServerName, H2Allowed: true}
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			serveH2(nil)
			return
		}
		if !l.tlsH1 {
			// No protocol was negotiated (a client without ALPN, or one
			// offering only http/1.1, which crypto/tls lets through for
			// compatibility) on a listener whose alpn_protocols leave
			// HTTP/1.1 out. HTTP/2 needs "h2" from ALPN (RFC 9113 3.2), so
			// nothing may be served: close, as RFC 7301 3.2 would have
			// had the handshake fail.
			env.LMetrics.TLSHandshakeFailed(tlsstore.FailNoApplicationProtocol.String())
			tc.Close()
			return
		}
		env.ServeH1(info, nil)
		return
	}
	if !l.opts.H2C {
		env.ServeH1(info, nil)
		return
	}
	buf := prefaceBufs.Get().(*[]byte)
	defer prefaceBufs.Put(buf)
	initial, isH2, err := detectPreface(c, env.Limits.RequestTimeout, (*buf)[:0])
	if err != nil {
		c.Close()
		return
	}
	// Both sessions are done with initial when Serve returns (it is
	// copied or parsed before the first read of their own).
	if isH2 {
		serveH2(initial)
		return
	}
	env.ServeH1(info, initial)
}

// prefaceBufs hold what protocol detection reads: a connection flood
// would otherwise leave 4 KiB of garbage per connection.
var prefaceBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// prefacePrefix is the HTTP/2 client preface (RFC 9113 3.4).
var prefacePrefix = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// detectPreface reads into buf (empty, with capacity) until the first
// bytes either match the whole h2c prior-knowledge preface or differ from
// it. It returns what it read so the session can parse it. Upgrade: h2c
// (RFC 7540 3.2) is deliberately not supported: it lets a request smuggle
// a protocol switch past proxies.
func detectPreface(c net.Conn, timeout time.Duration, buf []byte) ([]byte, bool, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		k := min(len(buf), len(prefacePrefix))
		if !bytes.Equal(buf[:k], prefacePrefix[:k]) {
			return buf, false, nil
		}
		if k == len(prefacePrefix) {
			return buf, true, nil
		}
		if err != nil {
			if n == 0 && len(buf) == 0 && err == io.EOF {
				return nil, false, err
			}
			if len(buf) > 0 {
				return buf, false, nil
			}
			return nil, false, err
		}
	}
}

// limitKey is what max_connections_per_ip counts connections by: the
// IPv4 address, or the /64 an IPv6 address is in. One IPv6 subscriber is
// routinely given a whole /64 and may connect from any address in it, so
// counting by address would let one client multiply its limit by 2^64.
// Invalid (not a TCP peer): not counted.
func limitKey(c net.Conn) netip.Prefix {
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}
	}
	addr, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}
	}
	return limitPrefix(addr)
}

func limitPrefix(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
