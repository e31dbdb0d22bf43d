package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Backend is a real HTTP/2 server (net/http) started for a test: h2c
// (prior knowledge) or TLS with ALPN h2.
type H2Backend struct {
	Addr  string
	Cert  *Cert // TLS backends: the certificate (Pool trusts it)
	srv   *http.Server
	ln    net.Listener
	conns atomic.Int64 // connections accepted
}

// StartH2Backend serves h over HTTP/2 on a loopback port, h2c when tlsOn
// is false. maxStreams sets the server's SETTINGS_MAX_CONCURRENT_STREAMS
// (0: Go's default, 250).
func StartH2Backend(t testing.TB, tlsOn bool, maxStreams uint32, h http.Handler) *H2Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &H2Backend{Addr: ln.Addr().String()}
	b.ln = &countingListener{Listener: ln, n: &b.conns}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	h2s := &http2.Server{MaxConcurrentStreams: maxStreams}
	if tlsOn {
		b.Cert = NewCert(t, "127.0.0.1", "localhost")
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{b.Cert.TLS}, NextProtos: []string{"h2"}}
		if err := http2.ConfigureServer(srv, h2s); err != nil {
			t.Fatal(err)
		}
		go srv.ServeTLS(b.ln, "", "")
	} else {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: int(maxStreams)}
		go srv.Serve(b.ln)
	}
	b.srv = srv
	t.Cleanup(func() { srv.Close() })
	return b
}

// Conns returns how many connections the backend accepted.
func (b *H2Backend) Conns() int64 { return b.conns.Load() }

// Shutdown stops the backend gracefully: net/http sends GOAWAY and
// finishes in-flight streams.
func (b *H2Backend) Shutdown(ctx context.Context) error { return b.srv.Shutdown(ctx) }

// Close stops the backend at once.
func (b *H2Backend) Close() { b.srv.Close() }

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// H2CClient returns an HTTP/2 client speaking h2c prior knowledge to addr.
func H2CClient(addr string) *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, _ string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}, Timeout: 30 * time.Second}
}

// H2TLSClient returns an HTTP/2 client over TLS to addr trusting cert.
func H2TLSClient(addr string, cert *Cert, serverName string) *http.Client {
	return &http.Client{Transport: &http2.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.Pool, ServerName: serverName, NextProtos: []string{"h2"}},
		DialTLSContext: func(ctx context.Context, network, _ string, cfg *tls.Config) (net.Conn, error) {
			d := tls.Dialer{Config: cfg}
			return d.DialContext(ctx, network, addr)
		},
	}, Timeout: 30 * time.Second}
}

// H1Client returns an HTTP/1.1 client to addr (TLS when cert is set).
func H1Client(addr string, cert *Cert, serverName string) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 16,
	}
	if cert != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: cert.Pool, ServerName: serverName, NextProtos: []string{"http/1.1"}}
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// GoAwayBackend is an HTTP/2 (h2c) backend that answers every request
// with "ok" and, after `every` streams on a connection, sends
// GOAWAY(NO_ERROR) naming the last stream it answered; the streams the
// client already had in flight above it are never answered (RFC 9113 6.8:
// not processed, the client must retry them elsewhere), and the
// connection closes shortly after. It models a backend restarting
// gracefully under load, with the lowest last-stream-id it may send.
type GoAwayBackend struct {
	Addr     string
	ln       net.Listener
	goaways  atomic.Int64
	answered atomic.Int64
	dropped  atomic.Int64
	conns    atomic.Int64
}

// StartGoAwayBackend starts the backend on a loopback port.
func StartGoAwayBackend(t testing.TB, every int) *GoAwayBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &GoAwayBackend{Addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			go b.serve(c, every)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return b
}

// GoAways, Answered and Dropped count what the backend did.
func (b *GoAwayBackend) GoAways() int64  { return b.goaways.Load() }
func (b *GoAwayBackend) Answered() int64 { return b.answered.Load() }
func (b *GoAwayBackend) Dropped() int64  { return b.dropped.Load() }
func (b *GoAwayBackend) Conns() int64    { return b.conns.Load() }

func (b *GoAwayBackend) serve(c net.Conn, every int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	seen := 0
	var last uint32
	goingAway := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			id := f.StreamID
			seen++
			if goingAway && id > last {
				b.dropped.Add(1) // above our GOAWAY: not processed
				continue
			}
			hbuf.Reset()
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "2"})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndHeaders: true})
			fr.WriteData(id, true, []byte("ok"))
			b.answered.Add(1)
			if !goingAway && seen >= every {
				goingAway = true
				last = id
				fr.WriteGoAway(last, http2.ErrCodeNo, nil)
				b.goaways.Add(1)
				go func() { time.Sleep(200 * time.Millisecond); c.Close() }()
			}
		}
	}
}

// ScriptedH2Backend is an h2c backend driven frame by frame by a test:
// for every request it calls Handle with a writer for that stream, and it
// records the RST_STREAM frames sluice sends it.
type ScriptedH2Backend struct {
	Addr   string
	mu     sync.Mutex
	resets map[uint32]http2.ErrCode
}

// H2Stream lets a scripted backend answer one stream.
type H2Stream struct {
	ID   uint32
	Path string
	mu   *sync.Mutex // serializes frame writes on the connection
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf *bytes.Buffer
}

// Respond writes a response head (status, then name/value pairs).
func (s *H2Stream) Respond(status int, endStream bool, kv ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hbuf.Reset()
	s.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for i := 0; i+1 < len(kv); i += 2 {
		s.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.ID, BlockFragment: s.hbuf.Bytes(), EndHeaders: true, EndStream: endStream})
}

// Data writes a DATA frame.
func (s *H2Stream) Data(p []byte, endStream bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fr.WriteData(s.ID, endStream, p)
}

// Reset writes RST_STREAM.
func (s *H2Stream) Reset(code http2.ErrCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fr.WriteRSTStream(s.ID, code)
}

// StartScriptedH2Backend serves h2c; handle runs on its own goroutine per
// request.
func StartScriptedH2Backend(t testing.TB, handle func(*H2Stream)) *ScriptedH2Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &ScriptedH2Backend{Addr: ln.Addr().String(), resets: map[uint32]http2.ErrCode{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c, handle)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return b
}

// ResetCode returns the code of the RST_STREAM sluice sent for a stream.
func (b *ScriptedH2Backend) ResetCode(id uint32) (http2.ErrCode, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.resets[id]
	return c, ok
}

// Resets returns every RST_STREAM received, by stream.
func (b *ScriptedH2Backend) Resets() map[uint32]http2.ErrCode {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[uint32]http2.ErrCode, len(b.resets))
	for k, v := range b.resets {
		out[k] = v
	}
	return out
}

func (b *ScriptedH2Backend) serve(c net.Conn, handle func(*H2Stream)) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	var mu sync.Mutex
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	mu.Lock()
	fr.WriteSettings()
	mu.Unlock()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				mu.Lock()
				fr.WriteSettingsAck()
				mu.Unlock()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				mu.Lock()
				fr.WritePing(true, f.Data)
				mu.Unlock()
			}
		case *http2.RSTStreamFrame:
			b.mu.Lock()
			b.resets[f.StreamID] = f.ErrCode
			b.mu.Unlock()
		case *http2.MetaHeadersFrame:
			st := &H2Stream{ID: f.StreamID, Path: f.PseudoValue("path"), mu: &mu, fr: fr, enc: enc, hbuf: &hbuf}
			go handle(st)
		}
	}
}
