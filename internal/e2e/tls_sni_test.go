package e2e

import (
	"crypto/tls"
	"strings"
	"testing"
)

// tlsSNI is a sluice with two https listeners in front of one backend:
//
//	@L1@: default certificate default.example.net, and frontends with
//	      their own certificates: app (SAN app + api), wildcard
//	      *.apps.example.com, special.apps.example.com (exact beats the
//	      wildcard), legacy.example.com (CN only, no SAN); api.example.com
//	      and other.example.com are routed without a certificate of their
//	      own.
//	@L2@: no default certificate; only.example.com.
type tlsSNI struct {
	*Sluice
	ca                                    *TLSCA
	def, app, wild, special, legacy, only *TLSLeaf
	l1, l2                                string
}

const tlsSNIConfig = `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@DEF_CERT@"
key = "@DEF_KEY@"
[[listeners]]
address = "@L2@"
protocol = "https"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "app.example.com", certificate = "@APP_CERT@", key = "@APP_KEY@" },
  { address = "@L1@", hostname = "api.example.com" },
  { address = "@L1@", hostname = "*.apps.example.com", certificate = "@WILD_CERT@", key = "@WILD_KEY@" },
  { address = "@L1@", hostname = "special.apps.example.com", certificate = "@SPECIAL_CERT@", key = "@SPECIAL_KEY@" },
  { address = "@L1@", hostname = "legacy.example.com", certificate = "@LEGACY_CERT@", key = "@LEGACY_KEY@" },
  { address = "@L1@", hostname = "other.example.com" },
  { address = "@L2@", hostname = "only.example.com", certificate = "@ONLY_CERT@", key = "@ONLY_KEY@" },
]
backends = [ { address = "@BE@" } ]
`

func startTLSSNI(t testing.TB) *tlsSNI {
	t.Helper()
	be := tlsHostBackend(t)
	ca := NewTLSCA(t)
	x := &tlsSNI{
		ca:      ca,
		def:     ca.Issue(t, "default.example.net"),
		app:     ca.Issue(t, "app.example.com", "api.example.com"),
		wild:    ca.Issue(t, "*.apps.example.com"),
		special: ca.Issue(t, "special.apps.example.com"),
		legacy:  ca.IssueSpec(t, LeafSpec{Names: []string{"legacy.example.com"}, CNOnly: true}),
		only:    ca.Issue(t, "only.example.com"),
	}
	vars := map[string]string{"BE": be.Addr}
	for name, l := range map[string]*TLSLeaf{"DEF": x.def, "APP": x.app, "WILD": x.wild, "SPECIAL": x.special, "LEGACY": x.legacy, "ONLY": x.only} {
		certVars(vars, name, l)
	}
	x.Sluice = Start(t, tlsSNIConfig, vars)
	x.l1, x.l2 = x.Addr("@L1@"), x.Addr("@L2@")
	return x
}

// TestTLSCertificatePerSNI: each SNI gets the certificate the store's
// rules pick (exact, then one-label wildcard, CN when there is no SAN,
// then the default; case and trailing dot ignored), a verifying client
// accepts it for that name, and a request on the connection is served.
func TestTLSCertificatePerSNI(t *testing.T) {
	x := startTLSSNI(t)
	for _, tc := range []struct {
		sni    string
		want   *TLSLeaf
		verify string // name a browser would verify; "" = not covered
		host   string // request authority
		status int
	}{
		{"app.example.com", x.app, "app.example.com", "app.example.com", 200},
		{"api.example.com", x.app, "api.example.com", "api.example.com", 200},
		{"APP.Example.COM", x.app, "app.example.com", "app.example.com", 200},
		{"foo.apps.example.com", x.wild, "foo.apps.example.com", "foo.apps.example.com", 200},
		{"special.apps.example.com", x.special, "special.apps.example.com", "special.apps.example.com", 200},
		// RFC 6125 6.4.3: a wildcard covers exactly one label, never two
		// and never the bare parent: the default answers, and the router
		// has no route for them either.
		{"a.b.apps.example.com", x.def, "", "a.b.apps.example.com", 404},
		{"apps.example.com", x.def, "", "apps.example.com", 404},
		// Selected by its CN (RFC 6125 6.4.4); Go clients no longer
		// verify CN-only certificates, so only the choice is checked.
		{"legacy.example.com", x.legacy, "", "legacy.example.com", 200},
		{"unknown.example.org", x.def, "", "unknown.example.org", 404},
		// No SNI: the default certificate, and the connection may carry
		// any authority (the client named nothing to compare with).
		{"", x.def, "default.example.net", "other.example.com", 200},
	} {
		t.Run(tc.sni, func(t *testing.T) {
			tc1 := mustTLSDial(t, x.l1, tlsClient(tc.sni, "h2"))
			cs := tc1.ConnectionState()
			if got := ServedID(cs); got != tc.want.ID {
				t.Fatalf("served %v, want %v", cs.PeerCertificates[0].Subject, tc.want.Leaf.Subject)
			}
			if tc.verify != "" {
				tlsVerify(t, cs, x.ca.Pool, tc.verify)
			}
			st, body := newTLSH2(t, tc1).get(t, tc.host, "/sni")
			if st != tc.status {
				t.Fatalf("GET %s: %d %q, want %d", tc.host, st, body, tc.status)
			}
			if st == 200 && body != "host="+tc.host+" path=/sni" {
				t.Fatalf("backend saw %q", body)
			}
		})
	}
}

// TestTLSUnknownSNIWithoutDefault: on a listener without a default
// certificate, an SNI no certificate covers, or no SNI at all, fails the
// handshake with the unrecognized_name alert (RFC 6066 3), counted by
// reason; a known name still works.
func TestTLSUnknownSNIWithoutDefault(t *testing.T) {
	x := startTLSSNI(t)
	for i, sni := range []string{"nope.example.com", ""} {
		_, err := TLSDial(t, x.l2, tlsClient(sni, "h2"))
		if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
			t.Fatalf("SNI %q: handshake error %v, want the unrecognized_name alert", sni, err)
		}
		waitMetric(t, "unrecognized_name failures", float64(i+1), func() float64 { return hsFailures(x.Sluice, x.l2, "unrecognized_name") })
	}
	tc := mustTLSDial(t, x.l2, tlsClient("only.example.com", "http/1.1"))
	tlsVerify(t, tc.ConnectionState(), x.ca.Pool, "only.example.com")
	if st, body := newTLSH1(tc).get(t, "only.example.com", "/only"); st != 200 {
		t.Fatalf("only.example.com: %d %q", st, body)
	}
	// The listener with a default never fails for a name.
	if n := hsFailures(x.Sluice, x.l1, "unrecognized_name"); n != 0 {
		t.Fatalf("listener with a default counted %v unrecognized_name failures", n)
	}
}

// TestTLSDefaultCertificateWithoutSNI: clients that send no SNI (an IP in
// the URL: curl, Go) get the default certificate and are served whatever
// authority they ask for.
func TestTLSDefaultCertificateWithoutSNI(t *testing.T) {
	x := startTLSSNI(t)
	for _, host := range []string{"app.example.com", "other.example.com", "foo.apps.example.com"} {
		tc := mustTLSDial(t, x.l1, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if cs := tc.ConnectionState(); ServedID(cs) != x.def.ID || cs.ServerName != "" {
			t.Fatalf("no SNI: served %v (sni %q), want the default", cs.PeerCertificates[0].Subject, cs.ServerName)
		}
		if st, body := newTLSH1(tc).get(t, host, "/nosni"); st != 200 || body != "host="+host+" path=/nosni" {
			t.Fatalf("no SNI, Host %s: %d %q", host, st, body)
		}
	}
	rec := tlsRecordFor(t, x.Sluice, "/nosni")
	if rec["sni"] != "" || rec["tls_version"] != "TLS 1.3" {
		t.Fatalf("access log of a connection without SNI: sni=%v tls_version=%v", rec["sni"], rec["tls_version"])
	}
}

// TestTLSStartupWarnings: a frontend certificate that does not name its
// hostname, or a hostname no certificate covers, is a warning at startup
// (not an error: the certificate is still served for its own names, and
// one can be added at runtime); correct frontends produce none.
func TestTLSStartupWarnings(t *testing.T) {
	x := startTLSSNI(t)
	log := x.Log.String()
	// other.example.com is routed on @L1@ with no certificate of its own:
	// the default answers for it and does not name it.
	if !strings.Contains(log, "hostname is answered with a certificate that does not name it") || !strings.Contains(log, "hostname=other.example.com") {
		t.Errorf("no warning for other.example.com:\n%s", log)
	}
	for _, h := range []string{"app.example.com", "api.example.com", "apps.example.com", "legacy.example.com", "only.example.com"} {
		if strings.Contains(log, "hostname="+h) || strings.Contains(log, "hostname=*."+h) {
			t.Errorf("spurious warning about %s:\n%s", h, log)
		}
	}

	ca := NewTLSCA(t)
	wrong := ca.Issue(t, "elsewhere.example.com")
	vars := certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "WRONG", wrong)
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "mismatch.example.com", certificate = "@WRONG_CERT@", key = "@WRONG_KEY@" },
  { address = "@L1@", hostname = "nocert.example.com" },
]
backends = [ { address = "@BE@" } ]
`, vars)
	log = s.Log.String()
	for _, want := range []string{
		"frontend certificate does not name its hostname",
		"hostname=mismatch.example.com",
		"no certificate for hostname and no default certificate",
		"hostname=nocert.example.com",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The mismatched certificate still serves its own name.
	tc := mustTLSDial(t, s.Addr("@L1@"), tlsClient("elsewhere.example.com"))
	if ServedID(tc.ConnectionState()) != wrong.ID {
		t.Fatal("the frontend certificate is not served for its own name")
	}
}
