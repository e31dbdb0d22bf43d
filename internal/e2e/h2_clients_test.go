package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// HTTP/2 through the real session with real clients: Go's http2
// Transport (h2c prior knowledge and TLS), curl and nghttp.

// pathBackend answers "path <path>" and records requests.
func pathBackend(t *testing.T) *Backend {
	return StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path %s", r.URL.Path)
	})
}

// TestH2TransportConcurrent: many concurrent requests multiplexed on one
// connection, h2c and TLS, each answered with its own body.
//
// 64 workers share 256 requests: x/net's Transport in strict mode (one
// connection, queue beyond the server's MAX_CONCURRENT_STREAMS) can
// deadlock itself when more RoundTrips than that limit reserve the
// connection at once (each holds a reservation while one waits for a
// slot), so the client side stays under 100 in flight.
func TestH2TransportConcurrent(t *testing.T) {
	be := pathBackend(t)
	s := startH2(t, be.Addr, "off", nil)
	const n, workers = 256, 64
	for _, mode := range []string{"h2c", "tls"} {
		t.Run(mode, func(t *testing.T) {
			c := s.newH2CClient(t)
			if mode == "tls" {
				c = s.newTLSClient(t)
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			next := make(chan int, n)
			for i := range n {
				next <- i
			}
			close(next)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						path := fmt.Sprintf("/%s/%d", mode, i)
						resp, err := c.Get(c.base + path)
						if err != nil {
							errs <- err
							continue
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || string(b) != "path "+path || resp.ProtoMajor != 2 {
							errs <- fmt.Errorf("%s: %d %s %q %v", path, resp.StatusCode, resp.Proto, b, err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if d := c.dials.Load(); d != 1 {
				t.Errorf("%d connections dialed for %d requests, want 1", d, n)
			}
		})
	}
	if got := len(be.Requests()); got != 2*n {
		t.Errorf("backend saw %d requests, want %d", got, 2*n)
	}
}

// TestH2RequestHeadersForwarded: the H2 -> H1 conversion the backend sees
// (:authority -> Host, cookie crumbs joined, body streamed).
func TestH2RequestHeadersForwarded(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s host=%s cookie=%s te=%q body=%s", r.Method, r.URL.Path, r.Host, r.Header.Get("Cookie"), r.Header.Get("Te"), b)
	})
	s := startH2(t, be.Addr, "off", nil)
	c := s.newH2CClient(t)
	req, _ := http.NewRequest("POST", c.base+"/form", strings.NewReader("a=1&b=2"))
	req.Header.Add("Cookie", "x=1")
	req.Header.Add("Cookie", "y=2")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "POST /form host=" + s.h2c + " cookie=x=1; y=2 te=\"\" body=a=1&b=2"
	if string(b) != want {
		t.Fatalf("backend saw %q, want %q", b, want)
	}
}

// TestH2Curl: curl with --http2-prior-knowledge on the plain listener and
// with ALPN over TLS.
func TestH2Curl(t *testing.T) {
	curl := RequireTool(t, "curl")
	be := pathBackend(t)
	s := startH2(t, be.Addr, "off", nil)
	_, port, _ := net.SplitHostPort(s.tls)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"h2c", []string{"--http2-prior-knowledge", "http://" + s.h2c + "/curl/h2c"}},
		{"tls", []string{"--http2", "--cacert", s.cert.CertFile, "--resolve", "localhost:" + port + ":127.0.0.1", "https://localhost:" + port + "/curl/tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "--max-time", "10", "-w", "\n%{http_version} %{http_code}"}, tc.args...)
			out, err := Run(t, 20*time.Second, curl, args...)
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			if want := "path /curl/" + tc.name + "\n2 200"; out != want {
				t.Fatalf("curl output %q, want %q", out, want)
			}
		})
	}
}

// TestH2Nghttp: nghttp -nv (h2c prior knowledge and TLS) completes the
// exchange, sees our SETTINGS and the 200, and ends cleanly.
func TestH2Nghttp(t *testing.T) {
	nghttp := RequireTool(t, "nghttp")
	be := pathBackend(t)
	s := startH2(t, be.Addr, "off", nil)
	for _, tc := range []struct{ name, url string }{
		{"h2c", "http://" + s.h2c + "/nghttp"},
		{"tls", "https://" + s.tls + "/nghttp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Run(t, 20*time.Second, nghttp, "-nv", "-t", "10", tc.url)
			if err != nil {
				t.Fatalf("nghttp: %v\n%s", err, out)
			}
			for _, want := range []string{
				"recv SETTINGS frame", "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100",
				":status: 200", "recv DATA frame", "END_STREAM",
				"send GOAWAY frame",
			} {
				if !strings.Contains(out, want) {
					t.Fatalf("nghttp output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "recv RST_STREAM") || strings.Contains(out, "recv GOAWAY") {
				t.Fatalf("nghttp saw an error:\n%s", out)
			}
		})
	}
}

// TestH2Trailers: a backend's chunked trailers reach the HTTP/2 client as
// a trailer block, and the client's request trailers reach the backend.
func TestH2Trailers(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(200)
		io.WriteString(w, "body ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "more")
		w.Header().Set("X-Checksum", "sum="+r.Trailer.Get("X-Req-Sum"))
	})
	s := startH2(t, be.Addr, "off", nil)
	for _, mode := range []string{"h2c", "tls"} {
		t.Run(mode, func(t *testing.T) {
			c := s.newH2CClient(t)
			if mode == "tls" {
				c = s.newTLSClient(t)
			}
			req, _ := http.NewRequest("POST", c.base+"/trailers", io.NopCloser(strings.NewReader("upload")))
			req.Trailer = http.Header{"X-Req-Sum": {"42"}}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "body more" {
				t.Fatalf("body %q", b)
			}
			if got := resp.Trailer.Get("X-Checksum"); got != "sum=42" {
				t.Fatalf("trailer X-Checksum %q (trailers %v), want sum=42", got, resp.Trailer)
			}
		})
	}
}

// TestH2RequestValidationE2E: malformed requests are reset with
// PROTOCOL_ERROR and never reach the backend as a complete request; the
// connection survives and serves a valid request.
//
// A content-length that the DATA contradicts is only known when the body
// ends: by then the head may have been forwarded (a proxy streams bodies),
// so what must hold is that the backend never receives the body as
// complete: sluice stops at the declared length and abandons the backend
// request when the stream is reset.
func TestH2RequestValidationE2E(t *testing.T) {
	type seen struct {
		path     string
		complete bool // the body read to its end without error
	}
	var mu sync.Mutex
	var got []seen
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, seen{r.URL.Path, err == nil})
		mu.Unlock()
		fmt.Fprintf(w, "path %s", r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s := startH2(t, ln.Addr().String(), "off", nil)
	c := dialRawH2(t, s.h2c)
	id := uint32(1)
	for _, extra := range [][]string{
		{"X-Upper", "1"},
		{"connection", "keep-alive"},
		{"transfer-encoding", "chunked"},
		{"te", "gzip"},
		{"x-bad", "a\r\nx-injected: 1"},
		{"host", "other.example"},
		{":path", "/again"},
	} {
		c.request(id, "GET", "/bad", true, extra...)
		if status, _, rst := c.waitStream(id); rst != 1 {
			t.Errorf("%v: status %q reset %d, want RST_STREAM(PROTOCOL_ERROR)", extra, status, rst)
		}
		id += 2
	}
	// content-length that the DATA contradicts, short and long.
	for _, body := range []string{"short", "much too long"} {
		c.request(id, "POST", "/bad-length", false, "content-length", "10")
		c.fr.WriteData(id, true, []byte(body))
		if _, _, rst := c.waitStream(id); rst != 1 {
			t.Errorf("content-length 10 with %d bytes: reset %d, want PROTOCOL_ERROR", len(body), rst)
		}
		id += 2
	}
	c.request(id, "GET", "/good", true)
	status, body, rst := c.waitStream(id)
	if status != "200" || string(body) != "path /good" || rst != -1 {
		t.Fatalf("valid request after the rejects: %q %q %d", status, body, rst)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		switch {
		case r.path == "/bad":
			t.Errorf("backend received a malformed request head")
		case r.path == "/bad-length" && r.complete:
			t.Errorf("backend received a body contradicting its content-length as complete")
		}
	}
}

// TestH2ClientResetAbandonsBackend: a client RST_STREAM in the middle of a
// response abandons the backend request: its connection is closed, not
// returned to the pool half-read, and the next request gets a fresh one.
func TestH2ClientResetAbandonsBackend(t *testing.T) {
	started := make(chan struct{}, 1)
	gone := make(chan struct{}, 1)
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/endless" {
			io.WriteString(w, "ok")
			return
		}
		chunk := make([]byte, 32<<10)
		for i := 0; ; i++ {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			if i == 4 {
				started <- struct{}{}
			}
			select {
			case <-r.Context().Done():
				gone <- struct{}{}
				return
			case <-time.After(time.Millisecond):
			}
		}
		gone <- struct{}{}
	})
	s := startH2(t, be.Addr, "stdout", nil)
	c := dialRawH2(t, s.h2c)
	c.request(1, "GET", "/endless", true)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("backend never started streaming")
	}
	// Read the head and some data, then cancel.
	for got := 0; got < 64<<10; {
		if d, ok := c.read().(interface{ Data() []byte }); ok {
			got += len(d.Data())
		}
	}
	if err := c.fr.WriteRSTStream(1, 8 /* CANCEL */); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("backend request not abandoned after the client reset")
	}
	Eventually(t, "backend connection closed", func() bool { return be.ClosedConns() >= 1 })
	// The same client connection still works, on a new backend connection.
	c.request(3, "GET", "/after", true)
	if status, body, _ := c.waitStream(3); status != "200" || string(body) != "ok" {
		t.Fatalf("request after the reset: %q %q", status, body)
	}
	if n := be.Conns(); n != 2 {
		t.Fatalf("backend connections %d, want 2 (the reset one must not be reused)", n)
	}
	rec := h2WaitRecord(t, s.Sluice, func(r h2Record) bool { return r.num("stream") == 1 })
	if rec.str("reset_code") != "CANCEL" || rec.str("proto") != "h2" {
		t.Fatalf("access log of the reset stream: %v", rec)
	}
}

// h2WaitRecord waits for an access-log record matching pred.
func h2WaitRecord(t testing.TB, s *Sluice, pred func(h2Record) bool) h2Record {
	t.Helper()
	var found h2Record
	Eventually(t, "access log record", func() bool {
		for _, r := range h2Records(t, s.AccessLog()) {
			if pred(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// TestH2AccessLogPerStream: one access-log line per stream, front
// protocol h2, the stream id, one session id for the connection.
func TestH2AccessLogPerStream(t *testing.T) {
	be := pathBackend(t)
	s := startH2(t, be.Addr, "stdout", nil)
	c := s.newH2CClient(t)
	for i := range 3 {
		if status, _ := c.get(t, fmt.Sprintf("/log/%d", i)); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	lines := s.WaitAccessLog(3)
	recs := h2Records(t, lines)
	if len(recs) != 3 {
		t.Fatalf("%d access-log lines for 3 requests:\n%s", len(recs), strings.Join(lines, "\n"))
	}
	session := recs[0].num("session")
	for i, r := range recs {
		if r.str("proto") != "h2" || r.num("stream") != float64(2*i+1) || r.num("session") != session ||
			r.str("path") != fmt.Sprintf("/log/%d", i) || r.num("status") != 200 || r.str("backend_proto") != "http/1.1" {
			t.Errorf("record %d: %v", i, r)
		}
	}
}

// TestH2Metrics: connection and stream gauges, frames by type, GOAWAY and
// RST_STREAM by code, as Prometheus exposes them.
func TestH2Metrics(t *testing.T) {
	release := make(chan struct{})
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprintf(w, "path %s", r.URL.Path)
	})
	s := startH2(t, be.Addr, "off", nil)
	c := s.newH2CClient(t)
	for i := range 5 {
		c.get(t, fmt.Sprintf("/m/%d", i))
	}
	if v := s.MetricValue("sluice_h2_connections_active", nil); v != 1 {
		t.Errorf("sluice_h2_connections_active %v, want 1", v)
	}
	// A stream in flight shows in the streams gauge.
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := c.Get(c.base + "/slow")
		if err != nil {
			t.Errorf("slow request: %v", err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	Eventually(t, "one active stream", func() bool { return s.MetricValue("sluice_h2_streams_active", nil) == 1 })
	close(release)
	<-done
	if v := s.MetricValue("sluice_h2_frames_received_total", map[string]string{"type": "HEADERS"}); v < 5 {
		t.Errorf("HEADERS received %v, want >= 5", v)
	}
	if v := s.MetricValue("sluice_h2_frames_sent_total", map[string]string{"type": "DATA"}); v < 5 {
		t.Errorf("DATA sent %v, want >= 5", v)
	}
	if v := s.MetricValue("sluice_h2_frames_sent_total", map[string]string{"type": "SETTINGS"}); v < 2 {
		t.Errorf("SETTINGS sent %v, want >= 2 (ours and the ACK)", v)
	}
	// A malformed request: RST_STREAM(PROTOCOL_ERROR) sent. A client
	// reset: RST_STREAM(CANCEL) received. A protocol error: GOAWAY sent.
	raw := dialRawH2(t, s.h2c)
	raw.request(1, "GET", "/", true, "connection", "close")
	raw.waitStream(1)
	raw.request(3, "POST", "/", false)
	raw.fr.WriteRSTStream(3, 8)
	raw.fr.WritePing(false, [8]byte{})
	raw.fr.WriteRawFrame(0x8, 0, 0, []byte{0, 0, 0, 0}) // WINDOW_UPDATE(0): x/net refuses to build it
	if code := raw.waitGoAway(); code != 1 {
		t.Fatalf("GOAWAY code %v, want PROTOCOL_ERROR", code)
	}
	Eventually(t, "metrics", func() bool {
		return s.MetricValue("sluice_h2_rst_stream_sent_total", map[string]string{"code": "PROTOCOL_ERROR"}) >= 1 &&
			s.MetricValue("sluice_h2_rst_stream_received_total", map[string]string{"code": "CANCEL"}) >= 1 &&
			s.MetricValue("sluice_h2_goaway_sent_total", map[string]string{"code": "PROTOCOL_ERROR"}) >= 1 &&
			s.MetricValue("sluice_h2_frames_received_total", map[string]string{"type": "PING"}) >= 1 &&
			s.MetricValue("sluice_h2_frames_sent_total", map[string]string{"type": "GOAWAY"}) >= 1
	})
	c.tr.CloseIdleConnections()
	raw.nc.Close()
	Eventually(t, "connection gauge back to 0", func() bool {
		return s.MetricValue("sluice_h2_connections_active", nil) == 0 && s.MetricValue("sluice_h2_streams_active", nil) == 0
	})
}

// h2loadSummary matches h2load's request summary line.
var h2loadSummary = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
