package e2e

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// Live certificate changes through Server.CertStore(listener): the API the
// admin endpoint (sluice ctl cert) drives.

const tlsLiveConfig = `
[[listeners]]
address = "@L1@"
protocol = "https"
certificate = "@DEF_CERT@"
key = "@DEF_KEY@"
[clusters.app]
frontends = [
  { address = "@L1@", hostname = "x.example.com", certificate = "@A_CERT@", key = "@A_KEY@" },
  { address = "@L1@", hostname = "y.example.com" },
  { address = "@L1@", hostname = "z.example.com" },
]
backends = [ { address = "@BE@" } ]
`

// TestTLSReplaceLive: a certificate replaced while connections are open
// is served to the next handshake; the open connections keep working, keep
// the certificate they were served and keep its names for the coalescing
// check. A rejected replacement changes nothing. Added and removed
// certificates apply to the next handshake the same way.
func TestTLSReplaceLive(t *testing.T) {
	ca := NewTLSCA(t)
	def := ca.Issue(t, "default.example.net")
	a := ca.Issue(t, "x.example.com", "y.example.com")
	b := ca.Issue(t, "x.example.com") // the replacement drops y
	vars := certVars(certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "DEF", def), "A", a)
	s := Start(t, tlsLiveConfig, vars)
	addr := s.Addr("@L1@")
	store := s.CertStore(addr)
	if store == nil || store.Get(a.ID) == nil {
		t.Fatal("the listener's store does not hold the frontend certificate")
	}

	// Connections opened before the change: HTTP/2 (coalescing y onto x)
	// and HTTP/1.1 keep-alive.
	old2 := newTLSH2(t, mustTLSDial(t, addr, tlsClient("x.example.com", "h2")))
	old1c := mustTLSDial(t, addr, tlsClient("x.example.com", "http/1.1"))
	old1 := newTLSH1(old1c)
	if st, _ := old2.get(t, "y.example.com", "/before"); st != 200 {
		t.Fatalf("coalesced request before the change: %d", st)
	}
	if st, _ := old1.get(t, "x.example.com", "/before"); st != 200 {
		t.Fatalf("HTTP/1.1 request before the change: %d", st)
	}

	nb, err := store.Replace(a.ID, b.CertPEM, b.KeyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nb.ID != b.ID || store.Get(a.ID) != nil {
		t.Fatal("Replace did not swap the certificates")
	}

	// The next handshake gets the new certificate.
	fresh := mustTLSDial(t, addr, tlsClient("x.example.com", "h2"))
	if ServedID(fresh.ConnectionState()) != b.ID {
		t.Fatal("the next handshake was not served the replacement")
	}
	tlsVerify(t, fresh.ConnectionState(), ca.Pool, "x.example.com")
	new2 := newTLSH2(t, fresh)
	if st, _ := new2.get(t, "x.example.com", "/after"); st != 200 {
		t.Fatalf("request on the new connection: %d", st)
	}
	// The new certificate does not name y: no coalescing on the new
	// connection, and y's own handshakes now get the default.
	if st, _ := new2.get(t, "y.example.com", "/after"); st != 421 {
		t.Fatalf("y on a connection served the replacement: %d, want 421", st)
	}
	if got := ServedID(mustTLSDial(t, addr, tlsClient("y.example.com")).ConnectionState()); got != def.ID {
		t.Fatal("y.example.com is not answered by the default after the replacement")
	}

	// The old connections still work, with their old certificate and
	// identity.
	if ServedID(old2.tc.ConnectionState()) != a.ID {
		t.Fatal("the open connection's certificate changed")
	}
	before := coalesced(s)
	for _, h := range []string{"x.example.com", "y.example.com"} {
		if st, body := old2.get(t, h, "/old-conn"); st != 200 || body != "host="+h+" path=/old-conn" {
			t.Fatalf("%s on the connection opened before the change: %d %q", h, st, body)
		}
	}
	if got := coalesced(s); got != before+1 {
		t.Fatalf("coalesced counter moved by %v, want 1 (y on x's old connection)", got-before)
	}
	if st, _ := old1.get(t, "x.example.com", "/old-conn"); st != 200 {
		t.Fatalf("HTTP/1.1 keep-alive connection after the change: %d", st)
	}

	// A bad replacement is refused and disturbs nothing.
	expired := ca.IssueSpec(t, LeafSpec{Names: []string{"x.example.com"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	other := ca.Issue(t, "x.example.com")
	for _, bad := range []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"expired", expired.CertPEM, expired.KeyPEM, tlsstore.ErrExpired},
		{"key-mismatch", other.CertPEM, a.KeyPEM, tlsstore.ErrKeyMismatch},
	} {
		if _, err := store.Replace(b.ID, bad.cert, bad.key, nil); !errors.Is(err, bad.want) {
			t.Fatalf("Replace with %s material: %v, want %v", bad.name, err, bad.want)
		}
	}
	if got := ServedID(mustTLSDial(t, addr, tlsClient("x.example.com")).ConnectionState()); got != b.ID || store.Len() != 2 {
		t.Fatal("a refused replacement changed the store")
	}
	if st, _ := new2.get(t, "x.example.com", "/still"); st != 200 {
		t.Fatalf("after refused replacements: %d", st)
	}

	// Add, then Remove, a certificate for z.
	z := ca.Issue(t, "z.example.com")
	zc, err := store.Add(z.CertPEM, z.KeyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	zconn := mustTLSDial(t, addr, tlsClient("z.example.com", "h2"))
	tlsVerify(t, zconn.ConnectionState(), ca.Pool, "z.example.com")
	zh2 := newTLSH2(t, zconn)
	if st, _ := zh2.get(t, "z.example.com", "/z"); st != 200 {
		t.Fatalf("z after Add: %d", st)
	}
	if err := store.Remove(zc.ID); err != nil {
		t.Fatal(err)
	}
	if got := ServedID(mustTLSDial(t, addr, tlsClient("z.example.com")).ConnectionState()); got != def.ID {
		t.Fatal("z.example.com still served its removed certificate")
	}
	if st, _ := zh2.get(t, "z.example.com", "/z-after-remove"); st != 200 {
		t.Fatalf("connection served a removed certificate: %d", st)
	}
}

// TestTLSAllCertificatesRemoved: once the last certificate of a listener
// without a default is removed, new handshakes fail with unrecognized_name
// (counted) while open connections go on; adding one back restores
// service.
func TestTLSAllCertificatesRemoved(t *testing.T) {
	ca := NewTLSCA(t)
	only := ca.Issue(t, "only.example.com")
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "only.example.com", certificate = "@O_CERT@", key = "@O_KEY@" } ]
backends = [ { address = "@BE@" } ]
`, certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "O", only))
	addr := s.Addr("@L1@")
	store := s.CertStore(addr)
	open := newTLSH2(t, mustTLSDial(t, addr, tlsClient("only.example.com", "h2")))
	if err := store.Remove(only.ID); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		t.Fatalf("store holds %d certificates", store.Len())
	}
	if _, err := TLSDial(t, addr, tlsClient("only.example.com")); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake with an empty store: %v, want unrecognized name", err)
	}
	waitMetric(t, "unrecognized_name failures", 1, func() float64 { return hsFailures(s, addr, "unrecognized_name") })
	if st, _ := open.get(t, "only.example.com", "/open"); st != 200 {
		t.Fatalf("open connection after the last certificate was removed: %d", st)
	}
	if _, err := store.Add(only.CertPEM, only.KeyPEM, nil); err != nil {
		t.Fatal(err)
	}
	tc := mustTLSDial(t, addr, tlsClient("only.example.com", "http/1.1"))
	if st, _ := newTLSH1(tc).get(t, "only.example.com", "/back"); st != 200 {
		t.Fatalf("after adding the certificate back: %d", st)
	}
}

// TestTLSListenerWithoutCertificates: an https listener may start with no
// certificate at all (they come from the admin API later): it warns,
// refuses handshakes with unrecognized_name, and serves as soon as a
// certificate is added.
func TestTLSListenerWithoutCertificates(t *testing.T) {
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "https"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "app.example.com" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": tlsHostBackend(t).Addr})
	addr := s.Addr("@L1@")
	if !strings.Contains(s.Log.String(), "https listener has no certificate") {
		t.Errorf("no startup warning:\n%s", s.Log.String())
	}
	if _, err := TLSDial(t, addr, tlsClient("app.example.com")); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake without certificates: %v", err)
	}
	ca := NewTLSCA(t)
	app := ca.Issue(t, "app.example.com")
	c, err := s.CertStore(addr).Add(app.CertPEM, app.KeyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CertStore(addr).SetDefault(c); err != nil {
		t.Fatal(err)
	}
	for _, sni := range []string{"app.example.com", ""} {
		tc := mustTLSDial(t, addr, tlsClient(sni, "h2"))
		if ServedID(tc.ConnectionState()) != app.ID {
			t.Fatalf("SNI %q: not served the added certificate", sni)
		}
		if st, _ := newTLSH2(t, tc).get(t, "app.example.com", "/added"); st != 200 {
			t.Fatalf("SNI %q: %d", sni, st)
		}
	}
}

// TestTLSResumption: session tickets resume TLS 1.2 and TLS 1.3 sessions
// (an abbreviated handshake with the same certificate); after the
// certificate is replaced a ticket is not honoured (the client gets a full
// handshake and the new certificate), and the new session resumes again.
func TestTLSResumption(t *testing.T) {
	ca := NewTLSCA(t)
	def := ca.Issue(t, "default.example.net")
	a := ca.Issue(t, "x.example.com", "y.example.com")
	s := Start(t, tlsLiveConfig, certVars(certVars(map[string]string{"BE": tlsHostBackend(t).Addr}, "DEF", def), "A", a))
	addr := s.Addr("@L1@")
	store := s.CertStore(addr)
	current := a
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := tlsClient("x.example.com", "http/1.1")
			cfg.MaxVersion = v
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			// connect does one request, which also reads the TLS 1.3
			// ticket sent after the handshake, and reports resumption.
			connect := func(step string) (resumed bool, id string) {
				tc := mustTLSDial(t, addr, cfg)
				if st, _ := newTLSH1(tc).get(t, "x.example.com", "/resume"); st != 200 {
					t.Fatalf("%s: %d", step, st)
				}
				cs := tc.ConnectionState()
				if cs.Version != v {
					t.Fatalf("%s: negotiated %s", step, tls.VersionName(cs.Version))
				}
				tc.Close()
				return cs.DidResume, ServedID(cs)
			}
			if r, id := connect("first"); r || id != current.ID {
				t.Fatalf("first connection: resumed=%v", r)
			}
			if r, id := connect("second"); !r || id != current.ID {
				t.Fatalf("second connection: resumed=%v, same certificate=%v", r, id == current.ID)
			}
			next := ca.Issue(t, "x.example.com", "y.example.com")
			if _, err := store.Replace(current.ID, next.CertPEM, next.KeyPEM, nil); err != nil {
				t.Fatal(err)
			}
			current = next
			if r, id := connect("after replace"); r || id != next.ID {
				t.Fatalf("after Replace: resumed=%v, new certificate=%v", r, id == next.ID)
			}
			if r, id := connect("again"); !r || id != next.ID {
				t.Fatalf("after Replace, second connection: resumed=%v", r)
			}
		})
	}
}

// TestTLSOpenSSLResumption: openssl s_client resumes a TLS 1.2 session
// from a saved ticket.
func TestTLSOpenSSLResumption(t *testing.T) {
	openssl := RequireTool(t, "openssl")
	x := startTLSSNI(t)
	sess := filepath.Join(t.TempDir(), "sess.pem")
	base := []string{"s_client", "-connect", x.l1, "-servername", "app.example.com", "-tls1_2"}
	out, _ := Run(t, 20*time.Second, openssl, append(base, "-sess_out", sess)...)
	if !strings.Contains(out, "New, TLSv1.2") {
		t.Fatalf("first connection:\n%s", out)
	}
	if fi, err := os.Stat(sess); err != nil || fi.Size() == 0 {
		t.Fatalf("no session saved: %v", err)
	}
	out, _ = Run(t, 20*time.Second, openssl, append(base, "-sess_in", sess)...)
	if !strings.Contains(out, "Reused, TLSv1.2") {
		t.Fatalf("second connection did not resume:\n%s", out)
	}
}
