// Package e2e starts real sluice servers, real backends and real clients
// on loopback for end-to-end tests. Everything here binds 127.0.0.1 with
// port 0 and is torn down by t.Cleanup.
//
// A test writes a config in the CONTRACT.md shape with placeholders for
// addresses the harness binds: @L1@, @L2@, ... for listeners (bound before
// sluice starts and handed to it, so there is no port race) and any other
// @NAME@ the test supplies (backend addresses, certificate paths).
package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
)

// Sluice is a running in-process sluice.
type Sluice struct {
	*server.Server
	t      testing.TB
	addrs  map[string]string // placeholder -> bound address
	logBuf *syncBuffer
	Log    *syncBuffer // error log output (slog text)
}

var placeholder = regexp.MustCompile(`@L[0-9]+@`)

// Start renders cfg (replacing vars and binding one loopback listener per
// @Ln@ placeholder) and starts sluice with it. The access log is captured
// (see AccessLog) unless the config says access_log = "off".
func Start(t testing.TB, cfg string, vars map[string]string) *Sluice {
	t.Helper()
	return StartWith(t, cfg, vars, nil)
}

// StartWith is Start with a hook that adjusts the parsed config before
// sluice starts. Config durations are whole seconds in TOML; tests of
// timeouts set sub-second values here (see Listeners and Clusters).
func StartWith(t testing.TB, cfg string, vars map[string]string, tweak func(*config.Config)) *Sluice {
	t.Helper()
	s := &Sluice{t: t, addrs: map[string]string{}, logBuf: &syncBuffer{}, Log: &syncBuffer{}}
	lns := map[string]net.Listener{}
	for _, ph := range placeholder.FindAllString(cfg, -1) {
		if _, ok := s.addrs[ph]; ok {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.addrs[ph] = ln.Addr().String()
		lns[ln.Addr().String()] = ln
	}
	for ph, addr := range s.addrs {
		cfg = strings.ReplaceAll(cfg, ph, addr)
	}
	for k, v := range vars {
		cfg = strings.ReplaceAll(cfg, "@"+k+"@", v)
	}
	c, err := config.Parse("test.toml", []byte(cfg))
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		t.Fatalf("config: %v\n%s", err, cfg)
	}
	if tweak != nil {
		tweak(c)
	}
	// The access log is captured, unless the config turns it off
	// (benchmarks: then AccessLog returns nothing).
	var al *accesslog.Logger
	if c.AccessLog != "off" {
		al = accesslog.New(s.logBuf, nil, "json")
	}
	log := slog.New(slog.NewTextHandler(s.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Start(c, server.Options{Log: log, AccessLog: al, Listeners: lns})
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		t.Fatalf("start: %v", err)
	}
	s.Server = srv
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sluice log:\n%s\naccess log:\n%s", s.Log.String(), strings.Join(s.AccessLog(), "\n"))
		}
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return s
}

// Addr returns the address bound for a placeholder ("@L1@").
func (s *Sluice) Addr(ph string) string {
	a, ok := s.addrs[ph]
	if !ok {
		s.t.Fatalf("no listener %s", ph)
	}
	return a
}

// AccessLog returns the access-log lines written so far (flushed first).
func (s *Sluice) AccessLog() []string {
	s.Server.AccessLog.Flush()
	text := strings.TrimSpace(s.logBuf.String())
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// WaitAccessLog waits until n access-log lines exist (a session logs right
// after it finishes a response, which can be just after the client read
// it) and returns them.
func (s *Sluice) WaitAccessLog(n int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := s.AccessLog()
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Metrics returns the Prometheus text exposition of the server's registry.
func (s *Sluice) Metrics() string {
	rec := &bufferResponse{header: http.Header{}}
	req, _ := http.NewRequest("GET", "/metrics", nil)
	s.Server.Metrics.Handler().ServeHTTP(rec, req)
	return rec.body.String()
}

// MetricValue returns the value of one series (exact name with labels, as
// printed: `sluice_requests_total{class="2xx",cluster="app",listener="..."}`)
// or 0 when absent. Labels are matched in any order.
func (s *Sluice) MetricValue(name string, labels map[string]string) float64 {
	for _, line := range strings.Split(s.Metrics(), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		lbl := ""
		if strings.HasPrefix(rest, "{") {
			end := strings.Index(rest, "}")
			lbl, rest = rest[1:end], rest[end+1:]
		} else if !strings.HasPrefix(rest, " ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(","+lbl+",", ","+k+`="`+v+`",`) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		var v float64
		fmt.Sscan(strings.TrimSpace(rest), &v)
		return v
	}
	return 0
}

type bufferResponse struct {
	header http.Header
	body   bytes.Buffer
}

func (b *bufferResponse) Header() http.Header         { return b.header }
func (b *bufferResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferResponse) WriteHeader(int)             {}

// syncBuffer is a goroutine-safe bytes.Buffer.
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

// Backend is a real HTTP/1.1 server (net/http) started for a test. It
// records every request it receives.
type Backend struct {
	Addr string
	srv  *http.Server
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte

	conns, closed int
}

// StartBackend serves h on a loopback port. h may be nil: the default
// answers 200 with "backend <addr> <method> <path>".
func StartBackend(t testing.TB, h http.HandlerFunc) *Backend {
	t.Helper()
	return StartBackendWith(t, h, nil)
}

// StartBackendWith is StartBackend with a hook that adjusts the server
// (IdleTimeout, ...) before it starts serving.
func StartBackendWith(t testing.TB, h http.HandlerFunc, configure func(*http.Server)) *Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Addr: ln.Addr().String()}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "backend %s %s %s", b.Addr, r.Method, r.URL.Path)
		}
	}
	b.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.body = append(b.body, body)
		b.mu.Unlock()
		h(w, r)
	})}
	b.srv.ConnState = func(_ net.Conn, st http.ConnState) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch st {
		case http.StateNew:
			b.conns++
		case http.StateClosed, http.StateHijacked:
			b.closed++
		}
	}
	if configure != nil {
		configure(b.srv)
	}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

// Requests returns the requests received so far.
func (b *Backend) Requests() []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*http.Request(nil), b.reqs...)
}

// Bodies returns the request bodies received so far.
func (b *Backend) Bodies() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.body...)
}

// Conns returns how many connections the backend accepted.
func (b *Backend) Conns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns
}

// ClosedConns returns how many of its connections have closed.
func (b *Backend) ClosedConns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close stops the backend.
func (b *Backend) Close() { b.srv.Close() }

// RawBackend is a TCP server whose connections are handled by a test
// function: for backends that misbehave on purpose (smuggling-prone
// responses, resets, stalls).
type RawBackend struct {
	Addr  string
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns int
}

// StartRawBackend calls handle for every accepted connection.
func StartRawBackend(t testing.TB, handle func(net.Conn)) *RawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &RawBackend{Addr: ln.Addr().String(), ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

// Conns returns how many connections the backend accepted.
func (r *RawBackend) Conns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// Close stops accepting.
func (r *RawBackend) Close() { r.ln.Close() }

// Cert is a generated certificate and key on disk.
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool // trusts the certificate
	TLS               tls.Certificate
}

// NewCert generates a self-signed ECDSA certificate for names (DNS names
// or IP literals) in t.TempDir().
func NewCert(t testing.TB, names ...string) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	c := &Cert{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	os.WriteFile(c.CertFile, certPEM, 0o644)
	os.WriteFile(c.KeyFile, keyPEM, 0o600)
	c.TLS, _ = tls.X509KeyPair(certPEM, keyPEM)
	leaf, _ := x509.ParseCertificate(der)
	c.Pool = x509.NewCertPool()
	c.Pool.AddCert(leaf)
	return c
}

// RequireTool returns the path of an external client (curl, nghttp,
// h2load, h2spec, openssl). When it is missing the test is skipped, unless
// SLUICE_REQUIRE_TOOLS=1 (CI), where it fails.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		home, _ := os.UserHomeDir()
		for _, dir := range []string{filepath.Join(home, "go", "bin"), "/usr/local/go/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (install it: see .ci/run)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Run runs an external command with a timeout and returns its combined
// output.
func Run(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
