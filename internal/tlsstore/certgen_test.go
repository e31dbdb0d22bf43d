package tlsstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Test certificates are generated in-process. Key generation is the slow
// part (RSA 2048 takes ~100 ms), so the keys are made once per test binary
// and shared by every certificate; certificates themselves are cheap.

type testKeys struct {
	caKey    *ecdsa.PrivateKey
	ca       *x509.Certificate
	caPEM    []byte
	ec       *ecdsa.PrivateKey
	ecPEM    []byte // PKCS#8
	ec2PEM   []byte // another P-256 key: the "mismatched" key
	rsa      *rsa.PrivateKey
	rsaPEM   []byte // PKCS#1
	pool     *x509.CertPool
	interKey *ecdsa.PrivateKey
	inter    *x509.Certificate
	interPEM []byte
}

var (
	keysOnce sync.Once
	keys     testKeys
	serial   atomic.Int64
)

func mustKeys(tb testing.TB) *testKeys {
	tb.Helper()
	keysOnce.Do(func() {
		var err error
		if keys.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		now := time.Now()
		caTmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "sluice test root"},
			NotBefore:             now.Add(-48 * time.Hour),
			NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &keys.caKey.PublicKey, keys.caKey)
		if err != nil {
			panic(err)
		}
		keys.ca, _ = x509.ParseCertificate(der)
		keys.caPEM = pemBlock("CERTIFICATE", der)
		keys.pool = x509.NewCertPool()
		keys.pool.AddCert(keys.ca)

		if keys.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		interTmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(2),
			Subject:               pkix.Name{CommonName: "sluice test intermediate"},
			NotBefore:             now.Add(-48 * time.Hour),
			NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err = x509.CreateCertificate(rand.Reader, interTmpl, keys.ca, &keys.interKey.PublicKey, keys.caKey)
		if err != nil {
			panic(err)
		}
		keys.inter, _ = x509.ParseCertificate(der)
		keys.interPEM = pemBlock("CERTIFICATE", der)

		if keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		p8, _ := x509.MarshalPKCS8PrivateKey(keys.ec)
		keys.ecPEM = pemBlock("PRIVATE KEY", p8)
		ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p8, _ = x509.MarshalPKCS8PrivateKey(ec2)
		keys.ec2PEM = pemBlock("PRIVATE KEY", p8)
		if keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		keys.rsaPEM = pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(keys.rsa))
	})
	return &keys
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// certSpec describes a leaf certificate to generate.
type certSpec struct {
	names     []string // SAN dNSNames
	cn        string
	ips       []string
	notBefore time.Time // zero: an hour ago
	notAfter  time.Time // zero: in 30 days
	rsa       bool      // RSA 2048 key instead of ECDSA P-256
	viaInter  bool      // signed by the intermediate, which goes in ChainPEM
}

// mkCert generates a leaf signed by the test CA and returns its PEM
// material.
func mkCert(tb testing.TB, s certSpec) Material {
	tb.Helper()
	k := mustKeys(tb)
	now := time.Now()
	if s.notBefore.IsZero() {
		s.notBefore = now.Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = now.Add(30 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000 + serial.Add(1)),
		Subject:      pkix.Name{CommonName: s.cn},
		DNSNames:     s.names,
		NotBefore:    s.notBefore,
		NotAfter:     s.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	var pub crypto.PublicKey = &k.ec.PublicKey
	keyPEM := k.ecPEM
	if s.rsa {
		pub, keyPEM = &k.rsa.PublicKey, k.rsaPEM
	}
	parent, signer := k.ca, crypto.Signer(k.caKey)
	var chain []byte
	if s.viaInter {
		parent, signer, chain = k.inter, k.interKey, k.interPEM
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		tb.Fatal(err)
	}
	return Material{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: keyPEM, ChainPEM: chain}
}

// mustAdd adds generated material to s.
func mustAdd(tb testing.TB, s *Store, m Material) *Cert {
	tb.Helper()
	c, err := s.Add(m.CertPEM, m.KeyPEM, m.ChainPEM)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
