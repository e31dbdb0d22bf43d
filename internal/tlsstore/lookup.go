package tlsstore

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"time"
)

// GetCertificate picks the certificate for a handshake; it can be used as
// tls.Config.GetCertificate. The choice, without locks:
//
//  1. a valid certificate naming the SNI exactly;
//  2. a valid certificate with the wildcard "*.<parent>" where the SNI is
//     "<one label>.<parent>" (one label deep: "a.b.example.com" matches
//     "*.b.example.com", never "*.example.com");
//  3. an expired certificate of the SNI (exact, then wildcard): the
//     client's "certificate expired" names the real problem, where the
//     default certificate's name mismatch would hide it;
//  4. without SNI, a certificate with a SAN IP equal to the address the
//     client connected to;
//  5. the default certificate.
//
// Among several candidates of one step the newest wins: latest NotBefore,
// then latest added.
//
// When nothing matches and there is no default, GetCertificate returns
// (nil, nil). crypto/tls then reports "no certificates configured" and
// sends the unrecognized_name alert (RFC 6066 3) — provided the
// tls.Config has no Certificates of its own. That is the only way to get
// that alert: any error returned from GetCertificate makes crypto/tls send
// internal_error instead.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.pick(hello.ServerName, hello.Conn)
	if c == nil {
		return nil, nil
	}
	return c.TLS, nil
}

// Lookup returns the certificate a handshake with this SNI would be
// served ("" = no SNI, on an address with no SAN IP), or nil.
func (s *Store) Lookup(serverName string) *Cert { return s.pick(serverName, nil) }

// pick implements GetCertificate. conn, when not nil, is the connection
// whose local address selects a SAN IP certificate for SNI-less clients.
func (s *Store) pick(serverName string, conn net.Conn) *Cert {
	ix := s.idx.Load()
	name := normalizeName(serverName)
	if name != "" {
		exact, _ := ix.exact.get(name)
		var wild []*Cert
		if dot := strings.IndexByte(name, '.'); dot > 0 && !numericLastLabel(name) {
			wild, _ = ix.wild.get(name[dot+1:])
		}
		if len(exact)+len(wild) > 0 {
			now := s.now()
			if c := firstValid(exact, now); c != nil {
				return c
			}
			if c := firstValid(wild, now); c != nil {
				return c
			}
			if len(exact) > 0 {
				return exact[0]
			}
			return wild[0]
		}
	} else if conn != nil {
		if ip, ok := localIP(conn.LocalAddr()); ok {
			k := ip.As16()
			if cands, ok := ix.ips.getBytes(k[:]); ok {
				if c := firstValid(cands, s.now()); c != nil {
					return c
				}
				return cands[0]
			}
		}
	}
	return ix.def
}

// firstValid returns the first certificate of cands (in preference order)
// valid at now.
func firstValid(cands []*Cert, now time.Time) *Cert {
	for _, c := range cands {
		if c.ValidAt(now) {
			return c
		}
	}
	return nil
}

// localIP returns the IP of a TCP address, IPv4-mapped IPv6 unmapped.
func localIP(a net.Addr) (netip.Addr, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return ip.Unmap(), ok
}
