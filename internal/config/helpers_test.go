package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeCert writes a fresh self-signed certificate for names and its key as
// dir/name.pem and dir/name.key, and returns both paths.
func writeCert(t testing.TB, dir, name string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, name+".pem")
	keyFile = filepath.Join(dir, name+".key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// certDir returns a temporary directory holding the certificates the test
// files refer to: default.{pem,key}, app.{pem,key} and other.{pem,key}.
func certDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeCert(t, dir, "default", "localhost")
	writeCert(t, dir, "app", "app.localhost")
	writeCert(t, dir, "other", "other.localhost")
	return dir
}

// loadIn writes src as dir/sluice.toml and loads it.
func loadIn(t testing.TB, dir, src string) (*Config, error) {
	t.Helper()
	path := filepath.Join(dir, "sluice.toml")
	writeFile(t, path, src)
	return Load(path)
}

// asErrors unpacks the error of Parse/Load/Validate.
func asErrors(t testing.TB, err error) Errors {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not config.Errors", err, err)
	}
	if len(es) == 0 {
		t.Fatal("empty Errors")
	}
	return es
}

// wantErr is an expected error: its line, its key and a part of its message.
type wantErr struct {
	line int
	key  string
	msg  string
}

func (w wantErr) String() string {
	return strconv.Itoa(w.line) + ": " + w.key + ": ..." + w.msg + "..."
}

// checkErrors asserts that err lists exactly the wanted errors, in order,
// each rendered as "FILE:LINE: KEY: MSG".
func checkErrors(t testing.TB, file string, err error, want []wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v", want)
	}
	es := asErrors(t, err)
	ok := len(es) == len(want)
	for i := 0; ok && i < len(es); i++ {
		e, w := es[i], want[i]
		prefix := file + ":" + strconv.Itoa(w.line) + ": " + w.key + ": "
		if w.key == "" {
			prefix = file + ":" + strconv.Itoa(w.line) + ": "
		}
		text := e.Error()
		ok = e.File == file && e.Line == w.line && e.Key == w.key &&
			strings.HasPrefix(text, prefix) && strings.Contains(text[len(prefix):], w.msg)
	}
	if !ok {
		t.Errorf("got errors:\n%v\nwant:\n%v", err, want)
	}
}
