package tlsstore

import (
	"crypto/tls"
)

// Identity is what a TLS connection keeps of its handshake to decide, for
// every request, whether the request's authority may be served on it (RFC
// 9113 9.1.1 connection reuse; RFC 9110 7.4 and 15.5.20 421 Misdirected
// Request otherwise). It is two words plus a pointer: copy it freely; Names
// is shared, never copied per stream.
type Identity struct {
	// SNI is the server name the client sent, lowercased, trailing dot
	// removed; "" when it sent none.
	SNI string
	// Names are the DNS names of the certificate served on the connection,
	// frozen at handshake time (a later Replace does not change them).
	// Nil when the default certificate answered an SNI it does not cover,
	// when the client sent no SNI, or when the served certificate is not
	// known (the handshake did not go through Handshake).
	Names *NameSet
}

// IdentityOf builds the identity of a completed server handshake. served
// is the certificate the store served on it, as returned by Handshake; nil
// if unknown, in which case requests must match the SNI exactly.
//
// Names is only kept when served covers the SNI: a default certificate
// answering for a name it does not cover proves nothing about other
// names, so such a connection is held to its SNI. Without SNI the client
// named nothing to coalesce with, so Names stays nil and Allows admits any
// authority, as on a plaintext connection.
func IdentityOf(cs tls.ConnectionState, served *Cert) Identity {
	id := Identity{SNI: normalizeName(cs.ServerName)}
	if id.SNI != "" && served != nil && served.names.Covers(id.SNI) {
		id.Names = served.names
	}
	return id
}

// Allows reports whether a request whose authority (":authority" or Host,
// with or without a port) is authority may be served on this connection,
// and whether it is coalesced: allowed through a certificate name other
// than the SNI (counted by sluice_h2_coalescing_accepted_total).
//
// The host is compared case-insensitively and without a trailing dot.
// With Names, it must be covered by them (RFC 6125 6.4.3 wildcards); the
// SNI itself is always allowed. Without Names it must equal the SNI, and
// with neither (no SNI: an IP connection, or the zero Identity of a
// plaintext connection) any authority is allowed. An empty authority
// addresses the connection's own origin and is allowed. A malformed
// authority (userinfo, bad port, characters no host name has) is never
// allowed; the HTTP parsers should have refused it first.
//
// Allows does not allocate.
func (id Identity) Allows(authority []byte) (ok, coalesced bool) {
	host, valid := splitAuthority(authority)
	if !valid {
		return false, false
	}
	if len(host) == 0 {
		return true, false
	}
	// A host longer than a DNS name (plus a trailing dot) cannot be
	// covered by anything.
	if len(host) > maxHostLen+1 {
		return false, false
	}
	// Clients send lowercase hosts; fold into a stack buffer only when
	// they did not.
	var buf [maxHostLen + 1]byte
	h := host
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			h = buf[:len(host)]
			copy(h, host[:i])
			for j := i; j < len(host); j++ {
				c := host[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				h[j] = c
			}
			break
		}
	}
	if h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if string(h) == id.SNI {
		return true, false
	}
	if id.Names == nil {
		return id.SNI == "", false
	}
	if covers(id.Names, h) {
		return true, id.SNI != ""
	}
	return false, false
}

// String describes the identity for logs.
func (id Identity) String() string {
	sni := id.SNI
	if sni == "" {
		sni = "-"
	}
	return "sni=" + sni + " names=" + id.Names.String()
}

// splitAuthority returns the host of an authority (RFC 3986 3.2: host
// [":" port]), without brackets for an IP literal. ok is false when the
// authority is malformed: it carries userinfo (forbidden in HTTP
// authorities, RFC 9110 4.2.1 / RFC 9113 8.3.1), a non-numeric port, or a
// character that belongs in no host name or IP literal.
func splitAuthority(a []byte) (host []byte, ok bool) {
	if len(a) == 0 {
		return nil, true
	}
	var rest []byte
	if a[0] == '[' {
		end := -1
		for i := 1; i < len(a); i++ {
			if a[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, false
		}
		host, rest = a[1:end], a[end+1:]
		if len(host) == 0 {
			return nil, false
		}
		for _, c := range host {
			if !isHex(c) && c != ':' && c != '.' {
				return nil, false
			}
		}
	} else {
		colon := -1
		for i := len(a) - 1; i >= 0; i-- {
			if a[i] == ':' {
				colon = i
				break
			}
		}
		host = a
		if colon >= 0 {
			host, rest = a[:colon], a[colon:]
		}
		if len(host) == 0 {
			return nil, false
		}
		for _, c := range host {
			if !isHostChar(c) {
				return nil, false
			}
		}
	}
	if len(rest) > 0 {
		if rest[0] != ':' {
			return nil, false
		}
		// RFC 3986 3.2.3: port = *DIGIT (an empty port is allowed).
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return nil, false
			}
		}
	}
	return host, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isHostChar admits the characters of DNS names (letters, digits,
// hyphen, dot) and underscore, which real service names use.
func isHostChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_'
}
