package router

import (
	"strings"
	"testing"
)

// table is the routing table the matching-order test runs against: one
// rule per target name.
var table = []Rule[string]{
	{Hostname: "www.example.com", Path: "/", Target: "exact-root"},
	{Hostname: "www.example.com", Path: "/api", Target: "exact-api"},
	{Hostname: "www.example.com", Path: "/api/v2", Target: "exact-api-v2"},
	{Hostname: "www.example.com", Path: "/api/v2/health", PathType: Equals, Target: "exact-health"},
	{Hostname: "www.example.com", Path: `^/api/.*\.png$`, PathType: Regex, Target: "exact-png"},
	{Hostname: "www.example.com", Path: `^/api/v2/`, PathType: Regex, Target: "exact-v2-regex"},
	{Hostname: "*.example.com", Path: "/", Target: "wild-root"},
	{Hostname: "*.example.com", Path: "/static", Target: "wild-static"},
	{Hostname: "Mixed.Case.Test.", Path: "/", Target: "mixed"},
	{Hostname: "[::1]", Path: "/", Target: "ipv6"},
	{Hostname: "10.0.0.1", Path: "/only", Target: "ipv4"},
	{Hostname: "static.example.com", Path: "/x", PathType: Equals, Target: "static-x"},
}

func TestMatchOrder(t *testing.T) {
	tbl, err := Build(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, path string
		want       string // "" = no match
	}{
		// Hostname: exact, case-insensitive, port and trailing dot ignored.
		{"www.example.com", "/", "exact-root"},
		{"WWW.EXAMPLE.COM", "/", "exact-root"},
		{"www.example.com:8443", "/", "exact-root"},
		{"www.example.com.", "/", "exact-root"},
		{"www.example.com.:80", "/", "exact-root"},
		{"mixed.case.test", "/", "mixed"},
		// Wildcard: exactly one extra label, never the parent itself.
		{"img.example.com", "/", "wild-root"},
		{"img.example.com:80", "/static/a.css", "wild-static"},
		{"a.b.example.com", "/", ""},
		{"example.com", "/", ""},
		{".example.com", "/", ""},
		// The exact host wins over the wildcard...
		{"www.example.com", "/static/a.css", "exact-root"},
		// ...but an exact host whose paths miss falls back to the wildcard.
		{"static.example.com", "/x", "static-x"},
		{"static.example.com", "/static/y", "wild-static"},
		{"static.example.com", "/y", "wild-root"},
		// Paths: equals, then regex in order, then the longest prefix.
		{"www.example.com", "/api", "exact-api"},
		{"www.example.com", "/api/users", "exact-api"},
		{"www.example.com", "/api/v2/health", "exact-health"},
		{"www.example.com", "/api/v2/health/", "exact-v2-regex"},
		{"www.example.com", "/api/v2/logo.png", "exact-png"},
		{"www.example.com", "/api/v2", "exact-api-v2"},
		{"www.example.com", "/api/v2x", "exact-api-v2"},
		{"www.example.com", "/apix", "exact-api"},
		{"www.example.com", "", ""},
		// IP literals.
		{"[::1]:8080", "/", "ipv6"},
		{"[::1]", "/x", "ipv6"},
		{"10.0.0.1:80", "/only/x", "ipv4"},
		{"10.0.0.1", "/", ""},
		{"unknown.test", "/", ""},
		{"", "/", ""},
	} {
		got, ok := tbl.Match([]byte(tc.host), []byte(tc.path))
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("Match(%q, %q) = %q, %v; want %q", tc.host, tc.path, got, ok, tc.want)
		}
	}
}

func TestMatchNilTable(t *testing.T) {
	var tbl *Table[int]
	if _, ok := tbl.Match([]byte("a"), []byte("/")); ok {
		t.Fatal("a nil table matched")
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []Rule[int]
		want  string
	}{
		{"duplicate", []Rule[int]{{Hostname: "a.test", Path: "/"}, {Hostname: "A.test", Path: "/"}}, "duplicate"},
		{"inner wildcard", []Rule[int]{{Hostname: "a.*.test", Path: "/"}}, "wildcard"},
		{"partial wildcard", []Rule[int]{{Hostname: "w*.test", Path: "/"}}, "wildcard"},
		{"bad regex", []Rule[int]{{Hostname: "a.test", Path: "([", PathType: Regex}}, "regex"},
	} {
		if _, err := Build(tc.rules); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	// The same path under different types is not a duplicate.
	if _, err := Build([]Rule[int]{{Hostname: "a.test", Path: "/x"}, {Hostname: "a.test", Path: "/x", PathType: Equals}}); err != nil {
		t.Errorf("prefix and equals on one path: %v", err)
	}
}

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"a.test":      "a.test",
		"a.test:80":   "a.test",
		"[::1]:443":   "[::1]",
		"[::1]":       "[::1]",
		"[::1":        "[::1",
		"1.2.3.4:5":   "1.2.3.4",
		"":            "",
		"a.test:":     "a.test",
		"[fe80::1]:1": "[fe80::1]",
	} {
		if got := string(StripPort([]byte(in))); got != want {
			t.Errorf("StripPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePathType(t *testing.T) {
	for in, want := range map[string]PathType{"": Prefix, "prefix": Prefix, "equals": Equals, "regex": Regex} {
		got, err := ParsePathType(in)
		if err != nil || got != want {
			t.Errorf("ParsePathType(%q) = %v, %v", in, got, err)
		}
		if in != "" && got.String() != in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if _, err := ParsePathType("glob"); err == nil {
		t.Error("glob accepted")
	}
}

func BenchmarkMatch(b *testing.B) {
	tbl, err := Build(table)
	if err != nil {
		b.Fatal(err)
	}
	host := []byte("www.example.com:8080")
	path := []byte("/api/v2/users")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tbl.Match(host, path); !ok {
			b.Fatal("no match")
		}
	}
}
