package listener

import (
	"net/netip"
	"testing"
)

// TestLimitPrefix: max_connections_per_ip counts an IPv4 client by its
// address and an IPv6 client by its /64, whatever address of the /64 it
// connects from; IPv4-mapped IPv6 addresses count as the IPv4 client.
func TestLimitPrefix(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"fe80::1%eth0", "fe80::2%eth1"},
	} {
		if ka, kb := limitPrefix(netip.MustParseAddr(c.a)), limitPrefix(netip.MustParseAddr(c.b)); ka != kb {
			t.Errorf("%s -> %v and %s -> %v: want one client", c.a, ka, c.b, kb)
		}
	}
	for _, c := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.2"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"::ffff:192.0.2.1", "::1"},
	} {
		if ka, kb := limitPrefix(netip.MustParseAddr(c.a)), limitPrefix(netip.MustParseAddr(c.b)); ka == kb {
			t.Errorf("%s and %s both -> %v: want two clients", c.a, c.b, ka)
		}
	}
}
