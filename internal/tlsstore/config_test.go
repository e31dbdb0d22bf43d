package tlsstore

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestServerConfig(t *testing.T) {
	s := NewStore()
	tests := []struct {
		name       string
		opts       Options
		wantErr    string
		wantMin    uint16
		wantMax    uint16
		wantALPN   []string
		wantSuites []uint16
	}{
		{name: "defaults", wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantALPN: []string{"h2", "http/1.1"}},
		{name: "TLS 1.3 only", opts: Options{Versions: []string{"TLS1.3"}}, wantMin: tls.VersionTLS13, wantMax: tls.VersionTLS13, wantALPN: []string{"h2", "http/1.1"}},
		{name: "both, any order", opts: Options{Versions: []string{"TLS1.3", "TLS1.2"}}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantALPN: []string{"h2", "http/1.1"}},
		{name: "alpn order kept", opts: Options{ALPN: []string{"http/1.1", "h2"}}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantALPN: []string{"http/1.1", "h2"}},
		{name: "h2 suites", opts: Options{CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantALPN: []string{"h2", "http/1.1"},
			wantSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		{name: "CBC suite without h2", opts: Options{ALPN: []string{"http/1.1"}, CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantALPN: []string{"http/1.1"}, wantSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},

		{name: "unknown version", opts: Options{Versions: []string{"TLS1.1"}}, wantErr: `tls_versions: unknown version "TLS1.1"`},
		{name: "version spelling", opts: Options{Versions: []string{"tlsv1.2"}}, wantErr: `unknown version "tlsv1.2"`},
		{name: "unknown alpn", opts: Options{ALPN: []string{"h3"}}, wantErr: `alpn_protocols: unsupported protocol "h3"`},
		{name: "duplicate alpn", opts: Options{ALPN: []string{"h2", "h2"}}, wantErr: `"h2" listed twice`},
		{name: "unknown suite", opts: Options{CipherSuites: []string{"TLS_FOO"}}, wantErr: `unknown cipher suite "TLS_FOO"`},
		{name: "insecure suite", opts: Options{ALPN: []string{"http/1.1"}, CipherSuites: []string{"TLS_RSA_WITH_AES_128_GCM_SHA256"}}, wantErr: "TLS_RSA_WITH_AES_128_GCM_SHA256 is insecure"},
		{name: "TLS 1.3 suite", opts: Options{CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}}, wantErr: "is a TLS 1.3 suite"},
		{name: "suites without TLS 1.2", opts: Options{Versions: []string{"TLS1.3"}, CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}, wantErr: "TLS 1.2 is not enabled"},
		{name: "h2 with CBC suites", opts: Options{CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"}},
			wantErr: "cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA not allowed with h2 (RFC 9113 9.2.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ServerConfig(tt.opts, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tt.wantMin || cfg.MaxVersion != tt.wantMax {
				t.Errorf("versions %x-%x", cfg.MinVersion, cfg.MaxVersion)
			}
			if !slices.Equal(cfg.NextProtos, tt.wantALPN) {
				t.Errorf("NextProtos = %q", cfg.NextProtos)
			}
			if !slices.Equal(cfg.CipherSuites, tt.wantSuites) {
				t.Errorf("CipherSuites = %x", cfg.CipherSuites)
			}
			if cfg.SessionTicketsDisabled || cfg.GetConfigForClient == nil {
				t.Error("tickets off or no per-handshake selection")
			}
		})
	}
	if _, err := ServerConfig(Options{}, nil); err == nil {
		t.Error("nil store accepted")
	}
	// The caller's slices are not aliased.
	alpn := []string{"h2"}
	cfg, _ := ServerConfig(Options{ALPN: alpn}, s)
	alpn[0] = "http/1.1"
	if cfg.NextProtos[0] != "h2" {
		t.Error("NextProtos aliases Options.ALPN")
	}
}

func TestH2Allowed(t *testing.T) {
	tests := []struct {
		version, suite uint16
		want           bool
	}{
		{tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, true},
		{tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false},
	}
	for _, tt := range tests {
		if got := H2Allowed(tls.ConnectionState{Version: tt.version, CipherSuite: tt.suite}); got != tt.want {
			t.Errorf("H2Allowed(%s, %s) = %v", tls.VersionName(tt.version), tls.CipherSuiteName(tt.suite), got)
		}
	}
}
