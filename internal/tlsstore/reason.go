package tlsstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// FailReason is why a TLS handshake failed, as a stable metric label
// (sluice_tls_handshake_failures_total{reason}).
type FailReason uint8

// Handshake failure reasons. The zero value is FailOther.
const (
	// FailOther: anything not below (malformed hello, plaintext HTTP on
	// the TLS port, internal errors).
	FailOther FailReason = iota
	// FailUnrecognizedName: no certificate for the SNI and no default
	// (RFC 6066 3), either side reporting it.
	FailUnrecognizedName
	// FailNoSharedCipher: no cipher suite, or no key exchange group, in
	// common.
	FailNoSharedCipher
	// FailProtocolVersion: no TLS version in common, or a downgrade
	// attempt (RFC 7507 inappropriate_fallback).
	FailProtocolVersion
	// FailBadCertificate: the peer rejected our certificate (a
	// certificate alert from it), or we rejected the peer's.
	FailBadCertificate
	// FailNoApplicationProtocol: the client offered ALPN protocols, none of
	// which we serve (RFC 7301 3.2).
	FailNoApplicationProtocol
	// FailTimeout: the handshake deadline or context expired.
	FailTimeout
	// FailEOF: the peer closed or reset the connection mid-handshake
	// (scanners, health checks, clients giving up).
	FailEOF

	numFailReasons
)

var failReasonNames = [numFailReasons]string{
	FailOther:                 "other",
	FailUnrecognizedName:      "unrecognized_name",
	FailNoSharedCipher:        "no_shared_cipher",
	FailProtocolVersion:       "protocol_version",
	FailBadCertificate:        "bad_certificate",
	FailNoApplicationProtocol: "no_application_protocol",
	FailTimeout:               "timeout",
	FailEOF:                   "eof",
}

// String returns the snake_case label.
func (r FailReason) String() string {
	if r < numFailReasons {
		return failReasonNames[r]
	}
	return "other"
}

// FailReasons lists every reason, for pre-registering metric labels.
func FailReasons() []FailReason {
	out := make([]FailReason, numFailReasons)
	for i := range out {
		out[i] = FailReason(i)
	}
	return out
}

// ClassifyHandshakeError maps a handshake error (from either side of
// crypto/tls) to a FailReason. nil maps to FailOther.
//
// crypto/tls exposes few typed errors: alerts received from the peer come
// as a net.OpError "remote error" around an unexported alert type, and its
// own failures as plain errors. Their texts are matched here; the tests
// produce each one with real handshakes, so a wording change in a Go
// release fails them rather than silently moving counts to "other".
func ClassifyHandshakeError(err error) FailReason {
	if err == nil {
		return FailOther
	}
	// Alerts the peer sent us.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return classifyAlert(strings.TrimPrefix(op.Err.Error(), "tls: "))
	}
	var ae tls.AlertError // QUIC-style wrapping; also what we sent, when present
	if errors.As(err, &ae) {
		if r := classifyAlert(strings.TrimPrefix(ae.Error(), "tls: ")); r != FailOther {
			return r
		}
	}
	var nerr net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return FailTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return FailEOF
	}
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var cie x509.CertificateInvalidError
	var hne x509.HostnameError
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &cie) || errors.As(err, &hne) {
		return FailBadCertificate
	}
	msg := err.Error()
	for _, m := range localMessages {
		if strings.Contains(msg, m.text) {
			return m.reason
		}
	}
	return FailOther
}

// localMessages are crypto/tls's own handshake failures (Go 1.26 texts).
var localMessages = []struct {
	text   string
	reason FailReason
}{
	{"tls: no certificates configured", FailUnrecognizedName},
	{"tls: no cipher suite supported by both client and server", FailNoSharedCipher},
	{"tls: no key exchanges supported by both client and server", FailNoSharedCipher},
	{"tls: no ECDHE curve supported by both client and server", FailNoSharedCipher},
	{"tls: client offered only unsupported versions", FailProtocolVersion},
	{"tls: server selected unsupported protocol version", FailProtocolVersion},
	{"tls: client using inappropriate protocol fallback", FailProtocolVersion},
	{"tls: unsupported SSLv2 handshake received", FailProtocolVersion},
	{"tls: client requested unsupported application protocols", FailNoApplicationProtocol},
	{"tls: server selected unadvertised ALPN protocol", FailNoApplicationProtocol},
	{"tls: failed to verify certificate", FailBadCertificate},
	{"tls: failed to parse certificate", FailBadCertificate},
	{"tls: client didn't provide a certificate", FailBadCertificate},
}

// classifyAlert maps an alert description (crypto/tls's text, without
// the "tls: " prefix) to a reason.
func classifyAlert(desc string) FailReason {
	switch desc {
	case "unrecognized name":
		return FailUnrecognizedName
	case "handshake failure", "insufficient security level":
		// RFC 8446 6.2: handshake_failure is what a peer sends when it
		// finds no acceptable parameters, in practice no common suite.
		return FailNoSharedCipher
	case "protocol version not supported", "inappropriate fallback":
		return FailProtocolVersion
	case "bad certificate", "unsupported certificate", "revoked certificate",
		"expired certificate", "unknown certificate", "unknown certificate authority",
		"certificate required", "bad certificate status response", "bad certificate hash value":
		return FailBadCertificate
	case "no application protocol":
		return FailNoApplicationProtocol
	}
	return FailOther
}
