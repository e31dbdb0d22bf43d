package admin

import (
	"path/filepath"
	"testing"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/state"
)

// FuzzAdminBody feeds arbitrary bodies to the decoders of the admin API's
// changes. Whatever the input: no panic; a refusal is a 4xx with a
// message; an accepted element placed in a config either fails
// validation or yields a config whose saved state (the TOML document)
// parses back to the same document, so no accepted change can leave a
// saved state that a restart would reject.
func FuzzAdminBody(f *testing.F) {
	for _, s := range []struct {
		kind byte
		body string
	}{
		{0, `{"id": "b2", "load_balancing": "random", "backends": [{"address": "127.0.0.1:9001", "weight": 0}]}`},
		{0, `{"id": "x", "frontends": [{"address": "127.0.0.1:8080", "hostname": "*.a.test", "path": "^/v1", "path_type": "regex"}]}`},
		{0, `{"id": "x", "backends": [null], "answers": {"503": "/nonexistent"}}`},
		{1, `{"address": "127.0.0.1:8080", "hostname": "b.test", "path": "/x", "path_type": "equals"}`},
		{2, `{"address": "10.0.0.1:80", "id": "one", "weight": 50}`},
		{2, `{"address": "[::1]:80"}`},
		{3, `{"address": "127.0.0.1:8081", "protocol": "http", "h2c": false, "back_timeout": 90}`},
		{3, `{"address": "127.0.0.1:8443", "protocol": "https", "certificates": [{"certificate": "/a", "key": "/b"}]}`},
		{4, `{"certificate_pem": "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n", "key_pem": "k"}`},
		{4, `{"certificate": "/c.pem", "key": "/k.pem", "replace": "0123456789"}`},
		{0, `{"id": 1}`},
		{3, `{"address": "127.0.0.1:1", "protocol": "https", "h2_max_ping_per_window": -5}`},
	} {
		f.Add(s.kind, []byte(s.body))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, kind byte, body []byte) {
		base := &config.Config{File: filepath.Join(dir, "sluice.toml")}
		base.Listeners = []*config.Listener{config.NewListener("127.0.0.1:8080", "http")}
		cl := config.NewCluster("app")
		cl.Frontends = []*config.Frontend{config.NewFrontend("127.0.0.1:8080", "app.test")}
		base.Clusters = []*config.Cluster{cl}
		config.ApplyDefaults(base)

		var e *Error
		cand := state.CloneConfig(base)
		switch kind % 5 {
		case 0:
			var c *config.Cluster
			if c, e = parseCluster(body); e == nil {
				cand.Clusters = append(cand.Clusters, c)
			}
		case 1:
			var fe *config.Frontend
			if fe, e = parseFrontend(body); e == nil {
				cand.Clusters[0].Frontends = append(cand.Clusters[0].Frontends, fe)
			}
		case 2:
			var b *config.Backend
			if b, e = parseBackend(body); e == nil {
				cand.Clusters[0].Backends = append(cand.Clusters[0].Backends, b)
			}
		case 3:
			var l *config.Listener
			if l, e = parseListener(body); e == nil {
				cand.Listeners = append(cand.Listeners, l)
			}
		case 4:
			_, e = parseCertRequest(body)
			return
		}
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Message == "" {
				t.Fatalf("refusal %d %q", e.Status, e.Message)
			}
			return
		}
		config.ApplyDefaults(cand)
		if config.Validate(cand) != nil {
			return
		}
		doc := state.NewDocument(cand)
		text, err := doc.TOML()
		if err != nil {
			t.Fatalf("an accepted change cannot be saved: %v", err)
		}
		back, err := config.Parse(base.File, text)
		if err != nil {
			t.Fatalf("an accepted change's saved state does not load: %v\n%s", err, text)
		}
		j1, _ := doc.JSON()
		j2, _ := state.NewDocument(back).JSON()
		if string(j1) != string(j2) {
			t.Fatalf("the saved state loads differently:\n%s\n%s", j1, j2)
		}
	})
}

// FuzzFDSpec: the upgrade hand-over's descriptor list never panics, and
// what it accepts is well formed (names unique and non-empty, inherited
// descriptors only).
func FuzzFDSpec(f *testing.F) {
	for _, s := range []string{"", "127.0.0.1:8080=4;metrics=5;admin=6", "[::1]:443=3", "a=2", "a=3;a=4", "a=3;b=3", "=3", "x", "a=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		entries, err := parseFDSpec(spec)
		if err != nil {
			return
		}
		names, fds := map[string]bool{}, map[int]bool{}
		for _, e := range entries {
			if e.name == "" || e.fd < 3 || names[e.name] || fds[e.fd] {
				t.Fatalf("accepted %q as %+v", spec, entries)
			}
			names[e.name], fds[e.fd] = true, true
		}
	})
}
