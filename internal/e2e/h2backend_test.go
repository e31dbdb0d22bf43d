package e2e

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// h2loadResult parses h2load's summary lines.
type h2loadResult struct{ total, succeeded, failed, errored, timeout, ok2xx int }

var (
	h2loadReqs   = regexp.MustCompile(`requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadStatus = regexp.MustCompile(`status codes: (\d+) 2xx`)
)

func runH2load(t *testing.T, args ...string) h2loadResult {
	t.Helper()
	h2load := RequireTool(t, "h2load")
	out, _ := Run(t, 2*time.Minute, h2load, args...)
	m := h2loadReqs.FindStringSubmatch(out)
	s := h2loadStatus.FindStringSubmatch(out)
	if m == nil || s == nil {
		t.Fatalf("no h2load summary:\n%s", out)
	}
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	return h2loadResult{atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(s[1])}
}

// TestH2BackendGoAwayUnderLoad: a backend that keeps sending GOAWAY with a
// low last-stream-id (every 300 streams per connection, leaving the
// streams in flight unprocessed) while h2load pushes 100 concurrent streams
// through sluice: every client request succeeds, because the unprocessed
// streams are retried on a new connection.
func TestH2BackendGoAwayUnderLoad(t *testing.T) {
	be := StartGoAwayBackend(t, 300)
	s := Start(t, `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
backend_protocol = "h2c"
backend_max_connections = 8
frontends = [ { address = "@L1@", hostname = "localhost" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": be.Addr})
	n := 20000
	if raceEnabled {
		n = 4000
	}
	sum := runH2load(t, "-c", "4", "-m", "25", "-n", strconv.Itoa(n), "--connect-to="+s.Addr("@L1@"), "http://localhost/x")
	if sum.succeeded != n || sum.failed != 0 || sum.errored != 0 || sum.ok2xx != n {
		t.Fatalf("h2load: %+v (want %d succeeded, 0 failed)", sum, n)
	}
	if be.GoAways() < 3 || be.Dropped() == 0 {
		t.Fatalf("the backend sent %d GOAWAYs and dropped %d streams: the test did not exercise retries", be.GoAways(), be.Dropped())
	}
	retries := s.MetricValue("sluice_backend_retries_total", map[string]string{"reason": "refused_stream"})
	if retries < float64(be.Dropped()) {
		t.Fatalf("%v refused-stream retries for %d dropped streams", retries, be.Dropped())
	}
	t.Logf("%d requests, %d GOAWAYs, %d streams dropped and retried (%v retries), %d backend connections",
		n, be.GoAways(), be.Dropped(), retries, be.Conns())
}

// TestH2BackendConnectionBound: h2load with 512 concurrent streams through
// an h2c front to an h2c backend whose MAX_CONCURRENT_STREAMS is 100 opens
// at most ceil(512/100)+1 backend connections.
func TestH2BackendConnectionBound(t *testing.T) {
	const mcs = 100
	be := StartH2Backend(t, false, mcs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	s := Start(t, `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
backend_protocol = "h2c"
backend_max_connections = 64
frontends = [ { address = "@L1@", hostname = "localhost" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": be.Addr})
	n := 50000
	if raceEnabled {
		n = 5000
	}
	const conc = 16 * 32
	sum := runH2load(t, "-c", "16", "-m", "32", "-n", strconv.Itoa(n), "--connect-to="+s.Addr("@L1@"), "http://localhost/x")
	if sum.succeeded != n || sum.ok2xx != n {
		t.Fatalf("h2load: %+v", sum)
	}
	bound := int64(math.Ceil(float64(conc)/mcs)) + 1
	if got := be.Conns(); got > bound {
		t.Fatalf("%d backend connections for %d concurrent streams (MCS %d): bound is %d", got, conc, mcs, bound)
	}
	t.Logf("%d requests, %d concurrent streams, %d backend connections (bound %d)", n, conc, be.Conns(), bound)
	if got := s.MetricValue("sluice_backend_h2_connections", nil); got < 1 {
		t.Errorf("sluice_backend_h2_connections = %v", got)
	}
	_ = fmt.Sprint()
}

// TestH2BackendBlackHoled: a backend process stopped with SIGSTOP accepts
// nothing and answers nothing, but its connections stay open. The PING
// health check (read idle 1 s + ping timeout 1 s) detects it, marks it down,
// and new streams go to the other backend; no client waits longer than
// back_timeout.
func TestH2BackendBlackHoled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts backend processes")
	}
	bin := filepath.Join(t.TempDir(), "backend")
	if out, err := exec.Command("go", "build", "-o", bin, "../../bench/backend").CombinedOutput(); err != nil {
		t.Fatalf("build backend: %v\n%s", err, out)
	}
	start := func() (string, *exec.Cmd) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "-addr", addr, "-h2c")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGCONT)
			cmd.Process.Kill()
			cmd.Wait()
		})
		Eventually(t, "backend listening", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return addr, cmd
	}
	a, cmdA := start()
	b, _ := start()
	s := StartWith(t, `
access_log = "stdout"
[[listeners]]
address = "@L1@"
protocol = "http"
back_timeout = 3
[clusters.app]
backend_protocol = "h2c"
backend_h2_read_idle_timeout = 1
backend_h2_ping_timeout = 1
frontends = [ { address = "@L1@", hostname = "localhost" } ]
backends = [ { address = "@A@", id = "a" }, { address = "@B@", id = "b" } ]
`, map[string]string{"A": a, "B": b}, nil)
	client := H2CClient(s.Addr("@L1@"))
	get := func() (int, time.Duration) {
		t0 := time.Now()
		resp, err := client.Get("http://localhost/x")
		if err != nil {
			return 0, time.Since(t0)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0)
	}
	// Warm both backends' connections.
	for range 10 {
		if st, _ := get(); st != 200 {
			t.Fatalf("warm-up status %d", st)
		}
	}
	if err := cmdA.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var worst time.Duration
	detected := false
	for time.Since(stopped) < 8*time.Second {
		st, d := get()
		worst = max(worst, d)
		if d > 3500*time.Millisecond {
			t.Fatalf("a client waited %v, longer than back_timeout (3 s)", d)
		}
		if st != 200 && st != 502 && st != 504 {
			// A request caught on a's connection fails (504 at
			// back_timeout, or 502 when the PING check closes the
			// connection under it: it may have been processed, so it is
			// not replayed); everything else reaches b.
			t.Fatalf("status %d while backend a is stopped", st)
		}
		if s.MetricValue("sluice_backend_up", map[string]string{"backend": "a"}) == 0 {
			if !detected {
				t.Logf("black-holed backend detected after %v", time.Since(stopped))
			}
			detected = true
		}
		if detected {
			// Detected: new streams go to b only.
			for range 5 {
				if st, _ := get(); st != 200 {
					t.Fatalf("status %d after detection", st)
				}
			}
			break
		}
	}
	if !detected {
		t.Fatalf("backend a was not marked down within 8 s of SIGSTOP (read idle 1 s + ping timeout 1 s)")
	}
	if since := time.Since(stopped); since > 5*time.Second {
		t.Errorf("detection took %v", since)
	}
	t.Logf("slowest request while a was stopped: %v", worst)
}
