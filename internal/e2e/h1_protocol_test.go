package e2e

// End-to-end tests of the HTTP/1.1 engine (issue 2 item 4): keep-alive,
// pipelining, chunked bodies, trailers, 100-continue, close-delimited
// responses, Upgrade tunnels, bodiless responses and head limits.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// TestH1KeepAliveReusesBothConnections: sequential requests from one
// client connection travel over one client connection and one pooled
// backend connection.
func TestH1KeepAliveReusesBothConnections(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil)
	c := newClient(t)
	reused := 0
	for i := range 10 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/k%d", s.Addr("@L1@"), i), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("GET /k%d", i); !strings.HasSuffix(string(body), want) {
			t.Fatalf("request %d: body %q, want suffix %q", i, body, want)
		}
	}
	if reused != 9 {
		t.Errorf("client connection reused %d times, want 9", reused)
	}
	if n := be.Conns(); n != 1 {
		t.Errorf("backend accepted %d connections for 10 sequential requests, want 1 (pooled)", n)
	}
	// The same holds across client connections: the pool is shared.
	c2 := newClient(t)
	if code, _, _ := get(t, c2, "http://"+s.Addr("@L1@")+"/other"); code != 200 {
		t.Fatalf("status %d", code)
	}
	if n := be.Conns(); n != 1 {
		t.Errorf("backend accepted %d connections after a second client, want 1", n)
	}
}

// TestH1KeepAliveHTTP10: an HTTP/1.0 client asking for keep-alive gets it
// (RFC 9112 9.3) and one without it gets its connection closed.
func TestH1KeepAliveHTTP10(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	for _, p := range []string{"/a", "/b"} {
		c.Send("GET " + p + " HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
		r := c.ReadResponse("GET")
		if r.StatusCode != 200 || !strings.HasSuffix(r.Body, "GET "+p) {
			t.Fatalf("%s: %d %q", p, r.StatusCode, r.Body)
		}
		if !strings.EqualFold(r.Header.Get("Connection"), "keep-alive") {
			t.Fatalf("%s: Connection %q, want keep-alive", p, r.Header.Get("Connection"))
		}
	}
	c.Send("GET /c HTTP/1.0\r\nHost: app.test\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	c.ExpectClosed()
}

// TestH1Pipelining: several requests in one write are answered in order,
// including requests with bodies between them.
func TestH1Pipelining(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s [%s]", r.Method, r.URL.Path, b)
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /1 HTTP/1.1\r\nHost: app.test\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /3 HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"HEAD /4 HTTP/1.1\r\nHost: app.test\r\n\r\n" +
		"GET /5 HTTP/1.1\r\nHost: app.test\r\n\r\n")
	want := []struct{ method, body string }{
		{"GET", "GET /1 []"},
		{"POST", "POST /2 [hello]"},
		{"POST", "POST /3 [abc]"},
		{"HEAD", ""},
		{"GET", "GET /5 []"},
	}
	for i, w := range want {
		r := c.ReadResponse(w.method)
		if r.StatusCode != 200 || r.Body != w.body {
			t.Fatalf("response %d: %d %q, want 200 %q", i+1, r.StatusCode, r.Body, w.body)
		}
	}
	if n := be.Conns(); n != 1 {
		t.Errorf("backend connections = %d, want 1", n)
	}
}

// TestH1ChunkedRequestBody: a chunked upload reaches the backend intact
// (re-framed by sluice), in one write or trickled chunk by chunk.
func TestH1ChunkedRequestBody(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "te=%v cl=%d", r.TransferEncoding, r.ContentLength)
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n")
	time.Sleep(20 * time.Millisecond) // let the first part travel alone
	c.Send("5\r\nworld\r\n0\r\n\r\n")
	r := c.ReadResponse("POST")
	if r.StatusCode != 200 || r.Body != "te=[chunked] cl=-1" {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
	if b := be.Bodies(); len(b) != 1 || string(b[0]) != "hello world" {
		t.Fatalf("backend bodies %q", b)
	}
	// A large chunked body, bigger than every buffer on the way.
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	var req strings.Builder
	req.WriteString("POST /big HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
	for i := 0; i < len(big); i += 40000 {
		part := big[i:min(i+40000, len(big))]
		fmt.Fprintf(&req, "%x\r\n%s\r\n", len(part), part)
	}
	req.WriteString("0\r\n\r\n")
	go io.WriteString(c.Conn, req.String())
	if r := c.ReadResponse("POST"); r.StatusCode != 200 {
		t.Fatalf("big: %d", r.StatusCode)
	}
	if b := be.Bodies(); len(b) != 2 || string(b[1]) != big {
		t.Fatalf("big body not forwarded intact (%d bodies)", len(b))
	}
}

// TestH1ChunkedResponseBody: a backend response without Content-Length
// reaches an HTTP/1.1 client chunked, and the connection stays usable.
func TestH1ChunkedResponseBody(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	for range 2 {
		c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
		r := c.ReadResponse("GET")
		if r.StatusCode != 200 || r.Body != "part0;part1;part2;part3;part4;" {
			t.Fatalf("got %d %q", r.StatusCode, r.Body)
		}
		if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
			t.Fatalf("Transfer-Encoding %v, want chunked", r.TransferEncoding)
		}
	}
}

// TestH1TrailersBothWays: request trailers reach the backend and response
// trailers reach the client.
func TestH1TrailersBothWays(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Resp-Sum")
		fmt.Fprintf(w, "req-trailer=%s", r.Trailer.Get("X-Req-Sum"))
		w.(http.Flusher).Flush()
		w.Header().Set("X-Resp-Sum", "abc123")
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("POST / HTTP/1.1\r\nHost: app.test\r\nTE: trailers\r\nTrailer: X-Req-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4\r\ndata\r\n0\r\nX-Req-Sum: 42\r\n\r\n")
	r := c.ReadResponse("POST")
	if r.StatusCode != 200 || r.Body != "req-trailer=42" {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
	if got := r.Trailer.Get("X-Resp-Sum"); got != "abc123" {
		t.Fatalf("response trailer %q, want abc123 (trailers %v)", got, r.Trailer)
	}
	// And through curl, which prints trailers with the headers.
	curl := RequireTool(t, "curl")
	out, err := Run(t, 10*time.Second, curl, "-sS", "-i", "--raw", "-H", "TE: trailers", "-H", "Transfer-Encoding: chunked", "--data-binary", "x", "http://"+s.Addr("@L1@")+"/")
	if err != nil || !strings.Contains(out, "X-Resp-Sum: abc123") {
		t.Fatalf("curl: %v\n%s", err, out)
	}
}

// TestH1Expect100Continue: the backend's 100 Continue reaches the client,
// which only then sends its body.
func TestH1Expect100Continue(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "expect=%q", r.Header.Get("Expect"))
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("PUT /doc HTTP/1.1\r\nHost: app.test\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n")
	r := c.ReadResponse("PUT")
	if r.StatusCode != 100 {
		t.Fatalf("first response %d, want 100 Continue", r.StatusCode)
	}
	c.Send("payload")
	r = c.ReadResponse("PUT")
	if r.StatusCode != 200 || r.Body != `expect="100-continue"` {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
	if b := be.Bodies(); len(b) != 1 || string(b[0]) != "payload" {
		t.Fatalf("backend bodies %q", b)
	}
	// The connection is still good for another request.
	c.Send("GET /next HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("next: %d", r.StatusCode)
	}

	// curl waits for the 100 before uploading.
	curl := RequireTool(t, "curl")
	out, err := Run(t, 10*time.Second, curl, "-sS", "-v", "-H", "Expect: 100-continue", "--data-binary", strings.Repeat("z", 2000), "http://"+s.Addr("@L1@")+"/curl")
	if err != nil || !strings.Contains(out, "HTTP/1.1 100 Continue") || !strings.Contains(out, "HTTP/1.1 200") {
		t.Fatalf("curl: %v\n%s", err, out)
	}
}

// TestH1Expect100Refused: a backend that answers a final status without
// reading the body: the client gets it at once, never has to send the
// body, and the connection closes (its framing is unknown now).
func TestH1Expect100Refused(t *testing.T) {
	for _, status := range []string{"417 Expectation Failed", "401 Unauthorized"} {
		t.Run(status[:3], func(t *testing.T) {
			extra := make(chan string, 1)
			be := StartRawBackend(t, func(c net.Conn) {
				head, err := readHead(c)
				if err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 "+status+"\r\nContent-Length: 4\r\n\r\nnope")
				// Whatever follows the head would be the body sluice
				// should not have sent.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				rest, _ := io.ReadAll(c)
				extra <- headerValue(head, "Expect") + "|" + string(rest)
			})
			s := startOne(t, be.Addr, nil)
			c := Dial(t, s.Addr("@L1@"))
			c.Send("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
			r := c.ReadResponse("POST")
			if r.Status != status || r.Body != "nope" {
				t.Fatalf("got %q %q, want %q", r.Status, r.Body, status)
			}
			c.ExpectClosed()
			if got := <-extra; got != "100-continue|" {
				t.Fatalf("backend saw Expect|body-bytes = %q, want %q", got, "100-continue|")
			}
		})
	}
}

// TestH1CloseDelimitedResponse: an HTTP/1.0-style backend ends its body by
// closing; an HTTP/1.1 client gets it chunked on a connection that stays
// open, an HTTP/1.0 client gets it close-delimited.
func TestH1CloseDelimitedResponse(t *testing.T) {
	body := strings.Repeat("close-delimited body ", 3000)
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
		for i := 0; i < len(body); i += 1000 {
			io.WriteString(c, body[i:min(i+1000, len(body))])
		}
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	for i := range 2 {
		c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
		r := c.ReadResponse("GET")
		if r.StatusCode != 200 || r.Body != body {
			t.Fatalf("HTTP/1.1 request %d: %d, body %d bytes, want %d", i, r.StatusCode, len(r.Body), len(body))
		}
		if len(r.TransferEncoding) == 0 || r.TransferEncoding[0] != "chunked" {
			t.Fatalf("Transfer-Encoding %v, want chunked", r.TransferEncoding)
		}
	}
	if n := be.Conns(); n != 2 {
		t.Errorf("backend connections %d, want 2 (a close-delimited one is never reused)", n)
	}
	c10 := Dial(t, s.Addr("@L1@"))
	c10.Send("GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
	head := c10.ReadHead()
	if !strings.HasPrefix(head, "HTTP/1.1 200") || headerValue(head, "Content-Length") != "" || headerValue(head, "Transfer-Encoding") != "" {
		t.Fatalf("HTTP/1.0 head %q", head)
	}
	rest, _ := io.ReadAll(c10.R)
	if string(rest) != body {
		t.Fatalf("HTTP/1.0 body %d bytes, want %d", len(rest), len(body))
	}
}

// TestH1UpgradeTunnel: a WebSocket-style Upgrade is forwarded, the 101
// reaches the client, and bytes then flow both ways, including bytes
// each side sent in the same packet as its head.
func TestH1UpgradeTunnel(t *testing.T) {
	heads := make(chan string, 1)
	be := StartRawBackend(t, func(c net.Conn) {
		head, err := readHead(c)
		heads <- head
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nhello-from-backend|")
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}
			if err != nil {
				return
			}
		}
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\nearly|")
	head := c.ReadHead()
	if !strings.HasPrefix(head, "HTTP/1.1 101") || !strings.EqualFold(headerValue(head, "Upgrade"), "websocket") || !strings.EqualFold(headerValue(head, "Connection"), "upgrade") {
		t.Fatalf("101 head %q", head)
	}
	bh := <-heads
	if !strings.EqualFold(headerValue(bh, "Upgrade"), "websocket") || !strings.Contains(strings.ToLower(headerValue(bh, "Connection")), "upgrade") || headerValue(bh, "Sec-WebSocket-Key") != "k" {
		t.Fatalf("backend saw head %q", bh)
	}
	if got := c.ReadN(len("hello-from-backend|EARLY|")); got != "hello-from-backend|EARLY|" {
		t.Fatalf("tunnel start %q", got)
	}
	for _, m := range []string{"ping", "second message"} {
		c.Send(m)
		if got := c.ReadN(len(m)); got != strings.ToUpper(m) {
			t.Fatalf("echo %q, want %q", got, strings.ToUpper(m))
		}
	}
	// The client ends its side: the backend sees EOF, closes, and the
	// client then sees the tunnel end.
	c.Conn.(*net.TCPConn).CloseWrite()
	c.ExpectClosed()
	r := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/ws" })
	if r.num("status") != 101 || r.str("message") != "upgraded" {
		t.Errorf("access log %v", r)
	}
	// Tunnel bytes count as client bytes.
	tunnelled := len("hello-from-backend|EARLY|PINGSECOND MESSAGE")
	if n := r.num("bytes_out"); int(n) != tunnelled {
		t.Errorf("bytes_out %v, want the %d tunnelled bytes", n, tunnelled)
	}
	if sent := s.MetricValue("sluice_client_bytes_sent_total", map[string]string{"listener": s.Addr("@L1@")}); int(sent) < len(head)+tunnelled {
		t.Errorf("bytes sent %v, want at least the 101 head and the %d tunnelled bytes", sent, tunnelled)
	}
	req := "GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\nearly|"
	if got := s.MetricValue("sluice_client_bytes_received_total", map[string]string{"listener": s.Addr("@L1@")}); int(got) != len(req)+len("pingsecond message") {
		t.Errorf("bytes received %v, want %d", got, len(req)+len("pingsecond message"))
	}
}

// TestH1BodilessResponses: HEAD, 204 and 304 answers carry no body even
// when the backend's head announces one, and the next pipelined response
// is framed correctly after them.
func TestH1BodilessResponses(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "11")
			io.WriteString(w, "hello world")
		}
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("HEAD /page HTTP/1.1\r\nHost: app.test\r\n\r\n" +
		"GET /204 HTTP/1.1\r\nHost: app.test\r\n\r\n" +
		"GET /304 HTTP/1.1\r\nHost: app.test\r\nIf-None-Match: \"v1\"\r\n\r\n" +
		"HEAD /none HTTP/1.1\r\nHost: unknown.test\r\n\r\n" +
		"GET /page HTTP/1.1\r\nHost: app.test\r\n\r\n")
	h := c.ReadHead()
	if !strings.HasPrefix(h, "HTTP/1.1 200") || headerValue(h, "Content-Length") != "11" {
		t.Fatalf("HEAD: %q (want the GET's Content-Length)", h)
	}
	h = c.ReadHead()
	if !strings.HasPrefix(h, "HTTP/1.1 204") || headerValue(h, "Content-Length") != "" || headerValue(h, "Transfer-Encoding") != "" {
		t.Fatalf("204: %q", h)
	}
	h = c.ReadHead()
	if !strings.HasPrefix(h, "HTTP/1.1 304") || headerValue(h, "Transfer-Encoding") != "" || headerValue(h, "ETag") != `"v1"` {
		t.Fatalf("304: %q", h)
	}
	h = c.ReadHead() // sluice's own 404 page, without its body for HEAD
	if !strings.HasPrefix(h, "HTTP/1.1 404") || headerValue(h, "Content-Length") == "" {
		t.Fatalf("HEAD 404: %q", h)
	}
	r := c.ReadResponse("GET")
	if r.StatusCode != 200 || r.Body != "hello world" {
		t.Fatalf("after bodiless answers: %d %q", r.StatusCode, r.Body)
	}
}

// TestH1HeadTooLarge: a request head over max_header_bytes is answered 431
// and the connection closed; the backend never sees it.
func TestH1HeadTooLarge(t *testing.T) {
	be := StartBackend(t, nil)
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: " + strings.Repeat("a", 17<<10) + "\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 431 {
		t.Fatalf("status %d, want 431", r.StatusCode)
	}
	c.ExpectClosed()
	// Just under the limit passes.
	c = Dial(t, s.Addr("@L1@"))
	c.Send("GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: " + strings.Repeat("a", 15<<10) + "\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("status %d, want 200", r.StatusCode)
	}
	if n := len(be.Requests()); n != 1 {
		t.Fatalf("backend saw %d requests, want 1", n)
	}
	r := waitRecord(t, s, func(r logRecord) bool { return r.num("status") == 431 })
	if r.str("message") != "request_header_too_large" {
		t.Errorf("431 logged with message %q", r.str("message"))
	}
}

// TestH1HeaderCountLimit: more fields than max_header_count is refused.
func TestH1HeaderCountLimit(t *testing.T) {
	be := StartBackend(t, nil)
	s := StartWith(t, strings.Replace(oneCluster(`{ address = "@BE@" }`), `protocol = "http"`, "protocol = \"http\"\nmax_header_count = 10", 1), map[string]string{"BE": be.Addr}, nil)
	fields := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "X-F%d: v\r\n", i)
		}
		return b.String()
	}
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n" + fields(9) + "\r\n") // 10 with Host
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("10 fields: %d, want 200", r.StatusCode)
	}
	c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n" + fields(10) + "\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 431 {
		t.Fatalf("11 fields: %d, want 431", r.StatusCode)
	}
	c.ExpectClosed()
	if n := len(be.Requests()); n != 1 {
		t.Fatalf("backend saw %d requests, want 1", n)
	}
}

// TestH1BackendConnectionClose: a backend that closes after each response
// (Connection: close) costs a backend connection per request but never
// the client's keep-alive connection: Connection is hop-by-hop.
func TestH1BackendConnectionClose(t *testing.T) {
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	for i := range 3 {
		c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
		r := c.ReadResponse("GET")
		if r.StatusCode != 200 || r.Body != "hello" || r.Close {
			t.Fatalf("request %d: %d %q close=%v", i, r.StatusCode, r.Body, r.Close)
		}
	}
	if n := be.Conns(); n != 3 {
		t.Errorf("backend connections %d, want 3", n)
	}
}

// TestH1BadBackendResponse: a backend response that is malformed or
// smuggling-prone is never relayed: the client gets 502.
func TestH1BadBackendResponse(t *testing.T) {
	for name, resp := range map[string]string{
		"cl_and_te":    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"two_cl":       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"bare_lf":      "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
		"not_http":     "SSH-2.0-OpenSSH\r\n\r\n",
		"huge_head":    "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 20<<10) + "\r\n\r\n",
		"bad_chunking": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			be := StartRawBackend(t, func(c net.Conn) {
				if _, err := readHead(c); err != nil {
					return
				}
				io.WriteString(c, resp)
				io.Copy(io.Discard, c)
			})
			s := startOne(t, be.Addr, nil)
			c := Dial(t, s.Addr("@L1@"))
			c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
			r, err := c.TryReadResponse("GET")
			if name == "bad_chunking" {
				// The head was already relayed: the only safe move left is
				// to cut the connection before the bad chunk.
				if err == nil {
					t.Fatalf("a response with a bad chunk was relayed whole: %d %q", r.StatusCode, r.Body)
				}
				return
			}
			if err != nil || r.StatusCode != 502 {
				t.Fatalf("got %v %v, want 502", r, err)
			}
			rec := waitRecord(t, s, func(r logRecord) bool { return r.num("status") == 502 })
			if rec.str("message") != "backend_bad_response" {
				t.Errorf("logged as %v", rec)
			}
		})
	}
}
