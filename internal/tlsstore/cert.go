package tlsstore

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Cert is one certificate of a Store: a leaf, its chain and its private
// key, with the names it answers for. A Cert is immutable after Add
// returns it and is shared by every connection it is served on; callers
// must not modify its fields or slices.
type Cert struct {
	// ID is the lowercase hex SHA-256 fingerprint of the leaf's DER
	// encoding. It names the certificate in the admin API and in logs.
	ID string
	// Names are the DNS names the certificate is selected for, taken from
	// the certificate itself: the SAN dNSNames when there is at least one,
	// otherwise the subject CN (RFC 6125 6.4.4). Lowercased, trailing dot
	// removed, duplicates dropped, in certificate order. A name "*.x.y"
	// is a wildcard covering exactly one label.
	Names []string
	// IPs are the SAN IP addresses, used to select a certificate for a
	// client that connected to that address without sending SNI.
	IPs []netip.Addr
	// NotBefore and NotAfter bound the leaf's validity.
	NotBefore, NotAfter time.Time
	// TLS is what crypto/tls serves: the leaf and chain in DER, the private
	// key, and Leaf set to the parsed leaf.
	TLS *tls.Certificate

	// names is Names frozen for coalescing checks; shared by every
	// Identity of a connection this certificate was served on.
	names *NameSet
	// certs is a one-element slice holding *TLS, so a per-connection
	// tls.Config can point its Certificates at it without allocating.
	certs []tls.Certificate
	// ticketTag is appended to the session state of every ticket issued
	// on a connection served with this certificate; resumption checks it
	// (see handshake.go).
	ticketTag []byte
	// seq orders certificates by the time they were added (tie-break of
	// "newest wins"); assigned by the Store under its write lock.
	seq uint64
	// served caches the handshake config built for this certificate on a
	// listener (see handshake.go), so handshakes share one instead of
	// each connection holding a clone for its lifetime.
	served atomic.Pointer[servedConfig]
}

// ticketTagPrefix starts our entry in tls.SessionState.Extra. crypto/tls
// asks users of Extra to append only and to make entries recognisable
// out of order, hence a name and a version.
const ticketTagPrefix = "sluice/cert/v1:"

// NameSet returns the certificate's DNS names frozen for coalescing checks.
func (c *Cert) NameSet() *NameSet { return c.names }

// ValidAt reports whether t is within the certificate's validity window.
func (c *Cert) ValidAt(t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// String identifies the certificate for logs: a short fingerprint and its
// names.
func (c *Cert) String() string {
	if c == nil {
		return "<nil cert>"
	}
	return c.ID[:16] + " [" + strings.Join(c.Names, " ") + "]"
}

// newCert builds the immutable Cert for an already parsed and checked key
// pair.
func newCert(tc tls.Certificate, names []string, ips []netip.Addr) *Cert {
	leaf := tc.Leaf
	sum := sha256.Sum256(leaf.Raw)
	c := &Cert{
		ID:        hex.EncodeToString(sum[:]),
		Names:     names,
		IPs:       ips,
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		names:     newNameSet(names),
		certs:     []tls.Certificate{tc},
	}
	c.TLS = &c.certs[0]
	c.ticketTag = append([]byte(ticketTagPrefix), sum[:]...)
	return c
}

// normalizeName lowercases a DNS name and removes one trailing dot, the
// form in which names are indexed and compared (DNS names are
// case-insensitive, RFC 4343; the root dot is not part of the identity,
// RFC 6125 6.2.1). Only ASCII letters are folded: DNS names are ASCII
// (IDNs travel as punycode), and Unicode folding would turn, say, a
// Kelvin sign in a CN into the letter k.
func normalizeName(s string) string {
	s = strings.TrimSuffix(s, ".")
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// hostnameLike reports whether s can be a DNS name or a wildcard pattern:
// used to decide whether a subject CN is a name at all ("Acme Corp" is
// not).
func hostnameLike(s string) bool {
	if s == "" || len(s) > maxHostLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '*':
		default:
			return false
		}
	}
	return true
}

// namesOf returns the certificate's DNS names: SAN dNSNames when present,
// else the CN if it looks like a host name (RFC 6125 6.4.4: when the SAN
// holds a dNSName the CN must be ignored).
func namesOf(sans []string, cn string) []string {
	var out []string
	add := func(n string) {
		n = normalizeName(n)
		if n == "" {
			return
		}
		for _, seen := range out {
			if seen == n {
				return
			}
		}
		out = append(out, n)
	}
	for _, n := range sans {
		add(n)
	}
	if len(out) == 0 {
		if n := normalizeName(cn); hostnameLike(n) {
			add(n)
		}
	}
	return out
}
