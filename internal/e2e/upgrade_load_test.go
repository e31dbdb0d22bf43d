package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// The acceptance test of issue 8: while a load client sends requests over
// HTTP/1.1, h2c, HTTP/1.1+TLS and h2+TLS, backends are added and removed,
// a cluster is added, a certificate is replaced, the config is reloaded
// with a change and the binary is upgraded once — through `sluice ctl`
// against a real sluice process. The load client must see no failed
// request and no connection error; graceful GOAWAYs are counted.

// loadBackend is an HTTP/1.1 server answering "ok NAME" and counting.
type loadBackend struct {
	name string
	addr string
	hits atomic.Int64
}

func startLoadBackend(t *testing.T, name string) *loadBackend {
	t.Helper()
	b := &loadBackend{name: name}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "ok %s", b.name)
	}))
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	b.addr = strings.TrimPrefix(srv.URL, "http://")
	return b
}

// goawayCounter counts the GOAWAY frames a server sends on an HTTP/2
// connection, by following the frame headers of the byte stream.
type goawayCounter struct {
	net.Conn
	count *atomic.Int64
	hdr   [9]byte
	have  int
	skip  int
}

func (c *goawayCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	b := p[:n]
	for len(b) > 0 {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.have:], b)
		c.have += k
		b = b[k:]
		if c.have == len(c.hdr) {
			if http2.FrameType(c.hdr[3]) == http2.FrameGoAway {
				c.count.Add(1)
			}
			c.skip = int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
			c.have = 0
		}
	}
	return n, err
}

// tlsCounter is a goawayCounter over TLS that still reports its TLS state
// to the http2 transport.
type tlsCounter struct {
	*goawayCounter
	tc *tls.Conn
}

func (c tlsCounter) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// loadStats are the load client's counts.
type loadStats struct {
	ok, failed, dials, goaways atomic.Int64
	mu                         sync.Mutex
	errs                       []string
}

func (s *loadStats) fail(format string, args ...any) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 20 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

// loadClients builds one client per kind: HTTP/1.1 and h2c on the http
// listener, HTTP/1.1 and h2 over TLS on the https one.
func loadClients(httpAddr, httpsAddr string, st *loadStats) map[string]*http.Client {
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		st.dials.Add(1)
		d := net.Dialer{Timeout: 5 * time.Second}
		return d.DialContext(ctx, "tcp", addr)
	}
	tlsCfg := &tls.Config{ServerName: "app.test", InsecureSkipVerify: true}
	h1 := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, httpAddr) },
		MaxIdleConnsPerHost: 16,
	}
	h1tls := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, httpsAddr) },
		TLSClientConfig:     tlsCfg.Clone(),
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		MaxIdleConnsPerHost: 16,
	}
	h1tls.TLSClientConfig.NextProtos = []string{"http/1.1"}
	h2c := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) {
			c, err := dial(ctx, httpAddr)
			if err != nil {
				return nil, err
			}
			return &goawayCounter{Conn: c, count: &st.goaways}, nil
		},
	}
	h2tls := &http2.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) {
			c, err := dial(ctx, httpsAddr)
			if err != nil {
				return nil, err
			}
			cfg := tlsCfg.Clone()
			cfg.NextProtos = []string{"h2"}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tlsCounter{goawayCounter: &goawayCounter{Conn: tc, count: &st.goaways}, tc: tc}, nil
		},
	}
	mk := func(rt http.RoundTripper) *http.Client { return &http.Client{Transport: rt, Timeout: 15 * time.Second} }
	return map[string]*http.Client{
		"h1": mk(h1), "h1+tls": mk(h1tls), "h2c": mk(h2c), "h2+tls": mk(h2tls),
	}
}

// reservePort reserves a loopback address for a process to bind.
func reservePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// servedFingerprint returns the SHA-256 of the leaf an https listener
// serves to a new handshake.
func servedFingerprint(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "app.test", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

func fileFingerprint(c *Cert) string {
	sum := sha256.Sum256(c.TLS.Certificate[0])
	return hex.EncodeToString(sum[:])
}

const upgradeCfg = `
admin_socket = "@DIR@/admin.sock"
saved_state = "@DIR@/saved.toml"
access_log = "off"
log_level = "info"

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
  { address = "@L1@", hostname = "app.test" },
  { address = "@L2@", hostname = "app.test" },
]
backends = [
  { address = "@B1@", id = "b1" },
  { address = "@B2@", id = "b2" },
]
`

func TestUpgradeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it under load")
	}
	bin := BuildSluice(t)
	dir := t.TempDir()
	certA, certA2 := NewCert(t, "app.test", "extra.test"), NewCert(t, "app.test", "extra.test")
	bs := map[string]*loadBackend{}
	for _, n := range []string{"b1", "b2", "b3", "b4", "b5"} {
		bs[n] = startLoadBackend(t, n)
	}
	l1, l2 := reservePort(t), reservePort(t)
	render := func(text string) string {
		r := strings.NewReplacer("@DIR@", dir, "@L1@", l1, "@L2@", l2, "@CERT@", certA.CertFile, "@KEY@", certA.KeyFile,
			"@B1@", bs["b1"].addr, "@B2@", bs["b2"].addr)
		return r.Replace(text)
	}
	cfgFile := filepath.Join(dir, "sluice.toml")
	os.WriteFile(cfgFile, []byte(render(upgradeCfg)), 0o600)
	sock := filepath.Join(dir, "admin.sock")
	p := StartProc(t, bin, cfgFile, sock, filepath.Join(dir, "sluice.log"))
	oldPID := p.PID()
	ctl := func(args ...string) string {
		t.Helper()
		out, err := p.Ctl(args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, p.ReadLog())
		}
		return out
	}

	// The load: every kind of client, several workers each, until stop.
	st := &loadStats{}
	clients := loadClients(l1, l2, st)
	var extraLive atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for kind, c := range clients {
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					host, want := "app.test", "ok b"
					if w == 0 && i%2 == 1 && extraLive.Load() {
						host, want = "extra.test", "ok b4"
					}
					req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/load", nil)
					if strings.HasSuffix(kind, "tls") {
						req.URL.Scheme = "https"
					}
					req.Host = host
					resp, err := c.Do(req)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						st.fail("%s %s: %v", kind, host, err)
						continue
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case err != nil && ctx.Err() != nil:
						return
					case err != nil:
						st.fail("%s %s: reading the body: %v", kind, host, err)
					case resp.StatusCode != 200 || !strings.HasPrefix(string(body), want):
						st.fail("%s %s: %d %q", kind, host, resp.StatusCode, body)
					default:
						st.ok.Add(1)
					}
				}
			}()
		}
	}
	step := func(what string, f func()) {
		t.Helper()
		time.Sleep(400 * time.Millisecond) // let traffic flow in between
		before := st.ok.Load()
		f()
		t.Logf("%-34s ok so far %d (+%d), failed %d", what, st.ok.Load(), st.ok.Load()-before, st.failed.Load())
	}

	step("backend add b3", func() { ctl("backend", "add", "--cluster", "app", "--address", bs["b3"].addr, "--id", "b3") })
	var b1Removed int64
	step("backend remove b1", func() {
		ctl("backend", "remove", "--cluster", "app", "--address", bs["b1"].addr)
	})
	step("cluster add extra", func() {
		ctl("cluster", "add", "--cluster", "extra", "--load-balancing", "least_loaded")
		ctl("backend", "add", "--cluster", "extra", "--address", bs["b4"].addr, "--id", "b4", "--weight", "10")
		ctl("frontend", "add", "--cluster", "extra", "--address", l1, "--hostname", "extra.test")
		ctl("frontend", "add", "--cluster", "extra", "--address", l2, "--hostname", "extra.test")
		extraLive.Store(true)
		b1Removed = bs["b1"].hits.Load()
	})
	step("certificate replace", func() {
		ctl("cert", "add", "--address", l2, "--cert", certA2.CertFile, "--key", certA2.KeyFile, "--replace", certA.CertFile)
		if got := servedFingerprint(t, l2); got != fileFingerprint(certA2) {
			t.Errorf("after the replacement the listener serves %s, want the new certificate", got[:16])
		}
	})
	step("reload with a change", func() {
		// The file becomes the live state (sluice ctl state --toml) plus
		// one more backend.
		live := ctl("state", "--toml")
		edited := strings.Replace(live, "backends = [{address = '"+bs["b2"].addr+"'",
			"backends = [{address = '"+bs["b5"].addr+"', id = 'b5', weight = 100}, {address = '"+bs["b2"].addr+"'", 1)
		if edited == live {
			t.Fatalf("could not edit the state:\n%s", live)
		}
		os.WriteFile(cfgFile, []byte(edited), 0o600)
		if out := ctl("reload"); !strings.Contains(out, "ok: reload") {
			t.Errorf("reload: %s", out)
		}
	})
	var newPID int
	step("upgrade", func() {
		out := ctl("upgrade")
		if !strings.Contains(out, "took over") {
			t.Fatalf("upgrade: %s", out)
		}
		newPID = p.PID()
		if newPID == oldPID {
			t.Fatalf("still pid %d after the upgrade", oldPID)
		}
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Errorf("the old process exited with %d, want 0 after its drain", code)
		}
	})
	step("backend remove b2 (new process)", func() {
		ctl("backend", "remove", "--cluster", "app", "--address", bs["b2"].addr)
	})
	time.Sleep(time.Second)
	cancel()
	wg.Wait()

	// The verdict.
	t.Logf("requests ok %d, failed %d, connections dialed %d, GOAWAYs received %d", st.ok.Load(), st.failed.Load(), st.dials.Load(), st.goaways.Load())
	for n, b := range bs {
		t.Logf("backend %s: %d requests", n, b.hits.Load())
	}
	if st.failed.Load() != 0 {
		t.Errorf("%d requests failed:\n%s\n--- sluice log ---\n%s", st.failed.Load(), strings.Join(st.errs, "\n"), p.ReadLog())
	}
	if st.ok.Load() < 1000 {
		t.Errorf("only %d requests succeeded: the load was too light to prove anything", st.ok.Load())
	}
	if st.goaways.Load() == 0 {
		t.Error("no HTTP/2 connection saw a GOAWAY: the upgrade did not drain the old process's sessions")
	}
	if got := bs["b1"].hits.Load(); got != b1Removed {
		t.Errorf("b1 got %d requests after its removal", got-b1Removed)
	}
	for _, n := range []string{"b3", "b4", "b5"} {
		if bs[n].hits.Load() == 0 {
			t.Errorf("backend %s, added at run time, got no request", n)
		}
	}
	if len(p.LogLines("upgrade: took over")) != 1 {
		t.Errorf("the log does not show one hand-over:\n%s", p.ReadLog())
	}

	// The new process stops cleanly too.
	if out := ctl("shutdown"); !strings.Contains(out, "shutting down") {
		t.Errorf("shutdown: %s", out)
	}
	if !WaitGone(newPID, 30*time.Second) {
		t.Errorf("the new process (pid %d) did not exit", newPID)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind: %v", err)
	}
}
