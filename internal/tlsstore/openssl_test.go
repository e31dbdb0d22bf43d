package tlsstore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSSLClient checks the store against a client that is not Go's:
// openssl s_client with -servername, verifying the chain against the test
// CA, offering ALPN. Skipped when openssl is not installed.
func TestOpenSSLClient(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	s := NewStore()
	app := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}, viaInter: true}))
	wild := mustAdd(t, s, mkCert(t, certSpec{names: []string{"*.wild.example.com"}, rsa: true}))
	srv := startTLS(t, mustServerConfig(t, Options{}, s))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, mustKeys(t).caPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		sni, alpn, version string
		want               *Cert
	}{
		{"app.example.com", "h2", "-tls1_3", app},
		{"x.wild.example.com", "http/1.1", "-tls1_2", wild},
		{"app.example.com", "http/1.1,h2", "-tls1_2", app},
	}
	for _, tt := range tests {
		t.Run(tt.sni+" "+tt.alpn+" "+tt.version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", srv.addr(),
				"-servername", tt.sni, "-CAfile", ca, "-verify_return_error",
				"-verify_hostname", tt.sni, "-alpn", tt.alpn, tt.version)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("openssl: %v\n%s", err, out)
			}
			r := srv.next()
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.served != tt.want {
				t.Errorf("served %v, want %v", r.served, tt.want)
			}
			wantALPN := "h2"
			if strings.HasPrefix(tt.alpn, "http/1.1") && !strings.Contains(tt.alpn, "h2") {
				wantALPN = "http/1.1"
			}
			if r.cs.NegotiatedProtocol != wantALPN {
				t.Errorf("ALPN %q, want %q", r.cs.NegotiatedProtocol, wantALPN)
			}
			for _, want := range []string{"Verify return code: 0 (ok)", "ALPN protocol: " + wantALPN} {
				if !strings.Contains(string(out), want) {
					t.Errorf("openssl output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestOpenSSLUnrecognizedName: without a default certificate, openssl sees
// the unrecognized_name alert for a name the store does not have.
func TestOpenSSLUnrecognizedName(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	s := NewStore()
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}}))
	srv := startTLS(t, mustServerConfig(t, Options{}, s))
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", srv.addr(), "-servername", "nope.example.com")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("openssl succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "unrecognized name") {
		t.Errorf("openssl output lacks the alert:\n%s", out)
	}
	if r := srv.next(); ClassifyHandshakeError(r.err) != FailUnrecognizedName {
		t.Errorf("server error %v", r.err)
	}
}
