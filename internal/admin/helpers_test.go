package admin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
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

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
)

// testAPI is a real server with its admin API on a unix socket in a
// temporary directory, and a client of it.
type testAPI struct {
	t      testing.TB
	dir    string
	file   string // the config file
	srv    *server.Server
	ctrl   *Controller
	api    *API
	client *Client
	log    *syncBuffer
	addrs  map[string]string // @L1@ -> bound address
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddrs reserves n loopback addresses (bound and released: the test
// binds them again at once).
func freeAddrs(t testing.TB, n int) []string {
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ln.Addr().String())
		ln.Close()
	}
	return out
}

// startAPI writes cfg (after replacing @DIR@, @L1@.. and vars) as the
// config file in a fresh directory, starts sluice from it (through the
// saved state when the config names one, as a process does) and serves
// the admin API on DIR/admin.sock.
func startAPI(t testing.TB, cfg string, vars map[string]string) *testAPI {
	t.Helper()
	dir := t.TempDir()
	a := &testAPI{t: t, dir: dir, addrs: map[string]string{}, log: &syncBuffer{}}
	for i, addr := range freeAddrs(t, 3) {
		a.addrs[fmt.Sprintf("@L%d@", i+1)] = addr
	}
	return a.start(cfg, vars)
}

func (a *testAPI) start(cfg string, vars map[string]string) *testAPI {
	t := a.t
	t.Helper()
	cfg = strings.ReplaceAll(cfg, "@DIR@", a.dir)
	for k, v := range a.addrs {
		cfg = strings.ReplaceAll(cfg, k, v)
	}
	for k, v := range vars {
		cfg = strings.ReplaceAll(cfg, "@"+k+"@", v)
	}
	a.file = filepath.Join(a.dir, "sluice.toml")
	if err := os.WriteFile(a.file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := config.Load(a.file)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfg)
	}
	c, _, err := startConfig(base, &inheritance{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Start(c, server.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = srv
	a.ctrl = NewController(srv, a.file, log)
	sock := c.AdminSocket
	if sock == "" {
		sock = filepath.Join(a.dir, "admin.sock")
	}
	ln, err := ListenSocket(sock, socketModeFor(c.AdminAllowedUIDs))
	if err != nil {
		t.Fatal(err)
	}
	a.api = a.ctrl.Serve(ln, sock)
	a.client = NewClient(sock)
	t.Cleanup(a.stop)
	return a
}

// stop shuts the server and the API down (idempotent).
func (a *testAPI) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.srv.Shutdown(ctx)
	a.api.Close(ctx)
}

// do sends a request and returns the status and the body.
func (a *testAPI) do(method, path string, body string) (int, string) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://sluice"+path, rd)
	resp, err := a.client.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// mustDo is do, failing the test unless the status is want.
func (a *testAPI) mustDo(method, path, body string, want int) string {
	a.t.Helper()
	code, out := a.do(method, path, body)
	if code != want {
		a.t.Fatalf("%s %s %s: %d, want %d\n%s", method, path, body, code, want, out)
	}
	return out
}

// stateJSON returns GET /v1/state.
func (a *testAPI) stateJSON() string {
	a.t.Helper()
	return a.mustDo("GET", "/v1/state", "", 200)
}

// changes returns sluice_admin_changes_total for op and result.
func (a *testAPI) changes(op, result string) float64 {
	mfs, err := a.srv.Metrics.Registry.Gather()
	if err != nil {
		a.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_admin_changes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, l := range m.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			if lbl["op"] == op && lbl["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// get sends GET / with Host host to addr through sluice.
func get(t testing.TB, addr, host string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET via %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// backend is a loopback HTTP server answering its name.
func backend(t testing.TB, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

var serial atomic.Int64

// writeCert writes a self-signed certificate for names and its key in dir
// and returns the paths and the PEM texts.
func writeCert(t testing.TB, dir string, names ...string) (certFile, keyFile, certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	n := serial.Add(1)
	certFile, keyFile = filepath.Join(dir, fmt.Sprintf("c%d.pem", n)), filepath.Join(dir, fmt.Sprintf("k%d.pem", n))
	os.WriteFile(certFile, []byte(certPEM), 0o600)
	os.WriteFile(keyFile, []byte(keyPEM), 0o600)
	return certFile, keyFile, certPEM, keyPEM
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
