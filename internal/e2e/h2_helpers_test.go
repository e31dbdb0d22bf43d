package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Helpers of the HTTP/2 end-to-end tests: a config with an h2c and a TLS
// listener in front of one cluster, Go's http2 Transport for both, and a
// raw frame-level client for what a well-behaved client never sends.

// h2Setup is a running sluice with an h2c listener (@L1@) and a TLS one
// (@L2@, certificate for localhost and 127.0.0.1) routing to one backend.
type h2Setup struct {
	*Sluice
	cert *Cert
	h2c  string // address of the plain listener
	tls  string // address of the TLS listener
}

const h2ConfigTemplate = `
access_log = "@ACCESS@"
[[listeners]]
address = "@L1@"
protocol = "http"
[[listeners]]
address = "@L2@"
protocol = "https"
certificate = "@CERT@"
key = "@KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "127.0.0.1" },
  { address = "@L1@", hostname = "localhost" },
  { address = "@L2@", hostname = "127.0.0.1" },
  { address = "@L2@", hostname = "localhost" },
]
backends = [ { address = "@BE@" } ]
`

// startH2 starts sluice in front of the backend at beAddr. accessLog is
// "stdout" to capture the access log (the harness keeps it in memory) or
// "off".
func startH2(t testing.TB, beAddr, accessLog string, tweak func(*config.Config)) *h2Setup {
	t.Helper()
	cert := NewCert(t, "localhost", "127.0.0.1")
	s := StartWith(t, h2ConfigTemplate, map[string]string{
		"BE": beAddr, "CERT": cert.CertFile, "KEY": cert.KeyFile, "ACCESS": accessLog,
	}, tweak)
	return &h2Setup{Sluice: s, cert: cert, h2c: s.Addr("@L1@"), tls: s.Addr("@L2@")}
}

// dialTLS opens a TLS connection to the TLS listener as localhost,
// offering one ALPN protocol, and closes it when the test ends.
func (s *h2Setup) dialTLS(t testing.TB, alpn string) *tls.Conn {
	t.Helper()
	nc, err := tls.Dial("tcp", s.tls, &tls.Config{RootCAs: s.cert.Pool, ServerName: "localhost", NextProtos: []string{alpn}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// h2Client is Go's http2 Transport on one connection to sluice, counting
// the connections it dials.
type h2Client struct {
	*http.Client
	tr    *http2.Transport
	dials atomic.Int32
	base  string // URL prefix
}

// newH2CClient speaks h2c with prior knowledge (AllowHTTP, plain TCP in
// DialTLSContext).
func (s *h2Setup) newH2CClient(t testing.TB) *h2Client {
	c := &h2Client{base: "http://" + s.h2c}
	c.tr = &http2.Transport{
		AllowHTTP:                  true,
		StrictMaxConcurrentStreams: true, // queue on one connection, do not dial more
		ReadIdleTimeout:            10 * time.Second,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			c.dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	c.Client = &http.Client{Transport: c.tr, Timeout: 60 * time.Second}
	t.Cleanup(c.tr.CloseIdleConnections)
	return c
}

// newTLSClient speaks h2 over TLS (ALPN), as localhost, verifying the
// harness certificate.
func (s *h2Setup) newTLSClient(t testing.TB) *h2Client {
	_, port, _ := net.SplitHostPort(s.tls)
	c := &h2Client{base: "https://localhost:" + port}
	c.tr = &http2.Transport{
		StrictMaxConcurrentStreams: true,
		ReadIdleTimeout:            10 * time.Second,
		TLSClientConfig:            &tls.Config{RootCAs: s.cert.Pool, ServerName: "localhost", NextProtos: []string{"h2"}},
		DialTLSContext: func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
			c.dials.Add(1)
			d := tls.Dialer{Config: cfg}
			conn, err := d.DialContext(ctx, network, s.tls)
			if err != nil {
				return nil, err
			}
			if p := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
				conn.Close()
				return nil, fmt.Errorf("ALPN chose %q", p)
			}
			return conn, nil
		},
	}
	c.Client = &http.Client{Transport: c.tr, Timeout: 60 * time.Second}
	t.Cleanup(c.tr.CloseIdleConnections)
	return c
}

// get fetches path and returns status and body.
func (c *h2Client) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(c.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", path, err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("GET %s answered over %s", path, resp.Proto)
	}
	return resp.StatusCode, string(b)
}

// h2Record is one parsed access-log line.
type h2Record map[string]any

func (r h2Record) str(k string) string { s, _ := r[k].(string); return s }
func (r h2Record) num(k string) float64 {
	f, _ := r[k].(float64)
	return f
}

func h2Records(t testing.TB, lines []string) []h2Record {
	t.Helper()
	var out []h2Record
	for _, l := range lines {
		var r h2Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// rawH2 is a frame-level HTTP/2 client (x/net's Framer) over plain TCP:
// it sends what a real client never would and reads frames back, every
// operation under a deadline.
type rawH2 struct {
	t      testing.TB
	nc     net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
}

// dialRawH2 connects, sends the preface and SETTINGS, and reads until the
// server's SETTINGS is acknowledged both ways.
func dialRawH2(t testing.TB, addr string) *rawH2 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newRawH2(t, nc)
}

// newRawH2 opens HTTP/2 on nc (a TCP or TLS connection): preface,
// SETTINGS with large windows, and both SETTINGS ACKs.
func newRawH2(t testing.TB, nc net.Conn) *rawH2 {
	t.Helper()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { nc.Close() })
	c := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc), dec: hpack.NewDecoder(4096, nil)}
	c.fr.ReadMetaHeaders = c.dec
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.encBuf)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	gotSettings, gotAck := false, false
	for !gotSettings || !gotAck {
		f := c.read()
		if sf, ok := f.(*http2.SettingsFrame); ok {
			if sf.IsAck() {
				gotAck = true
			} else {
				gotSettings = true
				if err := c.fr.WriteSettingsAck(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return c
}

// Close closes the connection.
func (c *rawH2) Close() error { return c.nc.Close() }

func (c *rawH2) read() http2.Frame {
	c.t.Helper()
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// headers sends a HEADERS frame with the fields (name, value pairs)
// encoded by x/net's HPACK encoder, which encodes whatever it is given.
func (c *rawH2) headers(id uint32, endStream bool, kv ...string) {
	c.t.Helper()
	c.encBuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.encBuf.Bytes(), EndStream: endStream, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// request sends a GET-like request head with extra fields.
func (c *rawH2) request(id uint32, method, path string, endStream bool, extra ...string) {
	c.t.Helper()
	kv := append([]string{":method", method, ":scheme", "http", ":authority", "127.0.0.1", ":path", path}, extra...)
	c.headers(id, endStream, kv...)
}

// waitStream reads frames until stream id ends (END_STREAM or RST_STREAM)
// and returns the status (0 if none), the body and the reset code (-1 if
// it ended normally).
func (c *rawH2) waitStream(id uint32) (status string, body []byte, rst int) {
	c.t.Helper()
	rst = -1
	for {
		switch f := c.read().(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id && f.PseudoValue("status") != "" && (status == "" || status[0] == '1') {
				status = f.PseudoValue("status")
			}
			if f.StreamID == id && f.StreamEnded() {
				return status, body, rst
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				body = append(body, f.Data()...)
				if len(f.Data()) > 0 {
					c.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				}
				if f.StreamEnded() {
					return status, body, rst
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return status, body, int(f.ErrCode)
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("GOAWAY(%v, last %d) while waiting for stream %d", f.ErrCode, f.LastStreamID, id)
		}
	}
}

// waitGoAway reads until a GOAWAY arrives and returns its code.
func (c *rawH2) waitGoAway() http2.ErrCode {
	c.t.Helper()
	for {
		if g, ok := c.read().(*http2.GoAwayFrame); ok {
			return g.ErrCode
		}
	}
}

// contains reports whether s has every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
