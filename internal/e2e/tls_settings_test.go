package e2e

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/sluice-proxy/sluice/internal/config"
)

// tlsSettingsConfig has three listeners with one certificate:
// @L1@ TLS 1.3 only; @L2@ TLS 1.2 only with one ChaCha20 suite; @L3@
// defaults (TLS 1.2 and 1.3, Go's suites).
const tlsSettingsConfig = `
[[listeners]]
address = "@L1@"
protocol = "https"
tls_versions = ["TLS1.3"]
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[[listeners]]
address = "@L2@"
protocol = "https"
tls_versions = ["TLS1.2"]
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[[listeners]]
address = "@L3@"
protocol = "https"
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "app.example.com" },
  { address = "@L2@", hostname = "app.example.com" },
  { address = "@L3@", hostname = "app.example.com" },
]
backends = [ { address = "@BE@" } ]
`

func startTLSSettings(t *testing.T) (*Sluice, *TLSCA) {
	ca := NewTLSCA(t)
	app := ca.Issue(t, "app.example.com")
	return Start(t, tlsSettingsConfig, certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "APP", app)), ca
}

// TestTLSVersionsAndCipherSuites: tls_versions and cipher_suites are
// enforced: a client outside them fails the handshake (counted by reason),
// a client inside gets exactly what was configured, and the access log
// records the version, the cipher and the SNI of the request's connection.
func TestTLSVersionsAndCipherSuites(t *testing.T) {
	s, _ := startTLSSettings(t)
	l1, l2, l3 := s.Addr("@L1@"), s.Addr("@L2@"), s.Addr("@L3@")
	suite := func(ids ...uint16) []uint16 { return ids }
	for _, tc := range []struct {
		name    string
		addr    string
		minV    uint16
		maxV    uint16
		suites  []uint16
		reason  string // handshake fails with this reason; "" = succeeds
		version uint16
		cipher  uint16
	}{
		{"tls13-only/refuses-tls12-client", l1, 0, tls.VersionTLS12, nil, "protocol_version", 0, 0},
		{"tls13-only/serves-tls13", l1, 0, 0, nil, "", tls.VersionTLS13, 0},
		{"tls12-only/refuses-tls13-client", l2, tls.VersionTLS13, 0, nil, "protocol_version", 0, 0},
		{"tls12-only/refuses-other-suite", l2, 0, 0, suite(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), "no_shared_cipher", 0, 0},
		{"tls12-only/serves-configured-suite", l2, 0, 0, nil, "", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"defaults/tls12", l3, 0, tls.VersionTLS12, nil, "", tls.VersionTLS12, 0},
		{"defaults/tls13", l3, 0, 0, nil, "", tls.VersionTLS13, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsClient("app.example.com", "h2", "http/1.1")
			cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = tc.minV, tc.maxV, tc.suites
			before := hsFailures(s, tc.addr, tc.reason)
			conn, err := TLSDial(t, tc.addr, cfg)
			if tc.reason != "" {
				if err == nil {
					t.Fatalf("handshake succeeded with %s", tls.VersionName(conn.ConnectionState().Version))
				}
				waitMetric(t, tc.reason+" failures", before+1, func() float64 { return hsFailures(s, tc.addr, tc.reason) })
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			cs := conn.ConnectionState()
			if cs.Version != tc.version || (tc.cipher != 0 && cs.CipherSuite != tc.cipher) {
				t.Fatalf("negotiated %s %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
			}
			path := "/settings/" + strings.ReplaceAll(tc.name, "/", "-")
			if st, _ := newTLSH2(t, conn).get(t, "app.example.com", path); st != 200 {
				t.Fatalf("request: %d", st)
			}
			rec := tlsRecordFor(t, s, path)
			if rec["tls_version"] != tls.VersionName(cs.Version) || rec["tls_cipher"] != tls.CipherSuiteName(cs.CipherSuite) || rec["sni"] != "app.example.com" {
				t.Fatalf("access log: tls_version=%v tls_cipher=%v sni=%v, want %s %s app.example.com",
					rec["tls_version"], rec["tls_cipher"], rec["sni"], tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
			}
		})
	}
}

// TestTLSOpenSSLVersionsAndCiphers: the same limits seen by OpenSSL.
func TestTLSOpenSSLVersionsAndCiphers(t *testing.T) {
	openssl := RequireTool(t, "openssl")
	s, ca := startTLSSettings(t)
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		want string
	}{
		{"tls13-only/tls1_2", []string{"-connect", s.Addr("@L1@"), "-tls1_2"}, false, ""},
		{"tls13-only/tls1_3", []string{"-connect", s.Addr("@L1@"), "-tls1_3"}, true, "Protocol version: TLSv1.3"},
		{"tls12-only/tls1_3", []string{"-connect", s.Addr("@L2@"), "-tls1_3"}, false, ""},
		{"tls12-only/aes-gcm", []string{"-connect", s.Addr("@L2@"), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, false, ""},
		{"tls12-only/chacha", []string{"-connect", s.Addr("@L2@"), "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, true, "Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"s_client", "-brief", "-CAfile", ca.CertFile, "-servername", "app.example.com"}, tc.args...)
			out, err := Run(t, 20*time.Second, openssl, args...)
			established := strings.Contains(out, "Verification: OK") && err == nil
			if established != tc.ok || !strings.Contains(out, tc.want) {
				t.Fatalf("openssl %s: established=%v (err %v), want %v, %q:\n%s", strings.Join(tc.args, " "), established, err, tc.ok, tc.want, out)
			}
		})
	}
}

// TestTLSHandshakeFailureReasons: every handshake failure is counted in
// sluice_tls_handshake_failures_total{listener,reason} under the reason a
// operator can act on.
func TestTLSHandshakeFailureReasons(t *testing.T) {
	s, _ := startTLSSettings(t)
	l1, l2 := s.Addr("@L1@"), s.Addr("@L2@")
	for _, tc := range []struct {
		reason string
		addr   string
		client func(t *testing.T, addr string)
	}{
		{"protocol_version", l1, func(t *testing.T, addr string) {
			cfg := tlsClient("app.example.com")
			cfg.MaxVersion = tls.VersionTLS12
			TLSDial(t, addr, cfg)
		}},
		{"no_shared_cipher", l2, func(t *testing.T, addr string) {
			cfg := tlsClient("app.example.com")
			cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			TLSDial(t, addr, cfg)
		}},
		{"no_application_protocol", l1, func(t *testing.T, addr string) {
			TLSDial(t, addr, tlsClient("app.example.com", "spdy/3"))
		}},
		{"bad_certificate", l1, func(t *testing.T, addr string) {
			// A verifying client that does not trust the certificate
			// sends a bad_certificate alert.
			TLSDial(t, addr, &tls.Config{ServerName: "app.example.com"})
		}},
		{"other", l1, func(t *testing.T, addr string) {
			// Plaintext HTTP on the TLS port.
			c := Dial(t, addr)
			c.Send("GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n")
			c.R.ReadByte()
		}},
		{"eof", l1, func(t *testing.T, addr string) {
			// A client giving up mid-handshake: the first bytes of a
			// ClientHello, then close.
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x80, 0x01})
			c.Close()
		}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			before := hsFailures(s, tc.addr, tc.reason)
			tc.client(t, tc.addr)
			waitMetric(t, tc.reason+" failures", before+1, func() float64 { return hsFailures(s, tc.addr, tc.reason) })
		})
	}
}

// TestTLSCertificateChain: certificate_chain is sent after the leaf, for a
// listener's default certificate and for a frontend's, so a client that
// trusts only the root verifies both.
func TestTLSCertificateChain(t *testing.T) {
	root := NewTLSCA(t)
	inter := root.Intermediate(t)
	def := inter.Issue(t, "default.example.net")
	app := inter.Issue(t, "app.example.com")
	vars := certVars(certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "DEF", def), "APP", app)
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@DEF_CERT@"
key = "@DEF_KEY@"
certificate_chain = "@DEF_CHAIN@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "app.example.com", certificate = "@APP_CERT@", key = "@APP_KEY@", certificate_chain = "@APP_CHAIN@" },
]
backends = [ { address = "@BE@" } ]
`, vars)
	for _, tc := range []struct {
		sni  string
		leaf *TLSLeaf
	}{{"app.example.com", app}, {"default.example.net", def}} {
		cfg := &tls.Config{ServerName: tc.sni, RootCAs: root.Pool, NextProtos: []string{"h2"}}
		conn := mustTLSDial(t, s.Addr("@L1@"), cfg) // verifies against the root
		cs := conn.ConnectionState()
		if len(cs.PeerCertificates) != 2 || ServedID(cs) != tc.leaf.ID || !cs.PeerCertificates[1].Equal(inter.Cert) {
			t.Fatalf("%s: served %d certificates, want leaf + intermediate", tc.sni, len(cs.PeerCertificates))
		}
	}
}

// TestTLSSharedCertificateFile: one SAN certificate file on several
// frontends and as the listener default is loaded once and serves every
// name, with no warning.
func TestTLSSharedCertificateFile(t *testing.T) {
	ca := NewTLSCA(t)
	shared := ca.Issue(t, "a.example.com", "b.example.com", "c.example.com")
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@S_CERT@"
key = "@S_KEY@"
[clusters.one]
frontends = [
  { address = "@L1@", hostname = "a.example.com", certificate = "@S_CERT@", key = "@S_KEY@" },
  { address = "@L1@", hostname = "b.example.com", certificate = "@S_CERT@", key = "@S_KEY@" },
]
backends = [ { address = "@BE@" } ]
[clusters.two]
frontends = [
  { address = "@L1@", hostname = "c.example.com", certificate = "@S_CERT@", key = "@S_KEY@" },
]
backends = [ { address = "@BE@" } ]
`, certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "S", shared))
	addr := s.Addr("@L1@")
	if n := s.CertStore(addr).Len(); n != 1 {
		t.Fatalf("store holds %d certificates, want 1", n)
	}
	if strings.Contains(s.Log.String(), "level=WARN") {
		t.Fatalf("warnings for a correct config:\n%s", s.Log.String())
	}
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		cfg := &tls.Config{ServerName: h, RootCAs: ca.Pool, NextProtos: []string{"h2"}}
		if st, _ := newTLSH2(t, mustTLSDial(t, addr, cfg)).get(t, h, "/shared"); st != 200 {
			t.Fatalf("%s: %d", h, st)
		}
	}
}

// TestTLSHandshakeTimeout: the request timeout bounds the handshake, so a
// client that connects and sends nothing (a slow loris at the TLS layer)
// is closed and counted as a timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	ca := NewTLSCA(t)
	app := ca.Issue(t, "app.example.com")
	s := StartWith(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "app.example.com" } ]
backends = [ { address = "@BE@" } ]
`, certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "APP", app), func(c *config.Config) {
		c.Listeners[0].RequestTimeout = 200 * time.Millisecond
	})
	addr := s.Addr("@L1@")
	c := Dial(t, addr) // 10 s deadline: far beyond the server's 200 ms
	if _, err := c.R.ReadByte(); err != io.EOF {
		t.Fatalf("silent client: read %v, want EOF (closed by sluice)", err)
	}
	waitMetric(t, "timeout failures", 1, func() float64 { return hsFailures(s, addr, "timeout") })
}

// TestTLSH2InadequateSecurity: a TLS 1.2 client that negotiates h2 with a
// suite on RFC 9113's block list (CBC, which Go's default TLS 1.2 suites
// still include) gets a connection error INADEQUATE_SECURITY (RFC 9113
// 9.2.2) instead of being served.
func TestTLSH2InadequateSecurity(t *testing.T) {
	s, _ := startTLSSettings(t)
	cfg := tlsClient("app.example.com", "h2")
	cfg.MaxVersion = tls.VersionTLS12
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	conn := mustTLSDial(t, s.Addr("@L3@"), cfg)
	if cs := conn.ConnectionState(); cs.NegotiatedProtocol != "h2" || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA {
		t.Fatalf("negotiated %q with %s", cs.NegotiatedProtocol, tls.CipherSuiteName(cs.CipherSuite))
	}
	io.WriteString(conn, http2.ClientPreface)
	fr := http2.NewFramer(conn, conn)
	fr.WriteSettings()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY before %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeInadequateSecurity {
				t.Fatalf("GOAWAY %v, want INADEQUATE_SECURITY", ga.ErrCode)
			}
			return
		}
	}
}
