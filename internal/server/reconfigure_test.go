package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/state"
)

// Tests of Reconfigure against real sockets: listeners added, removed and
// restarted with new settings, routing swapped, certificates changed,
// and nothing changed when a step fails.

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// backendServer answers "NAME PATH" and counts its requests.
type backendServer struct {
	*httptest.Server
	hits atomic.Int64
}

func startBackend(t testing.TB, name string, h http.HandlerFunc) *backendServer {
	t.Helper()
	b := &backendServer{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(b.Close)
	return b
}

func addrOf(b *backendServer) string { return strings.TrimPrefix(b.URL, "http://") }

// startServer starts a server on cfg (its listeners bound first, so the
// config may use addresses from freeAddr) and stops it at cleanup.
func startServer(t testing.TB, cfg *config.Config) *Server {
	t.Helper()
	config.ApplyDefaults(cfg)
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.AccessLog = "off"
	srv, err := Start(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// get sends GET path with Host host to addr over a fresh connection.
func get(addr, host, path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// baseConfig: one http listener routing app.test to one backend.
func baseConfig(t testing.TB, listen string, backends ...*backendServer) *config.Config {
	lc := config.NewListener(listen, "http")
	cl := config.NewCluster("app")
	cl.Frontends = []*config.Frontend{config.NewFrontend(listen, "app.test")}
	for _, b := range backends {
		cl.Backends = append(cl.Backends, config.NewBackend(addrOf(b)))
	}
	return &config.Config{Listeners: []*config.Listener{lc}, Clusters: []*config.Cluster{cl}}
}

func reconfigure(t testing.TB, srv *Server, edit func(*config.Config)) (*Changes, error) {
	t.Helper()
	next := state.CloneConfig(srv.Live())
	edit(next)
	config.ApplyDefaults(next)
	if err := config.Validate(next); err != nil {
		t.Fatalf("the test's candidate is invalid: %v", err)
	}
	return srv.Reconfigure(next)
}

// TestReconfigureRouting: a backend swap applies at once and a request
// sees the old or the new routing.
func TestReconfigureRouting(t *testing.T) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	addr := freeAddr(t)
	srv := startServer(t, baseConfig(t, addr, a))
	if _, body, err := get(addr, "app.test", "/x"); err != nil || body != "a /x" {
		t.Fatalf("before: %q %v", body, err)
	}
	ch, err := reconfigure(t, srv, func(c *config.Config) {
		c.Clusters[0].Backends = []*config.Backend{config.NewBackend(addrOf(b))}
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 1 || len(ch.ListenersAdded)+len(ch.ListenersRemoved)+len(ch.ListenersReplaced) != 0 {
		t.Errorf("changes = %+v, want only a routing change (version 1)", ch)
	}
	for range 5 {
		if _, body, err := get(addr, "app.test", "/y"); err != nil || body != "b /y" {
			t.Fatalf("after: %q %v", body, err)
		}
	}
}

// TestReconfigureAddRemoveListener: a new listener serves at once; a
// removed one refuses new connections, while a keep-alive connection in
// the middle of a request gets its response, marked Connection: close.
func TestReconfigureAddRemoveListener(t *testing.T) {
	release := make(chan struct{})
	slow := startBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprint(w, "slow done")
	})
	addr1, addr2 := freeAddr(t), freeAddr(t)
	srv := startServer(t, baseConfig(t, addr1, slow))

	ch, err := reconfigure(t, srv, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.NewListener(addr2, "http"))
		c.Clusters[0].Frontends = append(c.Clusters[0].Frontends, config.NewFrontend(addr2, "app.test"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.ListenersAdded) != 1 || ch.ListenersAdded[0] != addr2 {
		t.Fatalf("changes = %+v", ch)
	}
	if code, body, err := get(addr2, "app.test", "/"); err != nil || code != 200 || body != "slow done" {
		t.Fatalf("new listener: %d %q %v", code, body, err)
	}

	// A request in flight on the listener about to go.
	conn, err := net.DialTimeout("tcp", addr2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
	waitFor(t, "the slow request to reach the backend", func() bool { return slow.hits.Load() == 2 })

	ch, err = reconfigure(t, srv, func(c *config.Config) {
		c.Listeners = c.Listeners[:1]
		c.Clusters[0].Frontends = c.Clusters[0].Frontends[:1]
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.ListenersRemoved) != 1 {
		t.Fatalf("changes = %+v", ch)
	}
	if _, err := net.DialTimeout("tcp", addr2, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to the removed listener: %v, want connection refused", err)
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request on the removed listener: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "slow done" || !resp.Close {
		t.Errorf("in-flight response: %d %q close=%v, want 200 \"slow done\" with Connection: close", resp.StatusCode, body, resp.Close)
	}
	if _, _, err := get(addr1, "app.test", "/"); err != nil {
		t.Errorf("the other listener: %v", err)
	}
}

// TestReconfigureReplacesListener: new settings on a live listener start
// a new accept loop on the same socket; connections made before and after
// are served.
func TestReconfigureReplacesListener(t *testing.T) {
	b := startBackend(t, "b", nil)
	addr := freeAddr(t)
	srv := startServer(t, baseConfig(t, addr, b))
	old := srv.listeners[addr]
	ch, err := reconfigure(t, srv, func(c *config.Config) { c.Listeners[0].MaxHeaderCount = 50 })
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.ListenersReplaced) != 1 || srv.listeners[addr] == old {
		t.Fatalf("changes = %+v, listener replaced: %v", ch, srv.listeners[addr] != old)
	}
	for range 3 {
		if code, _, err := get(addr, "app.test", "/"); err != nil || code != 200 {
			t.Fatalf("after the swap: %d %v", code, err)
		}
	}
	if !old.Env().Draining() {
		t.Error("the replaced listener's sessions were not asked to drain")
	}
}

// TestReconfigureFailureChangesNothing: when a listener cannot be bound,
// neither it nor the routing change of the same candidate applies.
func TestReconfigureFailureChangesNothing(t *testing.T) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	addr := freeAddr(t)
	srv := startServer(t, baseConfig(t, addr, a))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	before := srv.Live()
	_, err = reconfigure(t, srv, func(c *config.Config) {
		c.Clusters[0].Backends = []*config.Backend{config.NewBackend(addrOf(b))}
		c.Listeners = append(c.Listeners, config.NewListener(busy.Addr().String(), "http"))
	})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want address already in use", err)
	}
	if srv.Live() != before || srv.State.Current().Version != 0 {
		t.Error("a failed reconfigure changed the live config or state")
	}
	if _, body, err := get(addr, "app.test", "/"); err != nil || body != "a /" {
		t.Errorf("routing after the failure: %q %v, want the old backend", body, err)
	}
}

// TestReconfigureCertificates: certificates are added to the live store,
// the default follows the listener's certificate, and a removed one is no
// longer served to new handshakes.
func TestReconfigureCertificates(t *testing.T) {
	dir := t.TempDir()
	defCert, defKey := writeCert(t, dir, "default.test")
	extraCert, extraKey := writeCert(t, dir, "extra.test")
	b := startBackend(t, "b", nil)
	addr := freeAddr(t)
	cfg := baseConfig(t, addr, b)
	lc := config.NewListener(addr, "https")
	lc.Certificate, lc.Key = defCert, defKey
	cfg.Listeners = []*config.Listener{lc}
	srv := startServer(t, cfg)

	served := func(sni string) string {
		t.Helper()
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			return "error: " + err.Error()
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served("extra.test"); got != "default.test" {
		t.Fatalf("before: served %q", got)
	}
	ch, err := reconfigure(t, srv, func(c *config.Config) {
		c.Listeners[0].Certificates = []*config.CertificateFiles{{Certificate: extraCert, Key: extraKey}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.CertsAdded) != 1 || len(ch.ListenersReplaced) != 0 {
		t.Fatalf("changes = %+v, want one certificate added and no listener restart", ch)
	}
	if got := served("extra.test"); got != "extra.test" {
		t.Errorf("after adding: served %q", got)
	}
	// Swap the roles: extra becomes the default, default goes.
	ch, err = reconfigure(t, srv, func(c *config.Config) {
		l := c.Listeners[0]
		l.Certificate, l.Key, l.Certificates = extraCert, extraKey, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.CertsRemoved) != 1 || len(ch.CertsAdded) != 0 {
		t.Fatalf("changes = %+v", ch)
	}
	if got := served("default.test"); got != "extra.test" {
		t.Errorf("after the swap: %q, want the new default", got)
	}
	if got := srv.CertStore(addr).Len(); got != 1 {
		t.Errorf("store holds %d certificates, want 1", got)
	}
}

// TestGateDetach: a detached gate's Close ends Accept with net.ErrClosed
// and leaves the socket open for the next gate.
func TestGateDetach(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := &socket{ln: ln}
	defer ln.Close()
	g := sock.gate()
	errc := make(chan error, 1)
	go func() {
		_, err := g.Accept()
		errc <- err
	}()
	g.detach()
	g.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after detached Close: %v, want net.ErrClosed", err)
	}
	sock.reopen()
	g2 := sock.gate()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
	}()
	c, err := g2.Accept()
	if err != nil {
		t.Fatalf("the next gate cannot accept: %v", err)
	}
	c.Close()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
