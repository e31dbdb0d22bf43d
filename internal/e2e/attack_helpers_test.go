package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/config"
)

// The hostile-client suite (issue 6, DESIGN.md 3.6 and 3.7): each attack
// runs over a real socket against a running sluice and asserts the
// reaction on the wire (frame and error code), the metric that counts
// it, and that a well-behaved client on another connection to the same
// listener is served throughout. Every attack loop is bounded in count
// and every socket operation by a deadline.

// attackTarget is a running sluice with one plain listener (@L1@: HTTP/1.1
// and h2c) in front of a backend that counts what reaches it.
type attackTarget struct {
	*Sluice
	addr string
	be   *Backend

	attackRequests atomic.Int64 // requests to /attack... that reached the backend
}

const attackConfig = `
access_log = "stdout"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "127.0.0.1" } ]
backends = [ { address = "@BE@" } ]
`

// startAttackTarget starts the backend and sluice; tweak adjusts the
// listener (limits, sub-second timeouts) before sluice starts.
//
// The backend answers /good with "good", /big with 1 MiB, /slow after
// 200 ms, anything else at once; requests whose path starts with /attack
// are counted.
func startAttackTarget(t *testing.T, tweak func(l *config.Listener)) *attackTarget {
	t.Helper()
	at := &attackTarget{}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	at.be = StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/attack") {
			at.attackRequests.Add(1)
		}
		switch {
		case r.URL.Path == "/good":
			io.WriteString(w, "good")
		case r.URL.Path == "/big":
			w.Write(big)
		case strings.HasSuffix(r.URL.Path, "/slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			io.WriteString(w, "slow")
		default:
			io.WriteString(w, "ok")
		}
	})
	at.Sluice = StartWith(t, attackConfig, map[string]string{"BE": at.be.Addr}, func(c *config.Config) {
		if tweak != nil {
			for _, l := range c.Listeners {
				tweak(l)
			}
		}
	})
	at.addr = at.Addr("@L1@")
	return at
}

// metric returns the value of one series.
func (at *attackTarget) metric(name string, labels ...string) float64 {
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	return at.MetricValue(name, m)
}

// wantMetric waits until a counter reaches at least min.
func (at *attackTarget) wantMetric(t *testing.T, min float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := at.metric(name, labels...)
		if v >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want at least %v", name, labels, v, min)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantFlood waits for sluice_h2_flood_violations_total{kind} to count n.
func (at *attackTarget) wantFlood(t *testing.T, kind string, n float64) {
	t.Helper()
	at.wantMetric(t, n, "sluice_h2_flood_violations_total", "kind", kind)
}

// goodClient is a well-behaved HTTP/2 client (Go's Transport) on its own
// connection to the listener, fetching /good in a loop while an attack
// runs. Every answer must be a 200 "good".
type goodClient struct {
	t      *testing.T
	c      *http.Client
	url    string
	stop   chan struct{}
	done   chan struct{}
	ok     atomic.Int64
	mu     sync.Mutex
	errors []string
}

// serveGoodClient starts the client and checks it is served before the
// attack begins.
func serveGoodClient(t *testing.T, addr string) *goodClient {
	t.Helper()
	return startGood(t, H2CClient(addr), "http://127.0.0.1/good")
}

// serveGoodH1Client is serveGoodClient over HTTP/1.1.
func serveGoodH1Client(t *testing.T, addr string) *goodClient {
	t.Helper()
	return startGood(t, H1Client(addr, nil, ""), "http://127.0.0.1/good")
}

func startGood(t *testing.T, c *http.Client, url string) *goodClient {
	t.Helper()
	g := &goodClient{t: t, c: c, url: url, stop: make(chan struct{}), done: make(chan struct{})}
	if err := g.once(); err != nil {
		t.Fatalf("good client before the attack: %v", err)
	}
	go func() {
		defer close(g.done)
		// Bounded: at most 2000 requests, one every 10 ms.
		for i := 0; i < 2000; i++ {
			select {
			case <-g.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if err := g.once(); err != nil {
				g.mu.Lock()
				g.errors = append(g.errors, err.Error())
				g.mu.Unlock()
			}
		}
	}()
	t.Cleanup(g.halt)
	return g
}

// during runs attack again and again, each run on a fresh connection,
// until the good client has been served three times since the first run
// began (so attack and good traffic really overlap) and at least minRuns
// runs are done. Bounded: at most 200 runs or 15 s. It returns the runs.
func (g *goodClient) during(minRuns int, attack func(run int)) int {
	g.t.Helper()
	start := g.ok.Load()
	deadline := time.Now().Add(15 * time.Second)
	runs := 0
	for ; runs < 200 && time.Now().Before(deadline); runs++ {
		if runs >= minRuns && g.ok.Load()-start >= 3 {
			break
		}
		attack(runs)
		if g.t.Failed() {
			break
		}
	}
	if g.ok.Load()-start < 3 {
		g.t.Errorf("good client served %d times during %d attack runs", g.ok.Load()-start, runs)
	}
	return runs
}

func (g *goodClient) once() error {
	resp, err := g.c.Get(g.url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != "good" {
		return fmt.Errorf("got %d %q", resp.StatusCode, body)
	}
	g.ok.Add(1)
	return nil
}

func (g *goodClient) halt() {
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	<-g.done
}

// check stops the loop, makes one last request, and fails the test if
// any request of the good client failed during the attack.
func (g *goodClient) check() {
	g.t.Helper()
	g.halt()
	if err := g.once(); err != nil {
		g.t.Fatalf("good client after the attack: %v", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errors) > 0 {
		g.t.Fatalf("good client failed %d times during the attack (%d served): %s", len(g.errors), g.ok.Load(), strings.Join(g.errors, "; "))
	}
}

// attacker is a raw HTTP/2 client that sends frames in bulk, one write
// per burst as an attacker at full speed does, and tolerates the server
// closing under it.
type attacker struct {
	*rawH2
	hbuf bytes.Buffer
	henc *hpack.Encoder
}

// dialAttacker connects and completes the preface exchange. initWindow
// is the SETTINGS_INITIAL_WINDOW_SIZE announced (0: 1 GiB, wide open).
func dialAttacker(t *testing.T, addr string, initWindow uint32) *attacker {
	t.Helper()
	a := &attacker{rawH2: dialRaw(t, addr, initWindow, true)}
	a.henc = hpack.NewEncoder(&a.hbuf)
	return a
}

// dialRaw is dialRawH2 with the initial window and the ACK of the
// server's SETTINGS chosen by the caller.
func dialRaw(t *testing.T, addr string, initWindow uint32, ack bool) *rawH2 {
	t.Helper()
	if initWindow == 0 {
		initWindow = 1 << 30
	}
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { nc.Close() })
	c := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc), dec: hpack.NewDecoder(4096, nil)}
	c.fr.ReadMetaHeaders = c.dec
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.encBuf)
	io.WriteString(nc, http2.ClientPreface)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: initWindow})
	c.fr.WriteWindowUpdate(0, 1<<30)
	gotSettings, gotAck := false, !ack
	for !gotSettings || !gotAck {
		f := c.read()
		if sf, ok := f.(*http2.SettingsFrame); ok {
			if sf.IsAck() {
				gotAck = true
			} else {
				gotSettings = true
				if ack {
					c.fr.WriteSettingsAck()
				}
			}
		}
	}
	return c
}

// block HPACK-encodes name, value pairs with the attacker's encoder (its
// dynamic table follows the order blocks are encoded in, which must be
// the order they are sent in).
func (a *attacker) block(kv ...string) []byte {
	a.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		a.henc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(a.hbuf.Bytes())
}

// literalBlock is block with the regular fields encoded as never-indexed
// literals: they leave the dynamic table as it was.
func (a *attacker) literalBlock(method, path string, kv ...string) []byte {
	a.hbuf.Reset()
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}} {
		a.henc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(kv); i += 2 {
		a.henc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1], Sensitive: true})
	}
	return bytes.Clone(a.hbuf.Bytes())
}

// reqBlock encodes a request head for path with extra fields.
func (a *attacker) reqBlock(method, path string, extra ...string) []byte {
	return a.block(append([]string{":method", method, ":scheme", "http", ":authority", "127.0.0.1", ":path", path}, extra...)...)
}

// burst collects frames and sends them in one write.
type burst struct {
	buf bytes.Buffer
	fr  *http2.Framer
}

func newBurst() *burst {
	b := &burst{}
	b.fr = http2.NewFramer(&b.buf, nil)
	b.fr.AllowIllegalWrites = true
	return b
}

// headers appends a HEADERS frame carrying a whole block.
func (b *burst) headers(id uint32, endStream bool, block []byte) {
	b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: endStream, EndHeaders: true})
}

// send writes the burst. A write error is returned, not fatal: the
// server may close the connection before reading all of it.
func (a *attacker) send(b *burst) error {
	_, err := a.nc.Write(b.buf.Bytes())
	b.buf.Reset()
	return err
}

// frames reads frames until the connection ends (or the deadline) and
// returns them; the error says how reading ended (io.EOF for a clean
// close).
func (c *rawH2) frames() ([]http2.Frame, error) {
	var out []http2.Frame
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return out, err
		}
		// The framer reuses frame structs: keep what tests look at.
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			g := *f
			out = append(out, &g)
		case *http2.RSTStreamFrame:
			r := *f
			out = append(out, &r)
		case *http2.MetaHeadersFrame:
			out = append(out, f)
		default:
			out = append(out, f)
		}
	}
}

// wantGoAway reads until the server's GOAWAY, checks its code, and then
// that the connection closes (the GOAWAY is flushed before the close).
// It returns the frames read before the GOAWAY.
func (c *rawH2) wantGoAway(t *testing.T, code http2.ErrCode) ([]http2.Frame, *http2.GoAwayFrame) {
	t.Helper()
	var before []http2.Frame
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY(%v): %v (frames before: %s)", code, err, frameSummary(before))
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			gc := *g
			if g.ErrCode != code {
				t.Fatalf("GOAWAY(%v, last %d, %q), want %v", g.ErrCode, g.LastStreamID, g.DebugData(), code)
			}
			c.wantClosed(t)
			return before, &gc
		}
		before = append(before, summarize(f))
	}
}

// wantClosed reads until the server closes the connection; only frames
// may arrive first.
func (c *rawH2) wantClosed(t *testing.T) {
	t.Helper()
	for {
		_, err := c.fr.ReadFrame()
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		t.Fatalf("connection not closed after GOAWAY: %v", err)
	}
}

// summarize copies what a failure message needs out of a frame the
// framer will reuse.
func summarize(f http2.Frame) http2.Frame {
	switch f := f.(type) {
	case *http2.RSTStreamFrame:
		r := *f
		return &r
	case *http2.GoAwayFrame:
		g := *f
		return &g
	}
	return f
}

func frameSummary(fs []http2.Frame) string {
	counts := map[string]int{}
	var order []string
	for _, f := range fs {
		k := f.Header().Type.String()
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s x%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// countRST returns the RST_STREAM frames among fs, by code.
func countRST(fs []http2.Frame) map[http2.ErrCode]int {
	m := map[http2.ErrCode]int{}
	for _, f := range fs {
		if r, ok := f.(*http2.RSTStreamFrame); ok {
			m[r.ErrCode]++
		}
	}
	return m
}
