package config

import (
	"crypto/tls"
	"slices"
)

// TLSVersionID maps a tls_versions name ("TLS1.2", "TLS1.3") to its
// crypto/tls constant.
func TLSVersionID(name string) (uint16, bool) {
	switch name {
	case TLS12:
		return tls.VersionTLS12, true
	case TLS13:
		return tls.VersionTLS13, true
	}
	return 0, false
}

// CipherSuiteID maps a cipher_suites name to its crypto/tls ID. Only the
// suites a listener may configure are known: Go's secure TLS 1.2 suites.
func CipherSuiteID(name string) (uint16, bool) {
	for _, s := range tls.CipherSuites() {
		if s.Name == name && slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			return s.ID, true
		}
	}
	return 0, false
}

// cipherSuiteProblem says why a cipher_suites name is refused ("" if it is
// accepted).
func cipherSuiteProblem(name string) string {
	if _, ok := CipherSuiteID(name); ok {
		return ""
	}
	for _, s := range tls.CipherSuites() {
		if s.Name == name {
			// RFC 8446 suites: Go always offers all of them and lets no one
			// choose, so listing one would silently do nothing.
			return "is a TLS 1.3 suite; Go does not let TLS 1.3 suites be configured"
		}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == name {
			return "is insecure and not allowed"
		}
	}
	return "is not a cipher suite name known to crypto/tls (for example TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)"
}

// TLSVersionRange returns the lowest and highest protocol version in
// TLSVersions, as crypto/tls constants, for tls.Config MinVersion and
// MaxVersion. With both versions unknown it returns TLS 1.2 and 1.3.
func (l *Listener) TLSVersionRange() (lo, hi uint16) {
	for _, n := range l.TLSVersions {
		if v, ok := TLSVersionID(n); ok {
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
	}
	if lo == 0 {
		return tls.VersionTLS12, tls.VersionTLS13
	}
	return lo, hi
}

// CipherSuiteIDs returns CipherSuites as crypto/tls IDs, for
// tls.Config.CipherSuites; nil (Go's defaults) when none are configured.
func (l *Listener) CipherSuiteIDs() []uint16 {
	if len(l.CipherSuites) == 0 {
		return nil
	}
	ids := make([]uint16, 0, len(l.CipherSuites))
	for _, n := range l.CipherSuites {
		if id, ok := CipherSuiteID(n); ok {
			ids = append(ids, id)
		}
	}
	return ids
}
