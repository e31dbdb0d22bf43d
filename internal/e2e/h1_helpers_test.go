package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
)

// oneCluster is the config of most HTTP/1.1 tests: one plain listener, one
// cluster "app" reached as 127.0.0.1 or app.test, its backends given as
// TOML (the body of the backends array).
func oneCluster(backends string) string {
	return `
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "127.0.0.1" },
  { address = "@L1@", hostname = "app.test" },
]
backends = [ ` + backends + ` ]
`
}

// startOne starts sluice in front of one backend address.
func startOne(t *testing.T, beAddr string, tweak func(*config.Config)) *Sluice {
	t.Helper()
	return StartWith(t, oneCluster(`{ address = "@BE@" }`), map[string]string{"BE": beAddr}, tweak)
}

// timeouts returns a tweak setting the listeners' timeouts (zero keeps the
// configured value).
func timeouts(front, request, back, connect time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		for _, l := range c.Listeners {
			if front > 0 {
				l.FrontTimeout = front
			}
			if request > 0 {
				l.RequestTimeout = request
			}
			if back > 0 {
				l.BackTimeout = back
			}
			if connect > 0 {
				l.ConnectTimeout = connect
			}
		}
	}
}

// get sends a GET through sluice with a plain net/http client.
func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

// newClient returns a net/http client with its own keep-alive pool.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, ResponseHeaderTimeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// namedBackend answers 200 with its name as the body.
func namedBackend(t *testing.T, name string) *Backend {
	return StartBackend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })
}

// logRecord is one parsed access-log line.
type logRecord map[string]any

func (r logRecord) str(k string) string { s, _ := r[k].(string); return s }
func (r logRecord) num(k string) float64 {
	f, _ := r[k].(float64)
	return f
}

// records parses the access log.
func records(t *testing.T, lines []string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, l := range lines {
		var r logRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// waitRecord waits for an access-log record matching pred.
func waitRecord(t *testing.T, s *Sluice, pred func(logRecord) bool) logRecord {
	t.Helper()
	var found logRecord
	Eventually(t, "access log record", func() bool {
		for _, r := range records(t, s.AccessLog()) {
			if pred(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// recordingBackend is a raw backend that records every byte each
// connection sent and never answers: smuggling tests assert it saw nothing.
type recordingBackend struct {
	*RawBackend
	mu   sync.Mutex
	got  bytes.Buffer
	done int // connections whose handler returned
}

func startRecordingBackend(t *testing.T) *recordingBackend {
	rb := &recordingBackend{}
	rb.RawBackend = StartRawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			rb.mu.Lock()
			rb.got.Write(buf[:n])
			if err != nil {
				rb.done++
			}
			rb.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	return rb
}

func (rb *recordingBackend) handled() int {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return rb.done
}

func (rb *recordingBackend) received() string {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return rb.got.String()
}

// readHead reads a request head from a raw backend connection.
func readHead(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(b, []byte("\r\n\r\n")) {
		if _, err := c.Read(one); err != nil {
			return string(b), err
		}
		b = append(b, one[0])
	}
	return string(b), nil
}

// headerValue returns a field's value from a raw head ("" when absent).
func headerValue(head, name string) string {
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}
