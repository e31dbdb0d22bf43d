package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestTLSALPN: HTTP/2 and HTTP/1.1 are both served over TLS, the listener's
// alpn_protocols order decides when the client offers both (RFC 7301 3.2:
// the server selects), a client without ALPN is served HTTP/1.1 where
// http/1.1 is offered, and a listener without http/1.1 serves nothing but
// h2: an ALPN mismatch fails the handshake (no_application_protocol), and
// a connection that negotiated nothing is closed and counted likewise.
func TestTLSALPN(t *testing.T) {
	be := tlsHostBackend(t)
	ca := NewTLSCA(t)
	leaf := ca.Issue(t, "app.example.com")
	vars := certVars(map[string]string{"BE": be.Addr}, "APP", leaf)
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[[listeners]]
address = "@L2@"
protocol = "https"
alpn_protocols = ["http/1.1", "h2"]
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[[listeners]]
address = "@L3@"
protocol = "https"
alpn_protocols = ["h2"]
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[[listeners]]
address = "@L4@"
protocol = "https"
alpn_protocols = ["http/1.1"]
certificate = "@APP_CERT@"
key = "@APP_KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "app.example.com" },
  { address = "@L2@", hostname = "app.example.com" },
  { address = "@L3@", hostname = "app.example.com" },
  { address = "@L4@", hostname = "app.example.com" },
]
backends = [ { address = "@BE@" } ]
`, vars)
	const (
		h2     = "h2"
		h1     = "http/1.1"
		closed = "closed"  // handshake completes, then sluice closes
		refuse = "no_alpn" // handshake fails: no_application_protocol
		none   = "(none)"  // no protocol negotiated: HTTP/1.1
	)
	for _, tc := range []struct {
		name   string
		ln     string
		offer  []string
		expect string
	}{
		{"default/h2+h1", "@L1@", []string{h2, h1}, h2},
		{"default/h1+h2", "@L1@", []string{h1, h2}, h2}, // server preference wins
		{"default/h2", "@L1@", []string{h2}, h2},
		{"default/h1", "@L1@", []string{h1}, h1},
		{"default/no-alpn", "@L1@", nil, none},
		{"default/unknown", "@L1@", []string{"spdy/3"}, refuse},
		{"h1-first/h2+h1", "@L2@", []string{h2, h1}, h1},
		{"h1-first/h2", "@L2@", []string{h2}, h2},
		{"h2-only/h2+h1", "@L3@", []string{h2, h1}, h2},
		{"h2-only/h1", "@L3@", []string{h1}, closed},
		{"h2-only/no-alpn", "@L3@", nil, closed},
		{"h1-only/h2", "@L4@", []string{h2}, refuse},
		{"h1-only/h2+h1", "@L4@", []string{h2, h1}, h1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := s.Addr(tc.ln)
			before := hsFailures(s, addr, "no_application_protocol")
			conn, err := TLSDial(t, addr, tlsClient("app.example.com", tc.offer...))
			if tc.expect == refuse {
				if err == nil || !strings.Contains(err.Error(), "no application protocol") {
					t.Fatalf("handshake: %v, want the no_application_protocol alert", err)
				}
				waitMetric(t, "no_application_protocol failures", before+1, func() float64 { return hsFailures(s, addr, "no_application_protocol") })
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			got := conn.ConnectionState().NegotiatedProtocol
			switch tc.expect {
			case h2:
				if got != h2 {
					t.Fatalf("ALPN %q, want h2", got)
				}
				if st, body := newTLSH2(t, conn).get(t, "app.example.com", "/alpn"); st != 200 {
					t.Fatalf("h2 request: %d %q", st, body)
				}
			case h1, none:
				if want := map[string]string{h1: h1, none: ""}[tc.expect]; got != want {
					t.Fatalf("ALPN %q, want %q", got, want)
				}
				if st, body := newTLSH1(conn).get(t, "app.example.com", "/alpn"); st != 200 {
					t.Fatalf("HTTP/1.1 request: %d %q", st, body)
				}
			case closed:
				if got != "" {
					t.Fatalf("ALPN %q, want none", got)
				}
				if st, _, err := newTLSH1(conn).tryGet("app.example.com", "/alpn"); err == nil {
					t.Fatalf("an h2-only listener answered HTTP/1.1 (%d)", st)
				}
				waitMetric(t, "no_application_protocol failures", before+1, func() float64 { return hsFailures(s, addr, "no_application_protocol") })
			}
		})
	}
	for _, want := range []string{"h2", "http/1.1"} {
		found := false
		for _, r := range tlsRecords(t, s, 1) {
			if r["path"] == "/alpn" && r["proto"] == want {
				found = true
			}
		}
		if !found {
			t.Errorf("no access-log record with proto %q", want)
		}
	}
}

// TestTLSCurl: curl (OpenSSL) negotiates h2 and http/1.1 as asked,
// verifies the certificate sluice picks for each name against the CA, and
// gets the backend's answer; without SNI (an IP in the URL) it is served
// too; an unknown name on a listener without a default fails with
// unrecognized_name.
func TestTLSCurl(t *testing.T) {
	curl := RequireTool(t, "curl")
	x := startTLSSNI(t)
	port1, port2 := portOf(x.l1), portOf(x.l2)
	for _, tc := range []struct {
		name, host, port string
		args             []string
		want             string
	}{
		{"h2", "app.example.com", port1, []string{"--http2"}, "host=app.example.com:" + port1 + " path=/curl\n2 200"},
		{"http1.1", "app.example.com", port1, []string{"--http1.1"}, "host=app.example.com:" + port1 + " path=/curl\n1.1 200"},
		{"san", "api.example.com", port1, []string{"--http2"}, "host=api.example.com:" + port1 + " path=/curl\n2 200"},
		{"wildcard", "x1.apps.example.com", port1, []string{"--http2"}, "host=x1.apps.example.com:" + port1 + " path=/curl\n2 200"},
		{"exact-over-wildcard", "special.apps.example.com", port1, []string{"--http2"}, "host=special.apps.example.com:" + port1 + " path=/curl\n2 200"},
		{"no-default", "only.example.com", port2, []string{"--http2"}, "host=only.example.com:" + port2 + " path=/curl\n2 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "--max-time", "10", "-w", "\n%{http_version} %{http_code}",
				"--cacert", x.ca.CertFile, "--resolve", tc.host + ":" + tc.port + ":127.0.0.1"}, tc.args...)
			args = append(args, "https://"+tc.host+":"+tc.port+"/curl")
			out, err := Run(t, 20*time.Second, curl, args...)
			if err != nil || out != tc.want {
				t.Fatalf("curl: %v\n%q, want %q", err, out, tc.want)
			}
		})
	}
	t.Run("no-sni", func(t *testing.T) {
		// curl sends no SNI for an IP literal (RFC 6066 3).
		out, err := Run(t, 20*time.Second, curl, "-sS", "--max-time", "10", "-k", "-w", "\n%{http_version} %{http_code}",
			"-H", "Host: other.example.com", "https://"+x.l1+"/curl")
		if want := "host=other.example.com path=/curl\n2 200"; err != nil || out != want {
			t.Fatalf("curl: %v\n%q, want %q", err, out, want)
		}
	})
	t.Run("unrecognized-name", func(t *testing.T) {
		out, err := Run(t, 20*time.Second, curl, "-sS", "--max-time", "10", "-k",
			"--resolve", "nope.example.com:"+port2+":127.0.0.1", "https://nope.example.com:"+port2+"/")
		if err == nil || !strings.Contains(out, "unrecognized name") {
			t.Fatalf("curl: %v\n%s\nwant a failure with unrecognized name", err, out)
		}
	})
}

// TestTLSOpenSSLClient: openssl s_client sees the certificate chosen per
// SNI, the default one with -noservername, the ALPN protocol the listener
// prefers, and the unrecognized_name alert on a listener without a
// default. An SNI with a trailing dot is refused with decode_error by
// crypto/tls, as RFC 6066 3 says the name is sent without it (Go clients
// strip it; Host headers with one are normalized by the coalescing check).
func TestTLSOpenSSLClient(t *testing.T) {
	openssl := RequireTool(t, "openssl")
	x := startTLSSNI(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"exact", []string{"-connect", x.l1, "-servername", "app.example.com", "-alpn", "h2,http/1.1"},
			[]string{"subject=CN = app.example.com", "Verify return code: 0 (ok)", "ALPN protocol: h2"}},
		{"san", []string{"-connect", x.l1, "-servername", "api.example.com", "-alpn", "http/1.1,h2"},
			[]string{"subject=CN = app.example.com", "Verify return code: 0 (ok)", "ALPN protocol: h2"}},
		{"wildcard", []string{"-connect", x.l1, "-servername", "foo.apps.example.com", "-alpn", "http/1.1"},
			[]string{"subject=CN = *.apps.example.com", "Verify return code: 0 (ok)", "ALPN protocol: http/1.1"}},
		{"no-sni", []string{"-connect", x.l1, "-noservername"},
			[]string{"subject=CN = default.example.net", "Verify return code: 0 (ok)", "No ALPN negotiated"}},
		{"unknown-sni", []string{"-connect", x.l1, "-servername", "zz.example.org"},
			[]string{"subject=CN = default.example.net"}},
		{"unrecognized-name", []string{"-connect", x.l2, "-servername", "zz.example.org"},
			[]string{"unrecognized name"}},
		{"trailing-dot", []string{"-connect", x.l1, "-servername", "app.example.com."},
			[]string{"decode error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"s_client", "-CAfile", x.ca.CertFile}, tc.args...)
			out, _ := Run(t, 20*time.Second, openssl, args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("openssl %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		})
	}
}
