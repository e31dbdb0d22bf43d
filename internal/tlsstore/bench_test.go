package tlsstore

import (
	"context"
	"crypto/tls"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// material10k caches generated certificates across benchmarks: making
// them is not what is measured.
var (
	materialMu sync.Mutex
	materials  = map[bool][]Material{}
)

func manyMaterials(b *testing.B, n int, rsa bool) []Material {
	materialMu.Lock()
	defer materialMu.Unlock()
	ms := materials[rsa]
	for len(ms) < n {
		i := len(ms)
		ms = append(ms, mkCert(b, certSpec{names: []string{
			"site" + strconv.Itoa(i) + ".example.com", "www.site" + strconv.Itoa(i) + ".example.com",
		}, rsa: rsa}))
	}
	materials[rsa] = ms
	return ms[:n]
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoad10k loads 10,000 certificates (two names each) into an
// empty store and reports the heap they keep, in MiB and bytes per
// certificate.
func BenchmarkLoad10k(b *testing.B) {
	const n = 10000
	for _, tc := range []struct {
		name  string
		rsa   bool
		batch bool
	}{
		{"ecdsa/AddBatch", false, true},
		{"ecdsa/Add", false, false},
		{"rsa2048/AddBatch", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ms := manyMaterials(b, n, tc.rsa)
			var heap uint64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				before := heapInUse()
				b.StartTimer()
				s := NewStore()
				if tc.batch {
					if _, err := s.AddBatch(ms); err != nil {
						b.Fatal(err)
					}
				} else {
					for _, m := range ms {
						if _, err := s.Add(m.CertPEM, m.KeyPEM, m.ChainPEM); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				heap = heapInUse() - before
				if s.Len() != n {
					b.Fatal("short store")
				}
				runtime.KeepAlive(s)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
			b.ReportMetric(float64(heap)/n, "B-heap/cert")
		})
	}
}

// BenchmarkGetCertificate is the per-handshake lookup in a store of
// 10,000 certificates: lock-free, no allocation.
func BenchmarkGetCertificate(b *testing.B) {
	s := NewStore()
	if _, err := s.AddBatch(manyMaterials(b, 10000, false)); err != nil {
		b.Fatal(err)
	}
	wild := mustAdd(b, s, mkCert(b, certSpec{names: []string{"*.wild.example.com"}}))
	def := mustAdd(b, s, mkCert(b, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, sni string
		want      *Cert
	}{
		{"exact", "www.site4242.example.com", s.Lookup("site4242.example.com")},
		{"wildcard", "abc.wild.example.com", wild},
		{"default", "nothing.example.org", def},
	} {
		b.Run(tc.name, func(b *testing.B) {
			hello := &tls.ClientHelloInfo{ServerName: tc.sni}
			b.ReportAllocs()
			for b.Loop() {
				c, _ := s.GetCertificate(hello)
				if c != tc.want.TLS {
					b.Fatal("wrong certificate")
				}
			}
		})
	}
}

// BenchmarkAllows is the per-request coalescing check.
func BenchmarkAllows(b *testing.B) {
	var many []string
	for i := range 100 {
		many = append(many, "n"+strconv.Itoa(i)+".example.com")
	}
	small := Identity{SNI: "www.example.com", Names: NewNameSet("www.example.com", "example.com", "*.api.example.com")}
	large := Identity{SNI: "n0.example.com", Names: NewNameSet(many...)}
	for _, tc := range []struct {
		name      string
		id        Identity
		authority string
		ok        bool
	}{
		{"sni", small, "www.example.com", true},
		{"sni-port-uppercase", small, "WWW.Example.com:443", true},
		{"coalesced", small, "example.com", true},
		{"wildcard", small, "v1.api.example.com", true},
		{"miss", small, "other.example.org", false},
		{"large-set", large, "n99.example.com:8443", true},
		{"no-names", Identity{SNI: "www.example.com"}, "www.example.com", true},
		{"ipv6", Identity{}, "[2001:db8::1]:443", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			auth := []byte(tc.authority)
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := tc.id.Allows(auth); ok != tc.ok {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

// BenchmarkConfigForClient is what the store adds to every handshake:
// the choice of certificate and the per-handshake config.
func BenchmarkConfigForClient(b *testing.B) {
	s := NewStore()
	mustAdd(b, s, mkCert(b, certSpec{names: []string{"app.example.com"}}))
	cfg, err := ServerConfig(Options{}, s)
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "app.example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if c, _ := cfg.GetConfigForClient(hello); len(c.Certificates) != 1 {
			b.Fatal("no certificate")
		}
	}
}

// BenchmarkHandshake runs full TLS 1.3 handshakes over an in-memory pipe.
// Both ends run in this process, so ns/op is client plus server CPU; the
// server alone is measured against peers by bench/.
func BenchmarkHandshake(b *testing.B) {
	for _, tc := range []struct {
		name   string
		rsa    bool
		resume bool
	}{
		{"ecdsa-p256/full", false, false},
		{"rsa2048/full", true, false},
		{"ecdsa-p256/resumed", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := NewStore()
			mustAdd(b, s, mkCert(b, certSpec{names: []string{"app.example.com"}, rsa: tc.rsa}))
			scfg, err := ServerConfig(Options{}, s)
			if err != nil {
				b.Fatal(err)
			}
			ccfg := clientConfig(b, "app.example.com", "h2")
			if tc.resume {
				ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				handshakePair(b, scfg, ccfg)
			}
			b.ReportAllocs()
			for b.Loop() {
				if resumed := handshakePair(b, scfg, ccfg); resumed != tc.resume {
					b.Fatalf("resumed = %v", resumed)
				}
			}
		})
	}
}

// handshakePair handshakes a client and a server over net.Pipe and reports
// whether the session was resumed. The client reads one byte so that TLS
// 1.3 session tickets are processed.
func handshakePair(b *testing.B, scfg, ccfg *tls.Config) bool {
	cc, sc := net.Pipe()
	defer cc.Close()
	errc := make(chan error, 1)
	go func() {
		defer sc.Close()
		t := tls.Server(sc, scfg)
		if _, err := Handshake(context.Background(), t); err != nil {
			errc <- err
			return
		}
		_, err := t.Write([]byte{1})
		errc <- err
	}()
	c := tls.Client(cc, ccfg)
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	var one [1]byte
	if _, err := c.Read(one[:]); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return c.ConnectionState().DidResume
}
