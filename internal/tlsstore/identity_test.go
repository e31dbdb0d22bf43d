package tlsstore

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
)

func TestNameSetCovers(t *testing.T) {
	small := NewNameSet("Example.COM.", "*.b.example.com", "f*.example.org", "a.*.example.net", "*", "*.")
	var many []string
	for i := range 3 * linearMax {
		many = append(many, fmt.Sprintf("n%d.example.com", i), fmt.Sprintf("*.w%d.example.com", i))
	}
	large := NewNameSet(many...)
	tests := []struct {
		set  *NameSet
		host string
		want bool
	}{
		{small, "example.com", true},
		{small, "x.b.example.com", true},
		{small, "b.example.com", false},     // a wildcard never covers its bare parent
		{small, "y.x.b.example.com", false}, // exactly one label
		{small, ".b.example.com", false},    // empty label
		{small, "foo.example.org", false},   // partial wildcard ignored
		{small, "f*.example.org", false},
		{small, "a.x.example.net", false},
		{small, "anything", false},
		{small, "", false},
		{large, "n17.example.com", true},
		{large, "zz.w23.example.com", true},
		{large, "w23.example.com", false},
		{large, "n99.example.com", false},
		{NewNameSet("*.0.0.1"), "127.0.0.1", false}, // IP literals never match wildcards
		{NewNameSet("*.example.com"), "1.example.com", true},
	}
	for _, tt := range tests {
		if got := tt.set.Covers(tt.host); got != tt.want {
			t.Errorf("%v.Covers(%q) = %v, want %v", tt.set, tt.host, got, tt.want)
		}
	}
	if small.Len() != 6 || small.Names()[0] != "example.com" {
		t.Errorf("Names = %q", small.Names())
	}
}

func TestAllows(t *testing.T) {
	names := NewNameSet("www.example.com", "example.com", "*.api.example.com", "api.example.org")
	withNames := Identity{SNI: "www.example.com", Names: names}
	sniOnly := Identity{SNI: "www.example.com"}
	noSNI := Identity{}
	tests := []struct {
		id            Identity
		authority     string
		ok, coalesced bool
	}{
		{withNames, "www.example.com", true, false},
		{withNames, "www.example.com:443", true, false},
		{withNames, "WWW.Example.Com.", true, false},
		{withNames, "example.com", true, true},
		{withNames, "v1.api.example.com:8443", true, true},
		{withNames, "api.example.com", false, false},
		{withNames, "a.v1.api.example.com", false, false},
		{withNames, "api.example.org", true, true},
		{withNames, "evil.example.net", false, false},
		{withNames, "[::1]:443", false, false},
		{withNames, "127.0.0.1", false, false},
		{withNames, "", true, false}, // the connection's own origin
		{withNames, "user@www.example.com", false, false},
		{withNames, "www.example.com:https", false, false},
		{withNames, "www.example.com:", true, false}, // RFC 3986: empty port
		{withNames, "www.example.com:443:443", false, false},
		{withNames, "[www.example.com]", false, false},
		{withNames, ":443", false, false},
		{withNames, "www example.com", false, false},
		{withNames, strings.Repeat("a", 300) + ".example.com", false, false},

		{sniOnly, "www.example.com", true, false},
		{sniOnly, "WWW.EXAMPLE.COM:443", true, false},
		{sniOnly, "example.com", false, false},

		{noSNI, "anything.example", true, false},
		{noSNI, "[::1]:8443", true, false},
		{noSNI, "10.0.0.1", true, false},
		{noSNI, "[::1", false, false},
		{noSNI, "a/b", false, false},

		{Identity{SNI: "::1"}, "[::1]:443", true, false},
		{Identity{Names: names}, "example.com", true, false}, // no SNI: nothing to coalesce with
		{Identity{Names: names}, "other.example", false, false},
	}
	for _, tt := range tests {
		ok, co := tt.id.Allows([]byte(tt.authority))
		if ok != tt.ok || co != tt.coalesced {
			t.Errorf("%v Allows(%q) = %v, %v; want %v, %v", tt.id, tt.authority, ok, co, tt.ok, tt.coalesced)
		}
	}
}

func TestIdentityOf(t *testing.T) {
	s := NewStore()
	app := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com", "*.app.example.com"}}))
	def := mustAdd(t, s, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	tests := []struct {
		name      string
		sni       string
		served    *Cert
		wantSNI   string
		wantNames *NameSet
	}{
		{"matched", "app.example.com", app, "app.example.com", app.NameSet()},
		{"matched by wildcard, normalized", "X.App.Example.com.", app, "x.app.example.com", app.NameSet()},
		{"default covering the sni", "default.example.net", def, "default.example.net", def.NameSet()},
		{"default answering an unmatched sni", "other.example.org", def, "other.example.org", nil},
		{"no sni", "", def, "", nil},
		{"served unknown", "app.example.com", nil, "app.example.com", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := IdentityOf(tls.ConnectionState{ServerName: tt.sni}, tt.served)
			if id.SNI != tt.wantSNI || id.Names != tt.wantNames {
				t.Errorf("IdentityOf = %v, want sni=%q names=%v", id, tt.wantSNI, tt.wantNames)
			}
		})
	}
	// The snapshot is shared, not copied: two connections served by the
	// same certificate hold the same pointer.
	a := IdentityOf(tls.ConnectionState{ServerName: "app.example.com"}, app)
	b := IdentityOf(tls.ConnectionState{ServerName: "x.app.example.com"}, app)
	if a.Names != b.Names {
		t.Error("NameSet copied per connection")
	}
}
