package tlsstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Options are the TLS settings of an https listener (config keys
// tls_versions, cipher_suites, alpn_protocols).
type Options struct {
	// Versions are the protocol versions offered: "TLS1.2" and/or
	// "TLS1.3". Default (empty): both.
	Versions []string
	// CipherSuites are the TLS 1.2 cipher suites allowed, by their
	// crypto/tls names (tls.CipherSuiteName), in no particular order (Go
	// orders them by security and hardware support). Default (empty): Go's
	// secure defaults. TLS 1.3 suites are not configurable in crypto/tls,
	// and the suites Go deems insecure are refused. When ALPN offers h2,
	// only ephemeral AEAD suites are accepted (RFC 9113 9.2.2).
	CipherSuites []string
	// ALPN is the application protocols offered, in order of preference:
	// the server picks the first one the client also offers. Allowed:
	// "h2", "http/1.1". Default (empty): ["h2", "http/1.1"]. A client that
	// offers ALPN but none of these is refused with no_application_protocol
	// (RFC 7301 3.2). Two cases end with no protocol negotiated (""), to be
	// served as HTTP/1.1: a client without ALPN, and, by a crypto/tls
	// compatibility rule (Go issue 46310), a client offering "http/1.1" to
	// a listener offering "h2" only; a listener meaning to refuse HTTP/1.1
	// must close those itself.
	ALPN []string
	// TicketKeys, when set, seals session tickets with keys it rotates
	// (shared between listeners, or across processes). Default (nil):
	// crypto/tls's own rotation (a new key a day, each valid a week).
	// Session tickets are always on.
	TicketKeys *TicketKeys
}

// ALPN protocol identifiers (RFC 7301; "h2" is RFC 9113 3.2).
const (
	ProtoH2     = "h2"
	ProtoHTTP11 = "http/1.1"
)

// defaultALPN prefers HTTP/2: one connection per client, multiplexed.
var defaultALPN = []string{ProtoH2, ProtoHTTP11}

var versionNames = map[string]uint16{
	"TLS1.2": tls.VersionTLS12,
	"TLS1.3": tls.VersionTLS13,
}

// ServerConfig returns the tls.Config of an https listener serving the
// certificates of store. The config picks a certificate per handshake (see
// Handshake for how the choice is reported), negotiates ALPN, and issues
// and accepts session tickets. Errors name the offending option value.
func ServerConfig(opts Options, store *Store) (*tls.Config, error) {
	if store == nil {
		return nil, errors.New("tls: nil certificate store")
	}
	minV, maxV, err := parseVersions(opts.Versions)
	if err != nil {
		return nil, err
	}
	alpn, err := parseALPN(opts.ALPN)
	if err != nil {
		return nil, err
	}
	suites, err := parseSuites(opts.CipherSuites, minV, slices.Contains(alpn, ProtoH2))
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   minV,
		MaxVersion:   maxV,
		CipherSuites: suites,
		NextProtos:   alpn,
		// Used only if a caller drops GetConfigForClient; kept so the
		// config still serves the store's certificates.
		GetCertificate: store.GetCertificate,
	}
	cfg.GetConfigForClient = store.configForClient(cfg)
	if opts.TicketKeys != nil {
		opts.TicketKeys.Attach(cfg)
	}
	return cfg, nil
}

func parseVersions(names []string) (minV, maxV uint16, err error) {
	if len(names) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	for _, n := range names {
		v, ok := versionNames[n]
		if !ok {
			return 0, 0, fmt.Errorf("tls_versions: unknown version %q (want \"TLS1.2\" or \"TLS1.3\")", n)
		}
		if minV == 0 || v < minV {
			minV = v
		}
		maxV = max(maxV, v)
	}
	return minV, maxV, nil
}

func parseALPN(protos []string) ([]string, error) {
	if len(protos) == 0 {
		return slices.Clone(defaultALPN), nil
	}
	for i, p := range protos {
		if p != ProtoH2 && p != ProtoHTTP11 {
			return nil, fmt.Errorf("alpn_protocols: unsupported protocol %q (want %q or %q)", p, ProtoH2, ProtoHTTP11)
		}
		if slices.Contains(protos[:i], p) {
			return nil, fmt.Errorf("alpn_protocols: %q listed twice", p)
		}
	}
	return slices.Clone(protos), nil
}

// parseSuites maps suite names to ids. With h2 offered over TLS 1.2, RFC
// 9113 9.2.2 forbids the suites of its Appendix A block list, which
// leaves exactly the ephemeral (ECDHE) AEAD suites.
func parseSuites(names []string, minV uint16, h2 bool) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if minV >= tls.VersionTLS13 {
		return nil, errors.New("cipher_suites: only TLS 1.2 suites are configurable, and TLS 1.2 is not enabled")
	}
	var ids []uint16
	var blocked []string
	for _, n := range names {
		s := suiteByName(n)
		switch {
		case s == nil:
			return nil, fmt.Errorf("cipher_suites: unknown cipher suite %q", n)
		case s.Insecure:
			return nil, fmt.Errorf("cipher_suites: %s is insecure", n)
		case !slices.Contains(s.SupportedVersions, tls.VersionTLS12):
			return nil, fmt.Errorf("cipher_suites: %s is a TLS 1.3 suite; crypto/tls does not let TLS 1.3 suites be configured", n)
		}
		if h2 && !h2Suite(s.ID) {
			blocked = append(blocked, n)
		}
		if !slices.Contains(ids, s.ID) {
			ids = append(ids, s.ID)
		}
	}
	if len(blocked) > 0 {
		return nil, fmt.Errorf("cipher_suites: %s not allowed with h2 (RFC 9113 9.2.2 requires ephemeral key exchange and an AEAD cipher); remove them or drop h2 from alpn_protocols",
			strings.Join(blocked, ", "))
	}
	return ids, nil
}

func suiteByName(name string) *tls.CipherSuite {
	for _, s := range tls.CipherSuites() {
		if s.Name == name {
			return s
		}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// h2Suite reports whether a TLS 1.2 suite is outside the RFC 9113
// Appendix A block list: ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305.
func h2Suite(id uint16) bool {
	switch id {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return true
	}
	return false
}

// H2Allowed reports whether a negotiated connection may carry HTTP/2: RFC
// 9113 9.2 requires TLS 1.2 or later and, on TLS 1.2, a suite outside the
// Appendix A block list. Go's default TLS 1.2 suites include ECDHE-CBC
// ones that a client could force, so the HTTP/2 engine must check and
// answer a failure with a connection error INADEQUATE_SECURITY (RFC 9113
// 9.2.2).
func H2Allowed(cs tls.ConnectionState) bool {
	switch {
	case cs.Version >= tls.VersionTLS13:
		return true // every TLS 1.3 suite is ephemeral AEAD
	case cs.Version == tls.VersionTLS12:
		return h2Suite(cs.CipherSuite)
	}
	return false
}
