package e2e

import (
	"testing"
)

// tlsCoalesceConfig routes four names; the certificate of a.example.com
// also names b.example.com and *.w.example.com, not c.example.com (which
// the default certificate answers).
const tlsCoalesceConfig = `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@DEF_CERT@"
key = "@DEF_KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "a.example.com", certificate = "@A_CERT@", key = "@A_KEY@" },
  { address = "@L1@", hostname = "b.example.com" },
  { address = "@L1@", hostname = "*.w.example.com" },
  { address = "@L1@", hostname = "c.example.com" },
]
backends = [ { address = "@BE@" } ]
`

// coalesceCase is one request on a connection whose SNI is a.example.com.
type coalesceCase struct {
	authority string
	status    int
	coalesced bool // counted in sluice_h2_coalescing_accepted_total
}

// coalesceCases: RFC 9113 9.1.1 lets a client reuse a connection for any
// origin the certificate covers (RFC 6125 6.4.3 wildcards, one label);
// anything else is 421 Misdirected Request (RFC 9110 15.5.20), routed or
// not.
var coalesceCases = []coalesceCase{
	{"a.example.com", 200, false},
	{"a.example.com:443", 200, false},
	{"b.example.com", 200, true},
	{"b.example.com:8443", 200, true},
	{"x.w.example.com", 200, true},
	{"c.example.com", 421, false},     // routed, not covered
	{"y.x.w.example.com", 421, false}, // wildcard is one label deep
	{"w.example.com", 421, false},     // nor the bare parent
	{"unrouted.example", 421, false},  // not covered: 421 before 404
}

func startTLSCoalesce(t *testing.T) (*Sluice, *TLSCA, *TLSLeaf) {
	ca := NewTLSCA(t)
	def := ca.Issue(t, "default.example.net")
	a := ca.Issue(t, "a.example.com", "b.example.com", "*.w.example.com")
	vars := certVars(certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "DEF", def), "A", a)
	return Start(t, tlsCoalesceConfig, vars), ca, a
}

// TestTLSCoalescing: over HTTP/2 and over HTTP/1.1 on TLS, a request whose
// authority the connection's certificate covers is served (and counted
// when it differs from the SNI); a name sluice routes but the certificate
// does not cover gets 421, counted and logged as misdirected.
func TestTLSCoalescing(t *testing.T) {
	s, ca, a := startTLSCoalesce(t)
	addr := s.Addr("@L1@")
	for _, proto := range []string{"h2", "http/1.1"} {
		t.Run(proto, func(t *testing.T) {
			conn := mustTLSDial(t, addr, tlsClient("a.example.com", proto))
			if ServedID(conn.ConnectionState()) != a.ID {
				t.Fatal("a.example.com not served its certificate")
			}
			tlsVerify(t, conn.ConnectionState(), ca.Pool, "b.example.com")
			var get func(authority string) (int, string)
			if proto == "h2" {
				c := newTLSH2(t, conn)
				get = func(h string) (int, string) { return c.get(t, h, "/coalesce") }
			} else {
				// A 421 may end an HTTP/1.1 connection: one connection per
				// request, all with SNI a.example.com.
				get = func(h string) (int, string) {
					c := newTLSH1(mustTLSDial(t, addr, tlsClient("a.example.com", proto)))
					return c.get(t, h, "/coalesce")
				}
			}
			for _, tc := range coalesceCases {
				c0, m0 := coalesced(s), misdirected(s)
				st, body := get(tc.authority)
				if st != tc.status {
					t.Fatalf("%s: %d %q, want %d", tc.authority, st, body, tc.status)
				}
				if st == 200 && body != "host="+tc.authority+" path=/coalesce" {
					t.Fatalf("%s: backend saw %q", tc.authority, body)
				}
				wantC, wantM := c0, m0
				if tc.coalesced {
					wantC++
				}
				if tc.status == 421 {
					wantM++
				}
				if got := coalesced(s); got != wantC {
					t.Fatalf("%s: sluice_h2_coalescing_accepted_total %v, want %v", tc.authority, got, wantC)
				}
				if got := misdirected(s); got != wantM {
					t.Fatalf("%s: sluice_misdirected_requests_total %v, want %v", tc.authority, got, wantM)
				}
			}
		})
	}
	n421 := 0
	for _, r := range tlsRecords(t, s, 1) {
		if r["status"] == float64(421) {
			n421++
			if r["message"] != "misdirected" || r["sni"] != "a.example.com" {
				t.Errorf("421 record: message=%v sni=%v", r["message"], r["sni"])
			}
		}
	}
	if n421 == 0 {
		t.Error("no 421 in the access log")
	}
}

// TestTLSCoalescingDefaultCertificate: when the default certificate
// answers an SNI it does not cover, the connection proves nothing beyond
// that SNI, so only requests for the SNI itself are served; a connection
// without SNI is held to nothing.
func TestTLSCoalescingDefaultCertificate(t *testing.T) {
	s, _, _ := startTLSCoalesce(t)
	addr := s.Addr("@L1@")
	for _, tc := range []struct {
		sni, authority string
		status         int
	}{
		{"c.example.com", "c.example.com", 200},
		{"c.example.com", "a.example.com", 421},
		{"c.example.com", "default.example.net", 421},
		{"", "a.example.com", 200},
		{"", "c.example.com", 200},
	} {
		for _, proto := range []string{"h2", "http/1.1"} {
			conn := mustTLSDial(t, addr, tlsClient(tc.sni, proto))
			var st int
			var body string
			if proto == "h2" {
				st, body = newTLSH2(t, conn).get(t, tc.authority, "/default")
			} else {
				st, body = newTLSH1(conn).get(t, tc.authority, "/default")
			}
			if st != tc.status {
				t.Errorf("%s sni=%q authority=%s: %d %q, want %d", proto, tc.sni, tc.authority, st, body, tc.status)
			}
		}
	}
}
