package tlsstore

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestHandshakeServesCertificatePerSNI(t *testing.T) {
	s := NewStore()
	app := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com", "www.app.example.com"}}))
	wild := mustAdd(t, s, mkCert(t, certSpec{names: []string{"*.wild.example.com"}}))
	rsaCert := mustAdd(t, s, mkCert(t, certSpec{names: []string{"rsa.example.com"}, rsa: true}))
	chained := mustAdd(t, s, mkCert(t, certSpec{names: []string{"chain.example.com"}, viaInter: true}))
	def := mustAdd(t, s, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, mustServerConfig(t, Options{}, s))

	tests := []struct {
		name      string
		sni       string // client ServerName; "" sends no SNI
		insecure  bool   // the served certificate does not cover the name
		want      *Cert
		wantSNI   string
		wantNames *NameSet
	}{
		{"exact", "app.example.com", false, app, "app.example.com", app.NameSet()},
		{"exact, client sends uppercase", "WWW.APP.EXAMPLE.COM", false, app, "www.app.example.com", app.NameSet()},
		{"wildcard", "x.wild.example.com", false, wild, "x.wild.example.com", wild.NameSet()},
		{"wildcard is one label deep: default", "y.x.wild.example.com", true, def, "y.x.wild.example.com", nil},
		{"rsa 2048", "rsa.example.com", false, rsaCert, "rsa.example.com", rsaCert.NameSet()},
		{"with intermediate", "chain.example.com", false, chained, "chain.example.com", chained.NameSet()},
		{"unknown name: default", "unknown.example.org", true, def, "unknown.example.org", nil},
		{"default by its own name", "default.example.net", false, def, "default.example.net", def.NameSet()},
		{"no sni: default", "", true, def, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t, tt.sni)
			cfg.InsecureSkipVerify = tt.insecure
			tc, err := dial(t, srv.addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := srv.next()
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := peerID(tc); got != tt.want.ID {
				t.Errorf("client got %s, want %v", got[:16], tt.want)
			}
			if r.served != tt.want {
				t.Errorf("server reports %v served, want %v", r.served, tt.want)
			}
			if r.id.SNI != tt.wantSNI || r.id.Names != tt.wantNames {
				t.Errorf("identity %v, want sni=%q names=%v", r.id, tt.wantSNI, tt.wantNames)
			}
			echo(t, tc)
		})
	}
}

// TestHandshakeNoSNIByIP: a client connecting to an IP sends no SNI (RFC
// 6066 3 forbids IP literals in it); the certificate whose SAN IP is the
// address it connected to answers, else the default.
func TestHandshakeNoSNIByIP(t *testing.T) {
	s := NewStore()
	def := mustAdd(t, s, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		t.Fatal(err)
	}
	ipCert := mustAdd(t, s, mkCert(t, certSpec{cn: "loopback", ips: []string{"127.0.0.1"}}))
	srv := startTLS(t, mustServerConfig(t, Options{}, s))
	// The Go client sends no SNI for an IP and verifies the IP SAN.
	tc, err := dial(t, srv.addr(), clientConfig(t, "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	r := srv.next()
	if peerID(tc) != ipCert.ID || r.served != ipCert || r.id.SNI != "" || r.id.Names != nil {
		t.Errorf("served %v, identity %v; want the IP certificate, no SNI, no names", r.served, r.id)
	}
	if ok, _ := r.id.Allows([]byte("anything.example.com")); !ok {
		t.Error("a connection without SNI refused an authority")
	}
	if err := s.Remove(ipCert.ID); err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(t, "127.0.0.1")
	cfg.InsecureSkipVerify = true
	if tc, err = dial(t, srv.addr(), cfg); err != nil {
		t.Fatal(err)
	}
	if r := srv.next(); peerID(tc) != def.ID || r.served != def {
		t.Errorf("without the IP certificate: served %v, want the default", r.served)
	}
}

func TestHandshakeUnrecognizedName(t *testing.T) {
	s := NewStore()
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}}))
	configs := map[string]*tls.Config{
		"ServerConfig": mustServerConfig(t, Options{}, s),
		// The store used bare as a GetCertificate callback behaves the same.
		"GetCertificate": {GetCertificate: s.GetCertificate},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			srv := startTLS(t, cfg)
			for _, sni := range []string{"other.example.com", ""} {
				ccfg := clientConfig(t, sni)
				ccfg.InsecureSkipVerify = sni == ""
				_, err := dial(t, srv.addr(), ccfg)
				if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
					t.Fatalf("sni %q: client error %v, want the unrecognized_name alert", sni, err)
				}
				if got := ClassifyHandshakeError(err); got != FailUnrecognizedName {
					t.Errorf("client error classified %v", got)
				}
				r := srv.next()
				if got := ClassifyHandshakeError(r.err); got != FailUnrecognizedName {
					t.Errorf("server error %v classified %v", r.err, got)
				}
			}
			// The known name still works.
			if _, err := dial(t, srv.addr(), clientConfig(t, "app.example.com")); err != nil {
				t.Fatal(err)
			}
			srv.next()
		})
	}
}

func TestALPN(t *testing.T) {
	s := NewStore()
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}}))
	tests := []struct {
		name   string
		server []string
		client []string
		want   string
		fail   bool
	}{
		{"h2 preferred", nil, []string{"h2", "http/1.1"}, "h2", false},
		{"http/1.1 client", nil, []string{"http/1.1"}, "http/1.1", false},
		{"server preference wins", nil, []string{"http/1.1", "h2"}, "h2", false},
		{"operator prefers http/1.1", []string{"http/1.1", "h2"}, []string{"h2", "http/1.1"}, "http/1.1", false},
		{"h2 only client", nil, []string{"h2"}, "h2", false},
		{"no alpn", nil, nil, "", false},
		{"http/1.1 client on h2-only listener: none, as crypto/tls allows", []string{"h2"}, []string{"http/1.1"}, "", false},
		{"nothing shared", nil, []string{"h3", "spdy/3"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTLS(t, mustServerConfig(t, Options{ALPN: tt.server}, s))
			tc, err := dial(t, srv.addr(), clientConfig(t, "app.example.com", tt.client...))
			r := srv.next()
			if tt.fail {
				if err == nil {
					t.Fatal("handshake succeeded")
				}
				if got := ClassifyHandshakeError(err); got != FailNoApplicationProtocol {
					t.Errorf("client error %v classified %v", err, got)
				}
				if got := ClassifyHandshakeError(r.err); got != FailNoApplicationProtocol {
					t.Errorf("server error %v classified %v", r.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.ConnectionState().NegotiatedProtocol; got != tt.want {
				t.Errorf("client negotiated %q, want %q", got, tt.want)
			}
			if r.cs.NegotiatedProtocol != tt.want {
				t.Errorf("server negotiated %q, want %q", r.cs.NegotiatedProtocol, tt.want)
			}
		})
	}
}

func TestVersionsAndSuites(t *testing.T) {
	s := NewStore()
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"ec.example.com"}}))
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"rsa.example.com"}, rsa: true}))
	gcm := "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	tests := []struct {
		name        string
		opts        Options
		sni         string
		clientMin   uint16
		clientMax   uint16
		clientSuite uint16
		wantVersion uint16
		wantSuite   uint16
		wantFail    FailReason
	}{
		{"defaults negotiate TLS 1.3", Options{}, "ec.example.com", 0, 0, 0, tls.VersionTLS13, 0, 0},
		{"TLS 1.2 only", Options{Versions: []string{"TLS1.2"}}, "ec.example.com", 0, 0, 0, tls.VersionTLS12, 0, 0},
		{"TLS 1.2 with a chosen suite", Options{Versions: []string{"TLS1.2"}, CipherSuites: []string{gcm}}, "ec.example.com", 0, 0, 0, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0},
		{"TLS 1.2 rsa", Options{Versions: []string{"TLS1.2"}}, "rsa.example.com", 0, 0, 0, tls.VersionTLS12, 0, 0},
		{"TLS 1.3 only refuses a TLS 1.2 client", Options{Versions: []string{"TLS1.3"}}, "ec.example.com", 0, tls.VersionTLS12, 0, 0, 0, FailProtocolVersion},
		{"TLS 1.2 only refuses a TLS 1.3 client", Options{Versions: []string{"TLS1.2"}}, "ec.example.com", tls.VersionTLS13, 0, 0, 0, 0, FailProtocolVersion},
		{"no shared suite", Options{Versions: []string{"TLS1.2"}, CipherSuites: []string{gcm}}, "ec.example.com", 0, 0, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0, 0, FailNoSharedCipher},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTLS(t, mustServerConfig(t, tt.opts, s))
			cfg := clientConfig(t, tt.sni, "h2")
			cfg.MinVersion, cfg.MaxVersion = tt.clientMin, tt.clientMax
			if tt.clientSuite != 0 {
				cfg.CipherSuites = []uint16{tt.clientSuite}
			}
			tc, err := dial(t, srv.addr(), cfg)
			r := srv.next()
			if tt.wantFail != FailOther {
				if err == nil {
					t.Fatal("handshake succeeded")
				}
				if got := ClassifyHandshakeError(r.err); got != tt.wantFail {
					t.Errorf("server error %v classified %v, want %v", r.err, got, tt.wantFail)
				}
				if got := ClassifyHandshakeError(err); got != tt.wantFail {
					t.Errorf("client error %v classified %v, want %v", err, got, tt.wantFail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cs := tc.ConnectionState()
			if cs.Version != tt.wantVersion {
				t.Errorf("version %s, want %s", tls.VersionName(cs.Version), tls.VersionName(tt.wantVersion))
			}
			if tt.wantSuite != 0 && cs.CipherSuite != tt.wantSuite {
				t.Errorf("suite %s", tls.CipherSuiteName(cs.CipherSuite))
			}
			if !H2Allowed(r.cs) {
				t.Errorf("h2 refused on %s %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
			}
		})
	}
}

// TestReplaceLive: a replacement is served to the next handshake while a
// connection opened before keeps working with, and reporting, the
// certificate it was served.
func TestReplaceLive(t *testing.T) {
	s := NewStore()
	v1 := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com", "old.example.com"}}))
	srv := startTLS(t, mustServerConfig(t, Options{}, s))

	c1, err := dial(t, srv.addr(), clientConfig(t, "app.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	r1 := srv.next()

	m2 := mkCert(t, certSpec{names: []string{"app.example.com", "new.example.com"}})
	v2, err := s.Replace(v1.ID, m2.CertPEM, m2.KeyPEM, m2.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}

	c2, err := dial(t, srv.addr(), clientConfig(t, "app.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	r2 := srv.next()

	if peerID(c2) != v2.ID || r2.served != v2 {
		t.Errorf("second connection got %s, want the replacement", peerID(c2)[:16])
	}
	echo(t, c1)
	if peerID(c1) != v1.ID || r1.served != v1 {
		t.Errorf("first connection now reports %s, want the original", peerID(c1)[:16])
	}
	// Each connection keeps its own snapshot for coalescing.
	for _, tc := range []struct {
		id        Identity
		authority string
		want      bool
	}{
		{r1.id, "old.example.com", true},
		{r1.id, "new.example.com", false},
		{r2.id, "new.example.com", true},
		{r2.id, "old.example.com", false},
	} {
		if ok, _ := tc.id.Allows([]byte(tc.authority)); ok != tc.want {
			t.Errorf("%v Allows(%s) = %v", tc.id, tc.authority, ok)
		}
	}
	echo(t, c2)
	echo(t, c1)
}

// TestConcurrentHandshakesDuringChanges runs handshakes while the store
// changes under them; run with -race. Every handshake must get a
// certificate covering its name: a Replace is atomic.
func TestConcurrentHandshakesDuringChanges(t *testing.T) {
	s := NewStore()
	stable := mustAdd(t, s, mkCert(t, certSpec{names: []string{"stable.example.com"}}))
	def := mustAdd(t, s, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, mustServerConfig(t, Options{}, s))

	// Material made up front: generation is not what is under test.
	const rounds = 12
	var churn, renew []Material
	for range rounds {
		churn = append(churn, mkCert(t, certSpec{names: []string{"churn.example.com"}}))
		renew = append(renew, mkCert(t, certSpec{names: []string{"stable.example.com"}}))
	}

	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		cur := stable
		var err error
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			m := churn[i%rounds]
			if _, err = s.Add(m.CertPEM, m.KeyPEM, nil); err != nil && !errors.Is(err, ErrExists) {
				writerDone <- err
				return
			}
			if c := s.Lookup("churn.example.com"); c != def {
				if err = s.Remove(c.ID); err != nil {
					writerDone <- err
					return
				}
			}
			r := renew[i%rounds]
			if c, rerr := s.Replace(cur.ID, r.CertPEM, r.KeyPEM, nil); rerr == nil {
				cur = c
			} else if !errors.Is(rerr, ErrExists) {
				writerDone <- rerr
				return
			}
		}
	}()

	const clients, perClient = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				sni := "stable.example.com"
				cfg := clientConfig(t, sni)
				if (c+i)%2 == 1 {
					sni = "churn.example.com"
					cfg = clientConfig(t, sni)
					cfg.InsecureSkipVerify = true // may get the default
				}
				if _, err := dial(t, srv.addr(), cfg); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range clients * perClient {
		r := srv.next()
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.served == nil {
			t.Fatal("no certificate recorded")
		}
		if r.id.SNI == "stable.example.com" && (r.id.Names == nil || !r.id.Names.Covers("stable.example.com")) {
			t.Errorf("stable.example.com served %v", r.served)
		}
		if r.id.SNI == "churn.example.com" && r.served != def && !r.served.NameSet().Covers("churn.example.com") {
			t.Errorf("churn.example.com served %v", r.served)
		}
	}
}

// TestHandshakeConfigShared checks that handshakes served the same
// certificate on the same listener share one config (crypto/tls keeps it
// for the connection's lifetime, so a clone each would cost every idle
// connection memory), while another listener or a replacement certificate
// gets its own, and the certificate without a listener config of its own
// is never served another's.
func TestHandshakeConfigShared(t *testing.T) {
	s := NewStore()
	v1 := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}}))
	a := mustServerConfig(t, Options{}, s)
	b := mustServerConfig(t, Options{ALPN: []string{ProtoHTTP11}}, s)
	hello := &tls.ClientHelloInfo{ServerName: "app.example.com"}
	get := func(cfg *tls.Config) *tls.Config {
		t.Helper()
		c, err := cfg.GetConfigForClient(hello)
		if err != nil || len(c.Certificates) != 1 {
			t.Fatalf("GetConfigForClient: %v, %d certificates", err, len(c.Certificates))
		}
		return c
	}
	a1, a2 := get(a), get(a)
	if a1 != a2 {
		t.Error("two handshakes with one certificate on one listener got different configs")
	}
	if b1 := get(b); b1 == a1 || !slices.Equal(b1.NextProtos, []string{ProtoHTTP11}) {
		t.Errorf("the second listener got the first one's config (ALPN %v)", b1.NextProtos)
	}
	m2 := mkCert(t, certSpec{names: []string{"app.example.com"}})
	if _, err := s.Replace(v1.ID, m2.CertPEM, m2.KeyPEM, m2.ChainPEM); err != nil {
		t.Fatal(err)
	}
	if a3 := get(a); a3 == a1 || &a3.Certificates[0] == &a1.Certificates[0] {
		t.Error("a replaced certificate's config was served again")
	}
}
