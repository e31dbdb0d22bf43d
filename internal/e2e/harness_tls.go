package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TLS helpers: a private certificate authority issuing leaves (optionally
// through an intermediate, optionally RSA, CN-only or expired), and a
// bounded TLS dial. Tests verify the certificate sluice served with the
// CA's pool, so "the right certificate" means one a real client accepts
// for that name, not just matching bytes.

// TLSCA is a certificate authority for tests: a root, or an intermediate
// (then Parent is its issuer).
type TLSCA struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	PEM      []byte         // the CA certificate
	CertFile string         // PEM file of the CA certificate
	Pool     *x509.CertPool // trusts the root of this CA
	Parent   *TLSCA         // nil for a root
	dir      string
}

// TLSLeaf is a certificate issued by a TLSCA, written to disk.
type TLSLeaf struct {
	// CertFile holds the leaf only; ChainFile the intermediate when the
	// issuer is one ("" otherwise); KeyFile the private key.
	CertFile, KeyFile, ChainFile string
	CertPEM, KeyPEM, ChainPEM    []byte
	Leaf                         *x509.Certificate
	// ID is the leaf's SHA-256 fingerprint in lowercase hex: the id the
	// certificate store uses (tlsstore.Cert.ID).
	ID string
}

// LeafSpec describes a leaf to issue.
type LeafSpec struct {
	// Names are DNS names or IP literals for the SAN; the first is also
	// the subject CN.
	Names []string
	// CNOnly puts Names[0] in the subject CN and leaves the SAN empty (a
	// legacy certificate: the store selects it by CN, RFC 6125 6.4.4).
	CNOnly bool
	// RSA issues an RSA 2048 key instead of ECDSA P-256.
	RSA bool
	// NotBefore and NotAfter default to an hour ago and a day ahead.
	NotBefore, NotAfter time.Time
}

var tlsSerial atomic.Int64

func nextSerial() *big.Int {
	return big.NewInt(time.Now().UnixNano() + tlsSerial.Add(1))
}

// NewTLSCA creates a root CA in t.TempDir().
func NewTLSCA(t testing.TB) *TLSCA {
	t.Helper()
	return newCA(t, nil, "sluice test root")
}

// Intermediate creates a CA issued by ca; its leaves carry a chain file.
func (ca *TLSCA) Intermediate(t testing.TB) *TLSCA {
	t.Helper()
	return newCA(t, ca, "sluice test intermediate")
}

func newCA(t testing.TB, parent *TLSCA, cn string) *TLSCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-2 * time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &TLSCA{Cert: cert, Key: key, Parent: parent, dir: t.TempDir()}
	ca.PEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.CertFile = filepath.Join(ca.dir, "ca.pem")
	writeFile(t, ca.CertFile, ca.PEM)
	if parent != nil {
		ca.Pool = parent.Pool
	} else {
		ca.Pool = x509.NewCertPool()
		ca.Pool.AddCert(cert)
	}
	return ca
}

// Issue issues a leaf for names (ECDSA P-256, valid now).
func (ca *TLSCA) Issue(t testing.TB, names ...string) *TLSLeaf {
	t.Helper()
	return ca.IssueSpec(t, LeafSpec{Names: names})
}

// IssueSpec issues a leaf as described by spec.
func (ca *TLSCA) IssueSpec(t testing.TB, spec LeafSpec) *TLSLeaf {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.RSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: spec.Names[0]},
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if spec.RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if !spec.CNOnly {
		for _, n := range spec.Names {
			if ip := net.ParseIP(n); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, n)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := &TLSLeaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
	l.Leaf, _ = x509.ParseCertificate(der)
	sum := sha256.Sum256(der)
	l.ID = hex.EncodeToString(sum[:])
	dir := t.TempDir()
	l.CertFile, l.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, l.CertFile, l.CertPEM)
	writeFile(t, l.KeyFile, l.KeyPEM)
	if ca.Parent != nil {
		l.ChainPEM = ca.PEM
		l.ChainFile = filepath.Join(dir, "chain.pem")
		writeFile(t, l.ChainFile, l.ChainPEM)
	}
	return l
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TLSDial connects to addr and runs the client handshake with cfg, all
// bounded by 5 s; later reads and writes on the connection are bounded by
// a 10 s deadline. The connection is closed at cleanup.
func TLSDial(t testing.TB, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(nc, cfg)
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { tc.Close() })
	return tc, nil
}

// ServedID returns the fingerprint (tlsstore.Cert.ID) of the leaf a
// server presented on a connection, "" if none.
func ServedID(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}
