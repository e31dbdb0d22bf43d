package tlsstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAddTakesNamesFromCertificate(t *testing.T) {
	tests := []struct {
		name      string
		spec      certSpec
		wantNames []string
		wantIPs   []string
	}{
		{"san only", certSpec{names: []string{"a.example.com", "b.example.com"}}, []string{"a.example.com", "b.example.com"}, nil},
		{"cn only", certSpec{cn: "cn.example.com"}, []string{"cn.example.com"}, nil},
		{"cn ignored when san has a dns name", certSpec{cn: "cn.example.com", names: []string{"san.example.com"}}, []string{"san.example.com"}, nil},
		{"lowercased, trailing dot removed, deduplicated", certSpec{names: []string{"WWW.Example.COM.", "www.example.com", "*.Example.com"}}, []string{"www.example.com", "*.example.com"}, nil},
		{"cn that is no host name", certSpec{cn: "Acme Corp"}, nil, nil},
		{"ip sans kept, cn used when san has only ips", certSpec{cn: "ip.example.com", ips: []string{"127.0.0.1", "::1"}}, []string{"ip.example.com"}, []string{"127.0.0.1", "::1"}},
		{"rsa", certSpec{names: []string{"rsa.example.com"}, rsa: true}, []string{"rsa.example.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mkCert(t, tt.spec)
			c := mustAdd(t, NewStore(), m)
			if !slices.Equal(c.Names, tt.wantNames) {
				t.Errorf("Names = %q, want %q", c.Names, tt.wantNames)
			}
			var ips []string
			for _, ip := range c.IPs {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPs = %q, want %q", ips, tt.wantIPs)
			}
			block, _ := pem.Decode(m.CertPEM)
			sum := sha256.Sum256(block.Bytes)
			if c.ID != hex.EncodeToString(sum[:]) {
				t.Errorf("ID = %s, want the leaf's SHA-256", c.ID)
			}
			if c.TLS == nil || c.TLS.Leaf == nil || !bytes.Equal(c.TLS.Leaf.Raw, block.Bytes) {
				t.Fatal("TLS.Leaf not set to the leaf")
			}
			if !c.NotBefore.Equal(c.TLS.Leaf.NotBefore) || !c.NotAfter.Equal(c.TLS.Leaf.NotAfter) {
				t.Error("validity not copied from the leaf")
			}
			if !slices.Equal(c.NameSet().Names(), c.Names) {
				t.Error("NameSet differs from Names")
			}
		})
	}
}

func TestAddChain(t *testing.T) {
	k := mustKeys(t)
	m := mkCert(t, certSpec{names: []string{"chain.example.com"}, viaInter: true})
	s := NewStore()
	c := mustAdd(t, s, m)
	if len(c.TLS.Certificate) != 2 || !bytes.Equal(c.TLS.Certificate[1], k.inter.Raw) {
		t.Fatalf("chain = %d certificates, want leaf + intermediate", len(c.TLS.Certificate))
	}
	// The same chain given inside the certificate file, key in it too (a
	// combined PEM file with no separate key).
	m2 := mkCert(t, certSpec{names: []string{"combined.example.com"}, viaInter: true})
	combined := slices.Concat(m2.CertPEM, m2.ChainPEM, m2.KeyPEM)
	c2, err := s.Add(combined, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.TLS.Certificate) != 2 {
		t.Fatalf("combined file: chain = %d certificates, want 2", len(c2.TLS.Certificate))
	}
}

func TestAddFiles(t *testing.T) {
	dir := t.TempDir()
	m := mkCert(t, certSpec{names: []string{"file.example.com"}, viaInter: true})
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := NewStore()
	c, err := s.AddFiles(write("c.pem", m.CertPEM), write("k.pem", m.KeyPEM), write("ch.pem", m.ChainPEM))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lookup("file.example.com") != c {
		t.Error("file certificate not served")
	}
	if _, err := s.AddFiles(filepath.Join(dir, "missing.pem"), "", ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestAddRejectsAndLeavesStoreAlone(t *testing.T) {
	k := mustKeys(t)
	now := time.Now()
	good := mkCert(t, certSpec{names: []string{"good.example.com"}})
	expired := mkCert(t, certSpec{names: []string{"good.example.com"}, notBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})
	future := mkCert(t, certSpec{names: []string{"good.example.com"}, notBefore: now.Add(24 * time.Hour)})
	other := mkCert(t, certSpec{names: []string{"good.example.com"}})
	encKey := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})

	tests := []struct {
		name      string
		m         Material
		wantIs    error
		wantInErr string
	}{
		{"expired", expired, ErrExpired, "certificate expired on 2025-01-02T03:04:05Z"},
		{"not yet valid", future, ErrNotYetValid, "certificate not yet valid: valid from "},
		{"key mismatch", Material{CertPEM: other.CertPEM, KeyPEM: k.ec2PEM}, ErrKeyMismatch, "private key does not match certificate"},
		{"rsa key for ecdsa cert", Material{CertPEM: other.CertPEM, KeyPEM: k.rsaPEM}, ErrKeyMismatch, "private key does not match certificate"},
		{"no certificate block", Material{CertPEM: k.ecPEM, KeyPEM: k.ecPEM}, nil, "no CERTIFICATE block"},
		{"garbage certificate", Material{CertPEM: pemBlock("CERTIFICATE", []byte("nope")), KeyPEM: k.ecPEM}, nil, "certificate: x509"},
		{"no key", Material{CertPEM: other.CertPEM}, nil, "no PRIVATE KEY block"},
		{"encrypted key", Material{CertPEM: other.CertPEM, KeyPEM: encKey}, nil, "encrypted private keys are not supported"},
		{"garbage key", Material{CertPEM: other.CertPEM, KeyPEM: pemBlock("PRIVATE KEY", []byte("nope"))}, nil, "key PEM: PRIVATE KEY"},
		{"garbage chain", Material{CertPEM: other.CertPEM, KeyPEM: other.KeyPEM, ChainPEM: pemBlock("CERTIFICATE", []byte("x"))}, nil, "chain certificate 1"},
		{"duplicate", good, ErrExists, "certificate already stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			c := mustAdd(t, s, good)
			if err := s.SetDefault(c); err != nil {
				t.Fatal(err)
			}
			got, err := s.Add(tt.m.CertPEM, tt.m.KeyPEM, tt.m.ChainPEM)
			if err == nil || got != nil {
				t.Fatalf("Add = %v, %v; want an error", got, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantInErr)
			}
			// Replace with the same bad material fails the same way and
			// keeps the old certificate.
			if tt.wantIs != ErrExists {
				if _, rerr := s.Replace(c.ID, tt.m.CertPEM, tt.m.KeyPEM, tt.m.ChainPEM); rerr == nil {
					t.Error("Replace accepted bad material")
				}
			}
			if s.Len() != 1 || s.Lookup("good.example.com") != c || s.Default() != c || s.Get(c.ID) != c {
				t.Error("store disturbed by a rejected certificate")
			}
		})
	}
}

// fakeClock is a settable clock for validity decisions.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time { return f.t }

func TestLookupOrder(t *testing.T) {
	now := time.Now()
	clk := &fakeClock{t: now}
	s := NewStore()
	s.now = clk.now
	add := func(spec certSpec) *Cert { return mustAdd(t, s, mkCert(t, spec)) }

	exact := add(certSpec{names: []string{"a.b.example.com"}})
	wildB := add(certSpec{names: []string{"*.b.example.com"}})
	wildTop := add(certSpec{names: []string{"*.example.com", "example.com"}})
	def := add(certSpec{names: []string{"default.example.net"}})
	older := add(certSpec{names: []string{"multi.example.com"}, notBefore: now.Add(-10 * time.Hour)})
	newer := add(certSpec{names: []string{"multi.example.com"}, notBefore: now.Add(-5 * time.Hour)})
	tieFirst := add(certSpec{names: []string{"tie.example.com"}, notBefore: now.Add(-3 * time.Hour)})
	tieSecond := add(certSpec{names: []string{"tie.example.com"}, notBefore: now.Add(-3 * time.Hour)})
	// Expires before the clock moves; a wildcard covers the same name.
	shortExact := add(certSpec{names: []string{"short.example.com"}, notAfter: now.Add(time.Hour)})
	shortOnly := add(certSpec{names: []string{"lonely.example.org"}, notAfter: now.Add(time.Hour)})
	ipCert := add(certSpec{cn: "ip", ips: []string{"192.0.2.7"}})
	_ = tieFirst

	tests := []struct {
		sni   string
		later bool // after the short certificates expired
		want  *Cert
	}{
		{"a.b.example.com", false, exact},
		{"A.B.Example.COM", false, exact},
		{"a.b.example.com.", false, exact},
		{"x.b.example.com", false, wildB},
		{"b.example.com", false, wildTop},
		{"c.example.com", false, wildTop},
		{"x.y.b.example.com", false, nil}, // two labels below *.b: no wildcard
		{"example.com", false, wildTop},   // via its exact name, not the wildcard
		{"x.y.example.com", false, nil},   // *.example.com is one label deep
		{"unknown.org", false, nil},
		{"", false, nil},
		{"multi.example.com", false, newer},
		{"tie.example.com", false, tieSecond},
		{"short.example.com", false, shortExact},
		{"short.example.com", true, wildTop},    // expired exact loses to a valid wildcard
		{"lonely.example.org", true, shortOnly}, // expired but nothing else names it
		{"1.2.3.4", false, nil},
	}
	for _, withDefault := range []bool{false, true} {
		if withDefault {
			if err := s.SetDefault(def); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tests {
			clk.t = now
			if tt.later {
				clk.t = now.Add(2 * time.Hour)
			}
			want := tt.want
			if want == nil && withDefault {
				want = def
			}
			if got := s.Lookup(tt.sni); got != want {
				t.Errorf("default=%v Lookup(%q) = %v, want %v", withDefault, tt.sni, got, want)
			}
		}
	}
	_ = older

	// No SNI: the SAN IP of the address connected to, else the default.
	if got := s.pick("", fakeConn{local: netip.MustParseAddrPort("192.0.2.7:443")}); got != ipCert {
		t.Errorf("no SNI on 192.0.2.7: %v, want the IP certificate", got)
	}
	if got := s.pick("", fakeConn{local: netip.MustParseAddrPort("[::ffff:192.0.2.7]:443")}); got != ipCert {
		t.Errorf("no SNI on IPv4-mapped 192.0.2.7: %v, want the IP certificate", got)
	}
	if got := s.pick("", fakeConn{local: netip.MustParseAddrPort("192.0.2.8:443")}); got != def {
		t.Errorf("no SNI on 192.0.2.8: %v, want the default", got)
	}
}

func TestRemoveReplaceDefault(t *testing.T) {
	s := NewStore()
	a := mustAdd(t, s, mkCert(t, certSpec{names: []string{"a.example.com", "*.w.example.com"}}))
	bm := mkCert(t, certSpec{names: []string{"b.example.com"}})
	b := mustAdd(t, s, bm)
	if err := s.SetDefault(a); err != nil {
		t.Fatal(err)
	}
	if got := s.List(); !slices.Equal(got, []*Cert{a, b}) {
		t.Fatalf("List = %v", got)
	}

	// Replace keeps the default role and drops the old names.
	a2m := mkCert(t, certSpec{names: []string{"a.example.com", "a2.example.com"}})
	a2, err := s.Replace(a.ID, a2m.CertPEM, a2m.KeyPEM, a2m.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	if s.Default() != a2 || s.Lookup("a.example.com") != a2 || s.Lookup("a2.example.com") != a2 || s.Get(a.ID) != nil {
		t.Error("Replace did not swap the certificate")
	}
	if s.Lookup("x.w.example.com") != a2 {
		t.Error("the old wildcard should be gone; the default (a2) answers")
	}
	if got := s.List(); !slices.Equal(got, []*Cert{b, a2}) {
		t.Errorf("List after Replace = %v", got)
	}
	if _, err := s.Replace(a.ID, a2m.CertPEM, a2m.KeyPEM, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace of a removed id: %v", err)
	}
	// Replacing a certificate by itself (e.g. a new chain) is allowed.
	b2, err := s.Replace(b.ID, bm.CertPEM, bm.KeyPEM, nil)
	if err != nil || b2.ID != b.ID || s.Lookup("b.example.com") != b2 {
		t.Errorf("Replace by the same leaf: %v", err)
	}

	// Remove of the default leaves no default.
	if err := s.Remove(a2.ID); err != nil {
		t.Fatal(err)
	}
	if s.Default() != nil || s.Lookup("a.example.com") != nil || s.Len() != 1 || s.List()[0] != b2 {
		t.Error("Remove left traces")
	}
	if err := s.Remove(a2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if err := s.SetDefault(a2); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetDefault of a removed cert: %v", err)
	}
	if err := s.SetDefault(nil); err != nil || s.Default() != nil {
		t.Errorf("SetDefault(nil): %v", err)
	}
}

func TestAddBatchAllOrNothing(t *testing.T) {
	s := NewStore()
	keep := mustAdd(t, s, mkCert(t, certSpec{names: []string{"keep.example.com"}}))
	var items []Material
	for i := range 20 {
		items = append(items, mkCert(t, certSpec{names: []string{hostN(i)}}))
	}
	bad := slices.Clone(items)
	bad[13].KeyPEM = mustKeys(t).ec2PEM
	_, err := s.AddBatch(bad)
	var be *BatchError
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "certificate 13") || !errors.As(err, &be) || be.Index != 13 {
		t.Fatalf("AddBatch with a bad item: %v", err)
	}
	dup := append(slices.Clone(items), items[4])
	_, err = s.AddBatch(dup)
	if !errors.Is(err, ErrExists) || !errors.As(err, &be) || be.Index != len(items) {
		t.Fatalf("AddBatch with a duplicate: %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("failed batches left %d certificates", s.Len())
	}
	certs, err := s.AddBatch(items)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range certs {
		if s.Lookup(hostN(i)) != c {
			t.Errorf("%s not served by its certificate", hostN(i))
		}
	}
	if s.Lookup("keep.example.com") != keep || s.Len() != 21 {
		t.Error("batch disturbed the existing certificate")
	}
}

func hostN(i int) string {
	return "h" + strings.Repeat("x", i%3) + itoa(i) + ".example.com"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestManyCertificates checks the sharded index at a scale where every
// shard holds many names, adding one at a time and removing half.
func TestManyCertificates(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	items := make([]Material, n)
	for i := range items {
		items[i] = mkCert(t, certSpec{names: []string{hostN(i), "*.w" + itoa(i) + ".example.com"}})
	}
	s := NewStore()
	certs := make([]*Cert, n)
	for i, m := range items {
		certs[i] = mustAdd(t, s, m)
	}
	for i := 0; i < n; i += 2 {
		if err := s.Remove(certs[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range certs {
		var want *Cert
		if i%2 == 1 {
			want = c
		}
		if got := s.Lookup(hostN(i)); got != want {
			t.Fatalf("Lookup(%s) = %v, want %v", hostN(i), got, want)
		}
		if got := s.Lookup("x.w" + itoa(i) + ".example.com"); got != want {
			t.Fatalf("wildcard %d = %v, want %v", i, got, want)
		}
	}
	if s.Len() != n/2 || len(s.List()) != n/2 {
		t.Fatalf("Len = %d, List = %d, want %d", s.Len(), len(s.List()), n/2)
	}
}

// fakeConn is a net.Conn with only a local address, for picking a
// certificate by SAN IP without a socket.
type fakeConn struct {
	net.Conn
	local netip.AddrPort
}

func (c fakeConn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.local) }
