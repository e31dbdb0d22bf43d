package e2e

// Routing end to end (issue 2 item 6): host exact and wildcard with the
// port ignored, path prefix / equals / regex, most specific wins, 404.

import (
	"testing"
)

func TestH1Routing(t *testing.T) {
	names := []string{"exact", "wild", "api", "apiv2", "health", "img", "other"}
	vars := map[string]string{}
	for _, n := range names {
		vars[n] = namedBackend(t, n).Addr
	}
	s := Start(t, `
[[listeners]]
address = "@L1@"
protocol = "http"

[clusters.exact]
frontends = [ { address = "@L1@", hostname = "www.example.com" } ]
backends = [ { address = "@exact@" } ]

[clusters.wild]
frontends = [ { address = "@L1@", hostname = "*.example.com" } ]
backends = [ { address = "@wild@" } ]

[clusters.api]
frontends = [ { address = "@L1@", hostname = "www.example.com", path = "/api" } ]
backends = [ { address = "@api@" } ]

[clusters.apiv2]
frontends = [ { address = "@L1@", hostname = "www.example.com", path = "/api/v2" } ]
backends = [ { address = "@apiv2@" } ]

[clusters.health]
frontends = [ { address = "@L1@", hostname = "www.example.com", path = "/api/v2/health", path_type = "equals" } ]
backends = [ { address = "@health@" } ]

[clusters.img]
frontends = [ { address = "@L1@", hostname = "www.example.com", path = '^/api/.*\.png$', path_type = "regex" } ]
backends = [ { address = "@img@" } ]

[clusters.other]
frontends = [ { address = "@L1@", hostname = "other.test", path = "/only" } ]
backends = [ { address = "@other@" } ]
`, vars)
	c := newClient(t)
	base := "http://" + s.Addr("@L1@")
	for _, tc := range []struct {
		name, host, path string
		want             string // cluster, or "404"
	}{
		{"exact host", "www.example.com", "/", "exact"},
		{"exact host with port", "www.example.com:8080", "/x", "exact"},
		{"host case-insensitive", "WWW.Example.COM", "/", "exact"},
		{"host trailing dot", "www.example.com.", "/", "exact"},
		{"wildcard one label", "shop.example.com", "/", "wild"},
		{"wildcard with port", "shop.example.com:443", "/api", "wild"},
		{"wildcard not two labels", "a.b.example.com", "/", "404"},
		{"wildcard not the parent", "example.com", "/", "404"},
		{"prefix", "www.example.com", "/api/users", "api"},
		{"longest prefix wins", "www.example.com", "/api/v2/users", "apiv2"},
		{"equals beats prefix", "www.example.com", "/api/v2/health", "health"},
		{"equals is exact", "www.example.com", "/api/v2/healthz", "apiv2"},
		{"regex beats prefix", "www.example.com", "/api/v2/logo.png", "img"},
		{"query ignored for matching", "www.example.com", "/api/v2/health?verbose=1", "health"},
		{"path prefix is bytewise", "www.example.com", "/apix", "api"},
		{"unknown host", "nobody.test", "/", "404"},
		{"known host, no path match", "other.test", "/", "404"},
		{"known host, path match", "other.test", "/only/here", "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mustRequest(t, "GET", base+tc.path)
			req.Host = tc.host
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			got := body
			if resp.StatusCode == 404 {
				got = "404"
			} else if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got != tc.want {
				t.Fatalf("Host %q path %q went to %q, want %q", tc.host, tc.path, got, tc.want)
			}
		})
	}
	// A 404 is sluice's own page, logged with no_route.
	rec := waitRecord(t, s, func(r logRecord) bool { return r.num("status") == 404 })
	if rec.str("message") != "no_route" || rec.str("cluster") != "" {
		t.Errorf("404 record %v", rec)
	}
}
