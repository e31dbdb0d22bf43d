package tlsstore

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Errors returned by Add and friends. They are wrapped with detail (the
// date, the id, the PEM block); test with errors.Is.
var (
	// ErrKeyMismatch: the private key is not the key of the leaf
	// certificate.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrExpired: the leaf's NotAfter is in the past.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid: the leaf's NotBefore is in the future.
	ErrNotYetValid = errors.New("certificate not yet valid")
	// ErrNotFound: no certificate with that id is stored.
	ErrNotFound = errors.New("certificate not found")
	// ErrExists: a certificate with the same fingerprint is already stored.
	ErrExists = errors.New("certificate already stored")
)

// parseCert turns PEM material into a checked Cert (without seq). The leaf
// is the first CERTIFICATE block of certPEM; further CERTIFICATE blocks of
// certPEM, then those of chainPEM, form the chain in that order. When
// keyPEM is empty the key is looked for in certPEM (a combined PEM file).
func parseCert(certPEM, keyPEM, chainPEM []byte, now time.Time) (*Cert, error) {
	ders, err := certBlocks(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate PEM: %w", err)
	}
	if len(ders) == 0 {
		return nil, errors.New("certificate PEM: no CERTIFICATE block")
	}
	chain, err := certBlocks(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("chain PEM: %w", err)
	}
	ders = append(ders, chain...)

	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	// Chain certificates are only relayed to clients, but a block that is
	// not a certificate is a packaging mistake better reported now than
	// by every client.
	for i, der := range ders[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("chain certificate %d: %w", i+1, err)
		}
	}

	if len(keyPEM) == 0 {
		keyPEM = certPEM
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, ErrKeyMismatch
	}

	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w on %s", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: valid from %s", ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	}

	var ips []netip.Addr
	for _, ip := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			ips = append(ips, a.Unmap())
		}
	}
	tc := tls.Certificate{Certificate: ders, PrivateKey: key, Leaf: leaf}
	return newCert(tc, namesOf(leaf.DNSNames, leaf.Subject.CommonName), ips), nil
}

// certBlocks returns the DER bytes of every CERTIFICATE block in data,
// ignoring other block types (a combined file also holds the key).
func certBlocks(data []byte) ([][]byte, error) {
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		if b.Type == "CERTIFICATE" {
			if len(b.Headers) != 0 {
				return nil, errors.New("CERTIFICATE block with PEM headers")
			}
			out = append(out, b.Bytes)
		}
	}
}

// parseKey returns the first private key in data. Encrypted keys are
// refused: a proxy restarting unattended has no passphrase to give.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("key PEM: no PRIVATE KEY block")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, errors.New("key PEM: encrypted private keys are not supported")
		}
		var key any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("key PEM: %s: %w", b.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key PEM: unsupported key type %T", key)
		}
		return s, nil
	}
}
