package e2e

// What the backend receives (issue 2 item 7): hop-by-hop fields removed,
// X-Forwarded-For/-Proto/-Host and Forwarded added; and streaming with
// back-pressure.

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestH1ForwardedHeadersAndHopByHop(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /h?x=1 HTTP/1.1\r\n" +
		"Host: app.test:8080\r\n" +
		"Connection: keep-alive, X-Hop-Custom\r\n" +
		"X-Hop-Custom: secret\r\n" +
		"Keep-Alive: timeout=5\r\n" +
		"TE: trailers\r\n" +
		"Trailer: X-T\r\n" +
		"Proxy-Authorization: Basic Zm9v\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"HTTP2-Settings: AAMAAABkAAQAAP__\r\n" +
		"Upgrade: h2c\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\n" +
		"X-Forwarded-Proto: https\r\n" +
		"X-Forwarded-Host: spoofed.test\r\n" +
		"Forwarded: for=203.0.113.7;proto=https\r\n" +
		"Cookie: a=1\r\n" +
		"Cookie: b=2\r\n" +
		"X-End-To-End: kept\r\n" +
		"\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	reqs := be.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	h := reqs[0].Header
	for _, name := range []string{"Connection", "X-Hop-Custom", "Keep-Alive", "Te", "Trailer", "Proxy-Authorization", "Proxy-Connection", "Http2-Settings", "Upgrade"} {
		if v, ok := h[name]; ok {
			t.Errorf("hop-by-hop %s forwarded: %q", name, v)
		}
	}
	for name, want := range map[string]string{
		"X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "app.test:8080",
		"Forwarded":         `for=203.0.113.7;proto=https, for="127.0.0.1";proto=http;host="app.test:8080"`,
		"Cookie":            "a=1; b=2",
		"X-End-To-End":      "kept",
	} {
		if got := strings.Join(h[name], "|"); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if reqs[0].Host != "app.test:8080" || reqs[0].RequestURI != "/h?x=1" {
		t.Errorf("Host %q URI %q", reqs[0].Host, reqs[0].RequestURI)
	}
}

// TestH1ForwardedProtoHTTPS: over TLS, the backend is told https.
func TestH1ForwardedProtoHTTPS(t *testing.T) {
	be := StartBackend(t, nil)
	cert := NewCert(t, "app.test")
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
alpn_protocols = ["http/1.1"]
certificate = "@CERT@"
key = "@KEY@"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "app.test" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": be.Addr, "CERT": cert.CertFile, "KEY": cert.KeyFile})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool, ServerName: "app.test"}}
	defer tr.CloseIdleConnections()
	req := mustRequest(t, "GET", "https://"+s.Addr("@L1@")+"/")
	req.Host = "app.test"
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Proto)
	}
	h := be.Requests()[0].Header
	if h.Get("X-Forwarded-Proto") != "https" || !strings.Contains(h.Get("Forwarded"), "proto=https") {
		t.Fatalf("X-Forwarded-Proto %q Forwarded %q", h.Get("X-Forwarded-Proto"), h.Get("Forwarded"))
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return true })
	if rec.str("tls_version") == "" || rec.str("sni") != "app.test" {
		t.Errorf("TLS fields missing from %v", rec)
	}
}

// TestH1BackPressureSlowClient: a client that stops reading a large
// download stops the backend too; sluice buffers a bounded amount, and the
// whole body arrives intact once the client reads again.
func TestH1BackPressureSlowClient(t *testing.T) {
	const total = 256 << 20
	var written atomic.Int64
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		c.(*net.TCPConn).SetWriteBuffer(64 << 10)
		c.SetDeadline(time.Now().Add(time.Minute))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 268435456\r\n\r\n")
		buf := make([]byte, 64<<10)
		for i := range buf {
			buf[i] = byte('a' + i%26)
		}
		for written.Load() < total {
			n, err := c.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	s := startOne(t, be.Addr, nil)
	nc, err := net.Dial("tcp", s.Addr("@L1@"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	nc.SetDeadline(time.Now().Add(time.Minute))
	io.WriteString(nc, "GET /big HTTP/1.1\r\nHost: app.test\r\n\r\n")
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(nc, first); err != nil {
		t.Fatal(err)
	}
	// Stop reading; wait until the backend cannot write any more.
	stable := 0
	for last := int64(-1); stable < 10; {
		time.Sleep(20 * time.Millisecond)
		if w := written.Load(); w == last {
			stable++
		} else {
			last, stable = w, 0
		}
	}
	ahead := written.Load() - int64(len(first))
	t.Logf("backend wrote %d KiB ahead of what the client read", ahead>>10)
	// Socket buffers on four sockets (which Linux grows on its own) plus
	// sluice's buffers: a few MiB at most. Unbounded buffering would have
	// taken the whole 256 MiB.
	if ahead > 32<<20 {
		t.Fatalf("backend wrote %d MiB ahead of the client: sluice is not applying back-pressure", ahead>>20)
	}
	// Now read everything.
	n, err := io.Copy(io.Discard, io.LimitReader(nc, total-int64(len(first))))
	if err != nil || n != total-int64(len(first)) {
		t.Fatalf("rest of the body: %d bytes, %v", n, err)
	}
}

// TestH1BackPressureSlowBackend: a backend that stops reading a large
// upload stops the client too; sluice holds a bounded amount of it.
func TestH1BackPressureSlowBackend(t *testing.T) {
	const total = 256 << 20
	var read atomic.Int64
	resume := make(chan struct{})
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		c.(*net.TCPConn).SetReadBuffer(64 << 10)
		c.SetDeadline(time.Now().Add(time.Minute))
		// Read the first MiB, then stall until the test says resume.
		n, _ := io.CopyN(io.Discard, c, 1<<20)
		read.Add(n)
		<-resume
		n, _ = io.CopyN(countingDiscard{&read}, c, total-(1<<20))
		if n != total-(1<<20) {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	s := startOne(t, be.Addr, nil)
	nc, err := net.Dial("tcp", s.Addr("@L1@"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
	nc.SetDeadline(time.Now().Add(time.Minute))
	var sent atomic.Int64
	go func() {
		io.WriteString(nc, "POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 268435456\r\n\r\n")
		buf := make([]byte, 64<<10)
		for sent.Load() < total {
			n, err := nc.Write(buf)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	stable := 0
	for last := int64(-1); stable < 10; {
		time.Sleep(20 * time.Millisecond)
		if w := sent.Load(); w == last {
			stable++
		} else {
			last, stable = w, 0
		}
	}
	ahead := sent.Load() - read.Load()
	t.Logf("client wrote %d KiB ahead of what the backend read", ahead>>10)
	if ahead > 32<<20 {
		t.Fatalf("client wrote %d MiB ahead of the backend: sluice is not applying back-pressure", ahead>>20)
	}
	close(resume)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != 200 || read.Load() != total {
		t.Fatalf("after resuming: %v %v, backend read %d of %d", resp, err, read.Load(), total)
	}
}

// countingDiscard discards what it is written and counts it.
type countingDiscard struct{ n *atomic.Int64 }

func (d countingDiscard) Write(p []byte) (int, error) {
	d.n.Add(int64(len(p)))
	return len(p), nil
}

// TestH1H2CUpgradeNotForwarded: "Upgrade: h2c" is a hop-by-hop offer to
// switch this one connection to HTTP/2; relayed to a backend that accepts
// it, it would open a raw HTTP/2 tunnel past sluice's routing (h2c
// smuggling). sluice must drop it and serve the request as HTTP/1.1.
func TestH1H2CUpgradeNotForwarded(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /h2c HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
	r := c.ReadResponse("GET")
	if r.StatusCode != 200 {
		t.Fatalf("status %d, want a plain 200", r.StatusCode)
	}
	h := be.Requests()[0].Header
	if h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" || strings.Contains(strings.ToLower(h.Get("Connection")), "upgrade") {
		t.Fatalf("backend saw an h2c upgrade offer: %v", h)
	}
	// The connection is still HTTP/1.1.
	c.Send("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("next request: %d", r.StatusCode)
	}
}

// TestH1ClientAbortMidResponse: a client that goes away mid-download makes
// sluice drop the backend connection (never pooled mid-response) and log
// client_aborted.
func TestH1ClientAbortMidResponse(t *testing.T) {
	backendDone := make(chan error, 1)
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 268435456\r\n\r\n")
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				backendDone <- err
				return
			}
		}
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /download HTTP/1.1\r\nHost: app.test\r\n\r\n")
	c.ReadHead()
	c.ReadN(1 << 20)
	c.Close()
	select {
	case <-backendDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend connection was not closed after the client left")
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/download" })
	if rec.str("message") != "client_aborted" {
		t.Errorf("logged as %v", rec)
	}
	if n := s.MetricValue("sluice_backend_connections", map[string]string{"state": "idle"}); n != 0 {
		t.Errorf("%v idle backend connections: a half-read one was pooled", n)
	}
}
