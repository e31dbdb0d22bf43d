package e2e

// Access log and metrics end to end (issue 2 item 9), and graceful
// shutdown (item 2).

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestH1AccessLogFields: one line per request with the fields of DESIGN.md
// 3.10, with values that match what happened.
func TestH1AccessLogFields(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789")
	})
	s := StartWith(t, oneCluster(`{ address = "@BE@", id = "app-1" }`), map[string]string{"BE": be.Addr}, nil)
	c := Dial(t, s.Addr("@L1@"))
	c.Send("POST /log/me?q=1 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello")
	if r := c.ReadResponse("POST"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	lines := s.WaitAccessLog(1)
	if len(lines) != 1 {
		t.Fatalf("%d access-log lines, want 1", len(lines))
	}
	rec := records(t, lines)[0]
	for _, k := range []string{"time", "session", "stream", "listener", "client", "proto", "backend_proto", "method", "authority", "path", "status", "bytes_in", "bytes_out", "duration_ms", "backend_connect_ms", "ttfb_ms", "cluster", "backend", "message"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("field %q missing from %s", k, lines[0])
		}
	}
	want := map[string]any{
		"proto": "http/1.1", "backend_proto": "http/1.1", "method": "POST", "authority": "app.test",
		"path": "/log/me?q=1", "status": 200.0, "bytes_in": 5.0, "bytes_out": 10.0,
		"cluster": "app", "backend": "app-1", "message": "", "stream": 0.0, "listener": s.Addr("@L1@"),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if rec.num("session") < 1 || !strings.HasPrefix(rec.str("client"), "127.0.0.1:") {
		t.Errorf("session %v client %q", rec["session"], rec.str("client"))
	}
	if rec.num("duration_ms") < rec.num("ttfb_ms") || rec.num("duration_ms") <= 0 {
		t.Errorf("duration_ms %v ttfb_ms %v", rec["duration_ms"], rec["ttfb_ms"])
	}
	// A second request on the same connection: same session, one more line.
	c.Send("GET /two HTTP/1.1\r\nHost: app.test\r\n\r\n")
	c.ReadResponse("GET")
	recs := records(t, s.WaitAccessLog(2))
	if len(recs) != 2 || recs[1].num("session") != rec.num("session") || recs[1].str("path") != "/two" {
		t.Errorf("second record %v", recs[len(recs)-1])
	}
}

// TestH1Metrics: requests by class, the duration histogram, bytes and
// active connections.
func TestH1Metrics(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
		}
		io.WriteString(w, "body")
	})
	s := startOne(t, be.Addr, nil)
	l := s.Addr("@L1@")
	app := map[string]string{"listener": l, "cluster": "app"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}

	c := Dial(t, l)
	var sent int
	for _, p := range []string{"/a", "/b", "/c", "/fail"} {
		req := "GET " + p + " HTTP/1.1\r\nHost: app.test\r\n\r\n"
		sent += len(req)
		c.Send(req)
		c.ReadResponse("GET")
	}
	// The protocol is known once the first request arrived: the open
	// connection counts as an active HTTP/1.1 connection.
	if v := s.MetricValue("sluice_connections_active", map[string]string{"listener": l, "proto": "http/1.1"}); v != 1 {
		t.Errorf("active connections %v, want 1", v)
	}
	req := "GET /nowhere HTTP/1.1\r\nHost: unknown.test\r\nConnection: close\r\n\r\n"
	sent += len(req)
	c.Send(req)
	c.ReadResponse("GET")
	c.ExpectClosed()

	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{with(app, "class", "2xx"), 3},
		{with(app, "class", "5xx"), 1},
		{map[string]string{"listener": l, "cluster": "", "class": "4xx"}, 1},
	} {
		if v := s.MetricValue("sluice_requests_total", tc.labels); v != tc.want {
			t.Errorf("sluice_requests_total%v = %v, want %v", tc.labels, v, tc.want)
		}
	}
	if v := s.MetricValue("sluice_request_duration_seconds_count", app); v != 4 {
		t.Errorf("duration histogram count = %v, want 4", v)
	}
	if v := s.MetricValue("sluice_request_duration_seconds_bucket", with(app, "le", "+Inf")); v != 4 {
		t.Errorf("duration histogram +Inf bucket = %v, want 4", v)
	}
	if v := s.MetricValue("sluice_client_bytes_received_total", map[string]string{"listener": l}); v != float64(sent) {
		t.Errorf("bytes received %v, want %d", v, sent)
	}
	if v := s.MetricValue("sluice_client_bytes_sent_total", map[string]string{"listener": l}); v < 5*50 {
		t.Errorf("bytes sent %v, want at least the five responses", v)
	}
	Eventually(t, "the closed connection to leave the active gauge", func() bool {
		return s.MetricValue("sluice_connections_active", map[string]string{"listener": l, "proto": "http/1.1"}) == 0
	})
	if v := s.MetricValue("sluice_default_answers_total", map[string]string{"status": "404", "reason": "no_route"}); v != 1 {
		t.Errorf("default 404 answers %v", v)
	}

	// Exact byte accounting on a fresh connection read to its end.
	before := s.MetricValue("sluice_client_bytes_sent_total", map[string]string{"listener": l})
	nc, err := net.Dial("tcp", l)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "GET /x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
	all, _ := io.ReadAll(nc)
	nc.Close()
	if after := s.MetricValue("sluice_client_bytes_sent_total", map[string]string{"listener": l}); after-before != float64(len(all)) {
		t.Errorf("bytes sent grew by %v, the client read %d", after-before, len(all))
	}
}

// TestH1GracefulShutdown: Shutdown while a slow request is in flight stops
// accepting at once, closes idle connections, lets the request complete
// (its response says Connection: close), then closes.
func TestH1GracefulShutdown(t *testing.T) {
	parked := make(chan struct{}, 1)
	release := make(chan struct{})
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			parked <- struct{}{}
			<-release
		}
		io.WriteString(w, "done "+r.URL.Path)
	})
	s := startOne(t, be.Addr, nil)
	l := s.Addr("@L1@")

	idle := Dial(t, l)
	idle.Send("GET /idle HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if r := idle.ReadResponse("GET"); r.StatusCode != 200 {
		t.Fatalf("idle: %d", r.StatusCode)
	}
	busy := Dial(t, l)
	busy.Send("GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
	<-parked

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- s.Shutdown(ctx)
	}()
	Eventually(t, "new connections to be refused", func() bool {
		c, err := net.DialTimeout("tcp", l, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	idle.ExpectClosed()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}

	close(release)
	r := busy.ReadResponse("GET")
	if r.StatusCode != 200 || r.Body != "done /slow" || !r.Close {
		t.Fatalf("in-flight request: %d %q close=%v", r.StatusCode, r.Body, r.Close)
	}
	busy.ExpectClosed()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last request")
	}
}
