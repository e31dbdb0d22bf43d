package e2e

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestH2Load runs h2load -c 16 -m 32 through sluice to an HTTP/1.1
// backend, h2c and TLS, and requires every request to succeed (issue 3
// "Done when"). The full 200,000 requests run in a normal build; under
// -race (ten times slower) and in -short mode the count is scaled down.
func TestH2Load(t *testing.T) {
	h2load := RequireTool(t, "h2load")
	n := 200000
	if raceEnabled || testing.Short() {
		n = 20000
	}
	// A plain backend: the harness's recording one would keep every
	// request in memory.
	var served atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write(loadBody)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s := startH2(t, ln.Addr().String(), "off", nil)
	_, port, _ := net.SplitHostPort(s.tls)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"h2c", []string{"http://" + s.h2c + "/"}},
		{"tls", []string{"--connect-to=" + s.tls, "https://localhost:" + port + "/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-c", "16", "-m", "32", "-n", strconv.Itoa(n), "-T", "30"}, tc.args...)
			out, err := Run(t, 5*time.Minute, h2load, args...)
			m := h2loadSummary.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("h2load: %v, no summary:\n%s", err, out)
			}
			total, _ := strconv.Atoi(m[1])
			succeeded, _ := strconv.Atoi(m[4])
			if total != n || succeeded != n || m[5] != "0" || m[6] != "0" || m[7] != "0" {
				t.Fatalf("h2load %s: %s\n%s", tc.name, m[0], out)
			}
			if want := "status codes: " + strconv.Itoa(n) + " 2xx"; !containsAll(out, want) {
				t.Fatalf("h2load %s: not every answer was 2xx:\n%s", tc.name, out)
			}
			t.Logf("h2load %s: %s", tc.name, m[0])
		})
	}
	if got := served.Load(); got != int64(2*n) && !t.Failed() {
		t.Errorf("backend saw %d requests, want %d", got, 2*n)
	}
}

// loadBody is a small response, as in bench/.
var loadBody = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n")
