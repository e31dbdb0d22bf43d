package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestH2Spec runs h2spec (all sections, plain and --strict) against the
// h2c and the TLS listener. Any failed case fails the test.
func TestH2Spec(t *testing.T) {
	h2spec := RequireTool(t, "h2spec")
	be := StartBackend(t, nil)
	cert := NewCert(t, "localhost", "127.0.0.1")
	s := Start(t, `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[[listeners]]
address = "@L2@"
protocol = "https"
certificate = "@CERT@"
key = "@KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "127.0.0.1" },
  { address = "@L2@", hostname = "127.0.0.1" },
]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": be.Addr, "CERT": cert.CertFile, "KEY": cert.KeyFile})

	summary := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`)
	for _, tc := range []struct {
		name string
		addr string
		args []string
	}{
		{"h2c", s.Addr("@L1@"), nil},
		{"h2c_strict", s.Addr("@L1@"), []string{"-S"}},
		{"tls", s.Addr("@L2@"), []string{"-t", "-k"}},
		{"tls_strict", s.Addr("@L2@"), []string{"-t", "-k", "-S"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := strings.Cut(tc.addr, ":")
			args := append([]string{"-h", host, "-p", port, "-o", "5"}, tc.args...)
			out, _ := Run(t, 3*time.Minute, h2spec, args...)
			m := summary.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no h2spec summary:\n%s", out)
			}
			t.Logf("h2spec %s: %s", tc.name, m[0])
			if m[4] != "0" {
				var fails []string
				for _, line := range strings.Split(out, "\n") {
					if strings.Contains(line, "×") || strings.Contains(line, "->") || strings.Contains(line, "Expected") || strings.Contains(line, "Actual") {
						fails = append(fails, line)
					}
				}
				t.Fatalf("h2spec %s: %s\n%s", tc.name, m[0], strings.Join(fails, "\n"))
			}
		})
	}
}
