package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// Tests of how an https listener's certificate store is built from the
// config (tlsConfigFor); the end-to-end behaviour is in internal/e2e
// (tls_*_test.go).

var certSerial atomic.Int64

// writeCert writes a self-signed ECDSA certificate for names and its key
// into dir, and returns the two paths.
func writeCert(tb testing.TB, dir string, names ...string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(certSerial.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	n := certSerial.Add(1)
	certFile = filepath.Join(dir, fmt.Sprintf("c%d.pem", n))
	keyFile = filepath.Join(dir, fmt.Sprintf("k%d.pem", n))
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}

// httpsConfig is a config with one https listener and one cluster whose
// frontends are on it.
func httpsConfig(fronts ...*config.Frontend) (*config.Config, *config.Listener) {
	lc := config.NewListener("127.0.0.1:8443", "https")
	cl := config.NewCluster("app")
	for _, f := range fronts {
		f.Address = lc.Address
	}
	cl.Frontends = fronts
	return &config.Config{Listeners: []*config.Listener{lc}, Clusters: []*config.Cluster{cl}}, lc
}

func frontend(host, cert, key string) *config.Frontend {
	f := config.NewFrontend("", host)
	f.Certificate, f.Key = cert, key
	return f
}

func quietLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestTLSConfigForLoadsFrontendCertificates: every distinct frontend
// certificate is stored once (a file shared by frontends, and the same
// certificate under another path, included); the listener's certificate
// is the default.
func TestTLSConfigForLoadsFrontendCertificates(t *testing.T) {
	dir := t.TempDir()
	defCert, defKey := writeCert(t, dir, "default.example.net")
	sharedCert, sharedKey := writeCert(t, dir, "a.example.com", "b.example.com")
	otherCert, otherKey := writeCert(t, dir, "c.example.com")
	// The same files again under other names: a second path to one
	// certificate.
	dupCert, dupKey := filepath.Join(dir, "dup-cert.pem"), filepath.Join(dir, "dup-key.pem")
	for _, p := range [][2]string{{sharedCert, dupCert}, {sharedKey, dupKey}} {
		data, _ := os.ReadFile(p[0])
		os.WriteFile(p[1], data, 0o600)
	}
	cfg, lc := httpsConfig(
		frontend("a.example.com", sharedCert, sharedKey),
		frontend("b.example.com", sharedCert, sharedKey),
		frontend("c.example.com", otherCert, otherKey),
		frontend("b.example.com", dupCert, dupKey),
		frontend("d.example.com", defCert, defKey), // the default again
	)
	lc.Certificate, lc.Key = defCert, defKey
	log, buf := quietLog()
	store, tc, err := tlsConfigFor(cfg, lc, log)
	if err != nil {
		t.Fatal(err)
	}
	if store.Len() != 3 {
		t.Fatalf("store holds %d certificates, want 3", store.Len())
	}
	if tc.GetConfigForClient == nil {
		t.Fatal("the TLS config does not pick certificates from the store")
	}
	for host, want := range map[string]string{"a.example.com": "a.example.com", "b.example.com": "a.example.com", "c.example.com": "c.example.com", "zzz.example.org": "default.example.net"} {
		if c := store.Lookup(host); c == nil || c.Names[0] != want {
			t.Errorf("%s served %v, want the certificate of %s", host, c, want)
		}
	}
	if store.Default() == nil || store.Default().Names[0] != "default.example.net" {
		t.Errorf("default = %v", store.Default())
	}
	// d.example.com is routed with the default certificate, which does
	// not name it: the one warning.
	if got := strings.Count(buf.String(), "level=WARN"); got != 1 || !strings.Contains(buf.String(), "hostname=d.example.com") {
		t.Errorf("warnings:\n%s", buf.String())
	}
}

// TestTLSConfigForErrorsNameTheFrontend: a bad frontend certificate fails
// the listener with the cluster, the hostname and the file in the message.
func TestTLSConfigForErrorsNameTheFrontend(t *testing.T) {
	dir := t.TempDir()
	okCert, okKey := writeCert(t, dir, "a.example.com")
	badCert, _ := writeCert(t, dir, "b.example.com")
	_, otherKey := writeCert(t, dir, "c.example.com")
	cfg, lc := httpsConfig(
		frontend("a.example.com", okCert, okKey),
		frontend("b.example.com", badCert, otherKey),
	)
	_, _, err := tlsConfigFor(cfg, lc, slog.New(slog.DiscardHandler))
	if !errors.Is(err, tlsstore.ErrKeyMismatch) || !strings.Contains(err.Error(), "cluster app: frontend b.example.com: certificate "+badCert) {
		t.Fatalf("error %v", err)
	}
	cfg, lc = httpsConfig(frontend("a.example.com", filepath.Join(dir, "missing.pem"), okKey))
	if _, _, err := tlsConfigFor(cfg, lc, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestTLSConfigForEmptyListener: an https listener without certificates
// starts (certificates may come from the admin API), with a warning.
func TestTLSConfigForEmptyListener(t *testing.T) {
	cfg, lc := httpsConfig(frontend("a.example.com", "", ""))
	log, buf := quietLog()
	store, _, err := tlsConfigFor(cfg, lc, log)
	if err != nil || store.Len() != 0 {
		t.Fatalf("store %v, err %v", store, err)
	}
	if !strings.Contains(buf.String(), "https listener has no certificate") {
		t.Fatalf("no warning:\n%s", buf.String())
	}
}

// TestTLSConfigForBoundsWarnings: thousands of uncovered hostnames give a
// few warnings and a count, not thousands of lines.
func TestTLSConfigForBoundsWarnings(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "default.example.net")
	var fronts []*config.Frontend
	for i := range 50 {
		fronts = append(fronts, frontend(fmt.Sprintf("h%d.example.com", i), "", ""))
	}
	cfg, lc := httpsConfig(fronts...)
	lc.Certificate, lc.Key = cert, key
	log, buf := quietLog()
	if _, _, err := tlsConfigFor(cfg, lc, log); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "level=WARN"); got != maxCoverageWarnings+1 || !strings.Contains(buf.String(), "count=40") {
		t.Fatalf("%d warnings:\n%s", got, buf.String())
	}
}

// BenchmarkTLSConfigFor10k builds the store of a listener with 10,000
// frontends, each with its own ECDSA certificate file: reading, parsing
// (on every CPU), indexing. It reports the heap the store keeps.
func BenchmarkTLSConfigFor10k(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	var fronts []*config.Frontend
	for i := range n {
		host := fmt.Sprintf("site%d.example.com", i)
		cert, key := writeCert(b, dir, host, "www."+host)
		fronts = append(fronts, frontend(host, cert, key))
	}
	cfg, lc := httpsConfig(fronts...)
	log := slog.New(slog.DiscardHandler)
	var heap uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		before := heapAlloc()
		b.StartTimer()
		store, _, err := tlsConfigFor(cfg, lc, log)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		heap = heapAlloc() - before
		if store.Len() != n {
			b.Fatalf("store holds %d", store.Len())
		}
		runtime.KeepAlive(store)
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
	b.ReportMetric(float64(heap)/n, "B-heap/cert")
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
