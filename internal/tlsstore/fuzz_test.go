package tlsstore

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fuzz targets compare the hand-written, allocation-free code with
// slow reference implementations written differently (regexp and
// strings), and check that no input panics.

// refAuthority is RFC 3986 authority = host [":" port] restricted to what
// splitAuthority accepts: a bracketed IP literal or a DNS-ish reg-name.
var refAuthority = regexp.MustCompile(`^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::([0-9]*))?$`)

func refLower(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 32
		}
		b.WriteByte(c)
	}
	return b.String()
}

func refNormalize(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.TrimSuffix(refLower(n), ".")
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// refCovers applies RFC 6125 6.4.3 name by name.
func refCovers(names []string, host string) bool {
	for _, n := range names {
		if !strings.Contains(n, "*") {
			if n == host && host != "" {
				return true
			}
			continue
		}
		parent, ok := strings.CutPrefix(n, "*.")
		if !ok || parent == "" || strings.Contains(parent, "*") || strings.HasPrefix(parent, ".") {
			continue
		}
		label, rest, ok := strings.Cut(host, ".")
		if !ok || label == "" || rest != parent {
			continue
		}
		labels := strings.Split(host, ".")
		last := labels[len(labels)-1]
		if strings.Trim(last, "0123456789") == "" {
			continue // an IPv4 literal (or all-numeric TLD)
		}
		return true
	}
	return false
}

func refAllows(sni string, names []string, hasNames bool, authority string) (ok, coalesced bool) {
	if authority == "" {
		return true, false
	}
	m := refAuthority.FindStringSubmatch(authority)
	if m == nil {
		return false, false
	}
	host := m[1] + m[2]
	if len(host) > maxHostLen+1 {
		return false, false
	}
	host = strings.TrimSuffix(refLower(host), ".")
	switch {
	case host == sni:
		return true, false
	case !hasNames:
		return sni == "", false
	case refCovers(names, host):
		return true, sni != ""
	}
	return false, false
}

// FuzzAllows: authority parsing and RFC 6125 matching against the
// reference. names is a comma-separated list; "-" means no NameSet.
func FuzzAllows(f *testing.F) {
	f.Add("www.example.com", "www.example.com,*.api.example.com", []byte("v1.api.example.com:443"))
	f.Add("www.example.com", "-", []byte("WWW.example.com."))
	f.Add("", "-", []byte("[::1]:8443"))
	f.Add("a.b", "*.b,*.*.b,f*.b", []byte("x.a.b"))
	f.Fuzz(func(t *testing.T, sni, names string, authority []byte) {
		sni = normalizeName(sni)
		var id Identity
		id.SNI = sni
		var list []string
		hasNames := names != "-"
		if hasNames {
			list = refNormalize(strings.Split(names, ","))
			id.Names = NewNameSet(strings.Split(names, ",")...)
		}
		ok, co := id.Allows(authority)
		wantOK, wantCo := refAllows(sni, list, hasNames, string(authority))
		if ok != wantOK || co != wantCo {
			t.Fatalf("Allows(%q) on %v = %v, %v; reference %v, %v", authority, id, ok, co, wantOK, wantCo)
		}
		if co && !ok {
			t.Fatal("coalesced but not allowed")
		}
		if hasNames {
			for _, n := range list {
				if !strings.Contains(n, "*") && n != "" && !id.Names.Covers(n) {
					t.Fatalf("%v does not cover its own name %q", id.Names, n)
				}
			}
		}
	})
}

// FuzzLookup: SNI selection against a linear reference over a fixed
// store (exact before one-label wildcard before default).
func FuzzLookup(f *testing.F) {
	s := NewStore()
	var certs []*Cert
	for _, names := range [][]string{
		{"example.com", "www.example.com"},
		{"*.example.com"},
		{"*.b.example.com", "a.b.example.com"},
		{"xn--bcher-kva.example"},
		{"*.0.0.1", "127.0.0.1"},
	} {
		certs = append(certs, mustAdd(f, s, mkCert(f, certSpec{names: names})))
	}
	def := mustAdd(f, s, mkCert(f, certSpec{names: []string{"default.example.net"}}))
	if err := s.SetDefault(def); err != nil {
		f.Fatal(err)
	}
	certs = append(certs, def)
	ref := func(sni string) *Cert {
		sni = strings.TrimSuffix(refLower(sni), ".")
		if sni == "" {
			return def
		}
		for _, c := range certs {
			for _, n := range c.Names {
				if !strings.HasPrefix(n, "*.") && n == sni {
					return c
				}
			}
		}
		for _, c := range certs {
			for _, n := range c.Names {
				if strings.HasPrefix(n, "*.") && refCovers([]string{n}, sni) {
					return c
				}
			}
		}
		return def
	}
	f.Add("WWW.Example.COM.")
	f.Add("a.b.example.com")
	f.Add("x.y.example.com")
	f.Add("1.0.0.1")
	f.Fuzz(func(t *testing.T, sni string) {
		if got, want := s.Lookup(sni), ref(sni); got != want {
			t.Fatalf("Lookup(%q) = %v, reference %v", sni, got, want)
		}
	})
}

// FuzzAdd: arbitrary PEM input never panics, and whatever is accepted is
// a consistent certificate: names normalized and all served by Lookup,
// removable again.
func FuzzAdd(f *testing.F) {
	m := mkCert(f, certSpec{names: []string{"Fuzz.Example.com.", "*.fuzz.example.com"}, viaInter: true})
	f.Add(m.CertPEM, m.KeyPEM, m.ChainPEM)
	m = mkCert(f, certSpec{cn: "cn.example.com", ips: []string{"192.0.2.1"}, rsa: true})
	f.Add(m.CertPEM, m.KeyPEM, []byte(nil))
	f.Add(append(m.CertPEM, m.KeyPEM...), []byte(nil), []byte(nil))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), []byte("x"), []byte(nil))
	now := time.Now()
	f.Fuzz(func(t *testing.T, certPEM, keyPEM, chainPEM []byte) {
		s := NewStore()
		c, err := s.Add(certPEM, keyPEM, chainPEM)
		if err != nil {
			if c != nil || s.Len() != 0 {
				t.Fatal("failed Add left state")
			}
			return
		}
		if c.TLS == nil || c.TLS.Leaf == nil || c.TLS.PrivateKey == nil || len(c.ID) != 64 {
			t.Fatalf("incomplete certificate %+v", c)
		}
		if !c.ValidAt(now) && !c.ValidAt(time.Now()) {
			t.Fatal("accepted a certificate outside its validity")
		}
		for _, n := range c.Names {
			if n == "" || n != normalizeName(n) {
				t.Fatalf("name %q not normalized", n)
			}
			if !strings.Contains(n, "*") && s.Lookup(n) != c {
				t.Fatalf("name %q not served", n)
			}
		}
		if err := s.Remove(c.ID); err != nil || s.Len() != 0 {
			t.Fatalf("Remove: %v", err)
		}
		for _, n := range c.Names {
			if s.Lookup(n) != nil {
				t.Fatalf("name %q still served after Remove", n)
			}
		}
	})
}
