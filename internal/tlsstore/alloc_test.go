package tlsstore

import (
	"crypto/tls"
	"testing"
)

// TestHotPathsDoNotAllocate pins the zero-allocation claims of the
// per-request check and the per-handshake lookup (the benchmarks show the
// same; this fails the build when it regresses).
func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := NewStore()
	c := mustAdd(t, s, mkCert(t, certSpec{names: []string{"www.example.com", "example.com", "*.api.example.com"}}))
	def := mustAdd(t, s, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		t.Fatal(err)
	}
	id := IdentityOf(tls.ConnectionState{ServerName: "www.example.com"}, c)
	for _, a := range []string{"www.example.com", "EXAMPLE.com:443", "x.api.example.com", "nope.example.org", "[::1]:80"} {
		auth := []byte(a)
		if n := testing.AllocsPerRun(100, func() { id.Allows(auth) }); n != 0 {
			t.Errorf("Allows(%q): %v allocations", a, n)
		}
	}
	for _, sni := range []string{"www.example.com", "x.api.example.com", "other.example.org", ""} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		if n := testing.AllocsPerRun(100, func() { s.GetCertificate(hello) }); n != 0 {
			t.Errorf("GetCertificate(%q): %v allocations", sni, n)
		}
	}
}
