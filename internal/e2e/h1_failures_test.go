package e2e

// Backend failures end to end (issue 2 item 7): failover after connect
// failures with health tracking, the 502/503/504 default answers, and the
// replay rules.

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
)

// TestH1ConnectFailureFailover: a refused backend is skipped (the request
// goes to the other one), marked down, counted, and brought back once it
// listens again and its backoff ran out.
func TestH1ConnectFailureFailover(t *testing.T) {
	dead := RefusedAddr(t)
	live := namedBackend(t, "live")
	s := StartWith(t, `
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "127.0.0.1" } ]
backends = [
  { address = "@DEAD@", id = "dead" },
  { address = "@LIVE@", id = "live" },
]
`, map[string]string{"DEAD": dead, "LIVE": live.Addr}, func(c *config.Config) {
		c.Clusters[0].HealthBackoffMin = 200 * time.Millisecond
		c.Clusters[0].HealthBackoffMax = 400 * time.Millisecond
	})
	up := func(id string) float64 {
		return s.MetricValue("sluice_backend_up", map[string]string{"cluster": "app", "backend": id})
	}
	if up("dead") != 1 || up("live") != 1 {
		t.Fatalf("backends start up: dead=%v live=%v", up("dead"), up("live"))
	}
	got := sequence(t, s, 6)
	if count(got, "live") != 6 {
		t.Fatalf("answers %v, want all from live", got)
	}
	if up("dead") != 0 {
		t.Fatalf("sluice_backend_up{dead} = %v after a refused connect, want 0", up("dead"))
	}
	if n := s.MetricValue("sluice_backend_connect_failures_total", map[string]string{"backend": "dead"}); n < 1 {
		t.Fatalf("connect failures of dead = %v, want >= 1", n)
	}
	if n := s.MetricValue("sluice_backend_retries_total", map[string]string{"reason": "connect_failed"}); n < 1 {
		t.Fatalf("retries = %v", n)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.num("retries") >= 1 })
	if rec.num("status") != 200 || rec.str("backend") != "live" {
		t.Errorf("retried request logged as %v", rec)
	}

	// The dead backend comes back on its address.
	ln, err := net.Listen("tcp", dead)
	if err != nil {
		t.Skipf("cannot rebind %s: %v", dead, err)
	}
	revived := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					if _, err := readHead(c); err != nil {
						return
					}
					revived <- struct{}{}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndead")
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	c := newClient(t)
	Eventually(t, "the revived backend to take requests again", func() bool {
		_, body, _ := get(t, c, "http://"+s.Addr("@L1@")+"/")
		return body == "dead"
	})
	if up("dead") != 1 {
		t.Fatalf("sluice_backend_up{dead} = %v after it answered again, want 1", up("dead"))
	}
}

// TestH1BackendReset502: a backend that resets the connection without
// answering yields 502 backend_reset; one that dies mid-body makes sluice
// cut the client connection (the response cannot be completed).
func TestH1BackendReset502(t *testing.T) {
	be := StartRawBackend(t, func(c net.Conn) {
		head, err := readHead(c)
		if err != nil {
			return
		}
		if strings.HasPrefix(head, "GET /midbody") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
		}
		c.(*net.TCPConn).SetLinger(0) // RST
	})
	s := startOne(t, be.Addr, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /reset HTTP/1.1\r\nHost: app.test\r\n\r\n")
	r := c.ReadResponse("GET")
	if r.StatusCode != 502 || !strings.Contains(r.Body, "502") {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
	// A default answer keeps the client connection when the request was
	// fully read.
	c.Send("GET /midbody HTTP/1.1\r\nHost: app.test\r\n\r\n")
	head := c.ReadHead()
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("midbody head %q", head)
	}
	rest, _ := io.ReadAll(c.R)
	if string(rest) != "only ten.." {
		t.Fatalf("midbody: got %q then close, want the 10 bytes then close", rest)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/reset" })
	if rec.num("status") != 502 || rec.str("message") != "backend_reset" {
		t.Errorf("reset logged as %v", rec)
	}
	rec = waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/midbody" })
	if rec.str("message") != "backend_reset" {
		t.Errorf("mid-body reset logged as %v", rec)
	}
}

// TestH1NoLiveBackend503: with every backend marked down, sluice answers
// 503 no_backend without trying; a cluster with no backends at all too.
func TestH1NoLiveBackend503(t *testing.T) {
	s := StartWith(t, `
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "127.0.0.1" } ]
backends = [ { address = "@DEAD@", id = "dead" } ]
[clusters.empty]
frontends = [ { address = "@L1@", hostname = "empty.test" } ]
backends = []
`, map[string]string{"DEAD": RefusedAddr(t)}, func(c *config.Config) {
		for _, cl := range c.Clusters {
			cl.HealthBackoffMin = time.Hour
			cl.HealthBackoffMax = time.Hour
		}
	})
	c := newClient(t)
	url := "http://" + s.Addr("@L1@") + "/"
	if code, _, _ := get(t, c, url); code != 502 {
		t.Fatalf("first request to a refused backend: %d, want 502", code)
	}
	code, body, _ := get(t, c, url)
	if code != 503 || !strings.Contains(body, "503") {
		t.Fatalf("with the only backend down: %d %q, want 503", code, body)
	}
	req := mustRequest(t, "GET", url)
	req.Host = "empty.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	if resp.StatusCode != 503 {
		t.Fatalf("cluster without backends: %d, want 503", resp.StatusCode)
	}
	recs := records(t, s.WaitAccessLog(3))
	if recs[0].str("message") != "backend_connect_failed" || recs[1].str("message") != "no_backend" || recs[2].str("message") != "no_backend" {
		t.Errorf("messages %q %q %q", recs[0].str("message"), recs[1].str("message"), recs[2].str("message"))
	}
	if n := s.MetricValue("sluice_default_answers_total", map[string]string{"status": "503", "reason": "no_backend"}); n != 2 {
		t.Errorf("default answers 503 = %v, want 2", n)
	}
}

// silentBackend reads requests and never answers; it counts request heads.
type silentBackend struct {
	*RawBackend
	mu    sync.Mutex
	heads []string
}

func startSilentBackend(t *testing.T, answerFirst bool) *silentBackend {
	sb := &silentBackend{}
	sb.RawBackend = StartRawBackend(t, func(c net.Conn) {
		for {
			head, err := readHead(c)
			if err != nil {
				return
			}
			sb.mu.Lock()
			sb.heads = append(sb.heads, head)
			first := len(sb.heads) == 1
			sb.mu.Unlock()
			if answerFirst && first {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				continue
			}
			io.Copy(io.Discard, c)
			return
		}
	})
	return sb
}

func (sb *silentBackend) count() int {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return len(sb.heads)
}

// TestH1BackendTimeout504: no response within back_timeout yields 504
// backend_timeout, and a timed-out request is not replayed, even when it is
// idempotent and went out on a reused connection (the backend may still be
// working on it).
func TestH1BackendTimeout504(t *testing.T) {
	be := startSilentBackend(t, true)
	s := startOne(t, be.Addr, timeouts(0, 0, 300*time.Millisecond, 0))
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /first HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if r := c.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("first: %d", r.StatusCode)
	}
	c.Send("GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
	r := c.ReadResponse("GET")
	if r.StatusCode != 504 || !strings.Contains(r.Body, "504") {
		t.Fatalf("got %d %q, want 504", r.StatusCode, r.Body)
	}
	if n := be.count(); n != 2 {
		t.Fatalf("backend received %d requests, want 2 (the timed-out GET must not be replayed)", n)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/slow" })
	if rec.num("status") != 504 || rec.str("message") != "backend_timeout" {
		t.Errorf("logged as %v", rec)
	}
}

// TestH1BackendResponseTimeout: a backend that stalls mid-body is cut off
// after back_timeout; the client sees a truncated response and the access
// log says backend_response_timeout.
func TestH1BackendResponseTimeout(t *testing.T) {
	be := StartRawBackend(t, func(c net.Conn) {
		if _, err := readHead(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
		io.Copy(io.Discard, c)
	})
	s := startOne(t, be.Addr, timeouts(0, 0, 300*time.Millisecond, 0))
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET /stall HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if head := c.ReadHead(); !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("head %q", head)
	}
	if rest, _ := io.ReadAll(c.R); string(rest) != "partial" {
		t.Fatalf("body %q", rest)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.str("path") == "/stall" })
	if rec.str("message") != "backend_response_timeout" {
		t.Errorf("logged as %v", rec)
	}
}

// TestH1NoReplayOfNonIdempotent: a POST whose backend connection dies after
// the request went out is answered 502 and never sent again, while a GET
// in the same situation on a reused keep-alive connection (the idle-close
// race) is retried on a new connection and succeeds.
func TestH1NoReplayOfNonIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name, req  string
		wantStatus int
		wantHeads  int
	}{
		{"post", "POST /pay HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\n42", 502, 2},
		{"post_no_body", "POST /pay HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n", 502, 2},
		{"patch", "PATCH /doc HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n", 502, 2},
		{"get_is_retried", "GET /page HTTP/1.1\r\nHost: app.test\r\n\r\n", 200, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// First request on each connection is answered; the second
			// is read and the connection closed without an answer.
			var mu sync.Mutex
			var heads []string
			be := StartRawBackend(t, func(c net.Conn) {
				for i := 0; ; i++ {
					head, err := readHead(c)
					if err != nil {
						return
					}
					mu.Lock()
					heads = append(heads, strings.SplitN(head, "\r\n", 2)[0])
					mu.Unlock()
					if n := headerValue(head, "Content-Length"); n == "2" {
						io.CopyN(io.Discard, c, 2)
					}
					if i == 1 {
						return // close after reading the request
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			s := startOne(t, be.Addr, nil)
			c := Dial(t, s.Addr("@L1@"))
			c.Send("GET /warm HTTP/1.1\r\nHost: app.test\r\n\r\n")
			if r := c.ReadResponse("GET"); r.StatusCode != 200 {
				t.Fatalf("warm-up %d", r.StatusCode)
			}
			c.Send(tc.req)
			r := c.ReadResponse("GET")
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.wantStatus)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(heads) != tc.wantHeads {
				t.Fatalf("backend saw %q, want %d request heads", heads, tc.wantHeads)
			}
		})
	}
}

// TestH1StaleKeepAliveRetry: a backend closes idle keep-alive connections;
// the next request through sluice must not fail because of it.
func TestH1StaleKeepAliveRetry(t *testing.T) {
	be := StartBackendWith(t, nil, func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	s := startOne(t, be.Addr, nil)
	c := newClient(t)
	for i := range 3 {
		if code, _, _ := get(t, c, "http://"+s.Addr("@L1@")+"/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		// Wait for the backend to close the pooled connection.
		want := i + 1
		Eventually(t, "the backend to close its idle connection", func() bool { return be.ClosedConns() >= want })
	}
	if n := be.Conns(); n != 3 {
		t.Errorf("backend connections %d, want 3", n)
	}
}

// TestH1BackendConnectTimeout: a backend whose accept queue is full
// drops SYNs; the connect times out after connect_timeout and the client
// gets 504 backend_connect_timeout.
func TestH1BackendConnectTimeout(t *testing.T) {
	addr := blackholeAddr(t)
	s := startOne(t, addr, timeouts(0, 0, 0, 300*time.Millisecond))
	c := Dial(t, s.Addr("@L1@"))
	c.Send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
	r := c.ReadResponse("GET")
	if r.StatusCode != 504 {
		t.Fatalf("status %d, want 504", r.StatusCode)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return r.num("status") == 504 })
	if rec.str("message") != "backend_connect_timeout" {
		t.Errorf("logged as %v", rec)
	}
	if ms := rec.num("backend_connect_ms"); ms < 250 {
		t.Errorf("backend_connect_ms = %v, want about the 300 ms connect timeout", ms)
	}
}

// blackholeAddr returns a loopback address that accepts no connection: a
// socket listening with a backlog of 0 whose queue the test fills, so that
// further SYNs are dropped.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// Fill the accept queue until a connect times out.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
		if i > 16 {
			t.Skip("cannot fill the accept queue here")
		}
	}
	return addr
}

// TestH1ConnectRetriesBounded: after connect_retries further attempts the
// request fails with 502 instead of walking every backend.
func TestH1ConnectRetriesBounded(t *testing.T) {
	vars := map[string]string{}
	var list []string
	for i := range 5 {
		k := "D" + strconv.Itoa(i)
		vars[k] = RefusedAddr(t)
		list = append(list, `{ address = "@`+k+`@", id = "d`+strconv.Itoa(i)+`" }`)
	}
	s := StartWith(t, strings.Replace(oneCluster(strings.Join(list, ", ")), "[clusters.app]", "[clusters.app]\nconnect_retries = 2", 1), vars, nil)
	c := newClient(t)
	if code, _, _ := get(t, c, "http://"+s.Addr("@L1@")+"/"); code != 502 {
		t.Fatalf("status %d, want 502", code)
	}
	fails := 0.0
	for i := range 5 {
		fails += s.MetricValue("sluice_backend_connect_failures_total", map[string]string{"backend": "d" + strconv.Itoa(i)})
	}
	if fails != 3 {
		t.Fatalf("%v connect attempts, want 3 (the first and connect_retries = 2 more)", fails)
	}
	rec := waitRecord(t, s, func(r logRecord) bool { return true })
	if rec.str("message") != "backend_connect_failed" || rec.num("retries") != 2 {
		t.Errorf("logged as %v", rec)
	}
}
