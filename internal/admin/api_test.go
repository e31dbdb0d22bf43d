package admin

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/state"
)

// baseCfg: an http listener (@L1@) routing app.test to @B1@, and an https
// listener (@L2@) with a default certificate.
const baseCfg = `
admin_socket = "@DIR@/admin.sock"
saved_state = "@DIR@/saved.toml"
access_log = "off"

[[listeners]]
address = "@L1@"
protocol = "http"

[[listeners]]
address = "@L2@"
protocol = "https"
certificate = "@CERT@"
key = "@KEY@"

[clusters.app]
frontends = [{ address = "@L1@", hostname = "app.test" }]
backends = [{ address = "@B1@", id = "one" }]
`

func startBase(t *testing.T) (*testAPI, map[string]string) {
	t.Helper()
	certDir := t.TempDir()
	cf, kf, _, _ := writeCert(t, certDir, "default.test")
	vars := map[string]string{"B1": backend(t, "one"), "CERT": cf, "KEY": kf}
	return startAPI(t, baseCfg, vars), vars
}

// served returns the CN of the certificate the listener serves for sni.
func served(t *testing.T, addr, sni string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "error"
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestAPIChanges drives every kind of change through the socket and checks
// each takes effect on the traffic, shows in the state, counts in the
// metric and leaves an audit line naming the peer.
func TestAPIChanges(t *testing.T) {
	a, _ := startBase(t)
	l1, l2, l3 := a.addrs["@L1@"], a.addrs["@L2@"], a.addrs["@L3@"]
	two := backend(t, "two")

	a.mustDo("POST", "/v1/clusters", `{"id": "b2", "load_balancing": "random", "backends": [{"address": "`+two+`"}]}`, 201)
	a.mustDo("POST", "/v1/clusters/b2/frontends", `{"address": "`+l1+`", "hostname": "b2.test"}`, 201)
	if code, body := get(t, l1, "b2.test"); code != 200 || body != "two" {
		t.Fatalf("new cluster: %d %q", code, body)
	}
	a.mustDo("POST", "/v1/clusters/app/backends", `{"address": "`+two+`", "id": "two", "weight": 7}`, 201)
	a.mustDo("DELETE", "/v1/clusters/app/backends/"+PathEscape(a.srv.Live().Clusters[0].Backends[0].Address), "", 200)
	for range 3 {
		if _, body := get(t, l1, "app.test"); body != "two" {
			t.Fatalf("after the backend swap: %q", body)
		}
	}

	a.mustDo("POST", "/v1/listeners", `{"address": "`+l3+`", "protocol": "http", "max_connections": 50}`, 201)
	a.mustDo("POST", "/v1/clusters/app/frontends", `{"address": "`+l3+`", "hostname": "app.test", "path": "/"}`, 201)
	if _, body := get(t, l3, "app.test"); body != "two" {
		t.Fatalf("new listener: %q", body)
	}
	a.mustDo("DELETE", "/v1/clusters/app/frontends?address="+l3+"&hostname=app.test", "", 200)
	a.mustDo("DELETE", "/v1/listeners/"+l3, "", 200)
	if c, err := net.DialTimeout("tcp", l3, time.Second); err == nil {
		c.Close()
		t.Error("the removed listener still accepts")
	}

	// Certificates: by file, by upload, replaced, removed.
	dir := t.TempDir()
	xf, xk, _, _ := writeCert(t, dir, "x.test")
	a.mustDo("POST", "/v1/listeners/"+l2+"/certificates", jsonString(map[string]any{"certificate": xf, "key": xk}), 201)
	if got := served(t, l2, "x.test"); got != "x.test" {
		t.Fatalf("added certificate: served %q", got)
	}
	_, _, yPEM, yKey := writeCert(t, dir, "x.test", "y.test")
	out := a.mustDo("POST", "/v1/listeners/"+l2+"/certificates", jsonString(map[string]any{"certificate_pem": yPEM, "key_pem": yKey, "replace": xf}), 201)
	var o Outcome
	json.Unmarshal([]byte(out), &o)
	yID, _ := o.Extra["id"].(string)
	if got := served(t, l2, "y.test"); got != "x.test" || len(o.Changes.CertsAdded) != 1 || len(o.Changes.CertsRemoved) != 1 {
		t.Fatalf("replacement: served %q, changes %+v", got, o.Changes)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "saved.toml.certs", yID+".key")); err != nil {
		t.Errorf("the uploaded key is not stored beside the saved state: %v", err)
	}
	var certs struct{ Certificates []CertInfo }
	json.Unmarshal([]byte(a.mustDo("GET", "/v1/listeners/"+l2+"/certificates", "", 200)), &certs)
	if len(certs.Certificates) != 2 {
		t.Fatalf("certificates: %+v", certs)
	}
	a.mustDo("DELETE", "/v1/listeners/"+l2+"/certificates/"+yID[:12], "", 200)
	if got := served(t, l2, "y.test"); got != "default.test" {
		t.Errorf("after removal: served %q, want the default", got)
	}

	a.mustDo("DELETE", "/v1/clusters/b2", "", 200)
	if code, _ := get(t, l1, "b2.test"); code != 404 {
		t.Errorf("removed cluster: %d, want 404", code)
	}

	// The state shows the result, and the saved state holds it.
	var d state.Document
	json.Unmarshal([]byte(a.stateJSON()), &d)
	if len(d.Clusters) != 1 || len(d.Clusters["app"].Backends) != 1 || d.Clusters["app"].Backends[0].Weight != 7 || len(d.Listeners) != 2 {
		t.Errorf("state: %+v", d)
	}
	saved, err := config.Load(filepath.Join(a.dir, "saved.toml"))
	if err != nil || len(saved.Clusters) != 1 || saved.Clusters[0].Backends[0].ID != "two" {
		t.Errorf("saved state: %v %+v", err, saved)
	}
	if got := a.changes("backend.add", "ok"); got != 1 {
		t.Errorf("sluice_admin_changes_total{op=backend.add,result=ok} = %v", got)
	}
	if !strings.Contains(a.log.String(), "uid="+itoa(os.Getuid())+" pid=") || !strings.Contains(a.log.String(), "op=certificate.add") {
		t.Errorf("audit lines lack the peer or the op:\n%s", a.log.String())
	}
}

func itoa(n int) string { return strings.TrimSpace(jsonString(n)) }

// TestBadInputChangesNothing: every kind of bad request is answered 4xx
// with a JSON error naming the problem, counted as refused, and leaves the
// live state exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	a, vars := startBase(t)
	l1, l2 := a.addrs["@L1@"], a.addrs["@L2@"]
	dir := t.TempDir()
	cf, kf, _, _ := writeCert(t, dir, "c.test")
	_, otherKey, _, _ := writeCert(t, dir, "d.test")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)

	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown cluster", "POST", "/v1/clusters/nope/backends", `{"address": "127.0.0.1:9"}`, 404, `cluster \"nope\" not found`},
		{"unknown cluster remove", "DELETE", "/v1/clusters/nope", "", 404, "not found"},
		{"bad backend address", "POST", "/v1/clusters/app/backends", `{"address": "no-port"}`, 400, "clusters.app.backends[1].address"},
		{"bad weight", "POST", "/v1/clusters/app/backends", `{"address": "127.0.0.1:9", "weight": 5000}`, 400, "weight"},
		{"weight as string", "POST", "/v1/clusters/app/backends", `{"address": "127.0.0.1:9", "weight": "5"}`, 400, `key \"weight\": must be a number`},
		{"duplicate backend", "POST", "/v1/clusters/app/backends", `{"address": "` + vars["B1"] + `"}`, 409, "already has a backend"},
		{"unknown backend", "DELETE", "/v1/clusters/app/backends/127.0.0.1:1", "", 404, "has no backend"},
		{"malformed JSON", "POST", "/v1/clusters", `{"id": "x",`, 400, "malformed JSON"},
		{"not an object", "POST", "/v1/clusters", `[1, 2]`, 400, "must be a JSON object"},
		{"empty body", "POST", "/v1/clusters", ``, 400, "empty"},
		{"trailing garbage", "POST", "/v1/clusters", `{"id": "x"} {"id": "y"}`, 400, "malformed JSON"},
		{"unknown key", "POST", "/v1/clusters", `{"id": "x", "colour": "red"}`, 400, `unknown key \"colour\"`},
		{"missing id", "POST", "/v1/clusters", `{"load_balancing": "random"}`, 400, `\"id\" is required`},
		{"bad cluster id", "POST", "/v1/clusters", `{"id": "a b"}`, 400, "must be one or more of"},
		{"bad enum", "POST", "/v1/clusters", `{"id": "x", "load_balancing": "fastest"}`, 400, "clusters.x.load_balancing"},
		{"duplicate cluster", "POST", "/v1/clusters", `{"id": "app"}`, 409, "already exists"},
		{"frontend on unknown listener", "POST", "/v1/clusters/app/frontends", `{"address": "127.0.0.1:1", "hostname": "z.test"}`, 400, "is not the address of any listener"},
		{"duplicate frontend", "POST", "/v1/clusters/app/frontends", `{"address": "` + l1 + `", "hostname": "app.test"}`, 400, "duplicates"},
		{"frontend remove without hostname", "DELETE", "/v1/clusters/app/frontends?address=" + l1, "", 400, "hostname are required"},
		{"frontend remove unknown parameter", "DELETE", "/v1/clusters/app/frontends?address=" + l1 + "&hostname=app.test&colour=red", "", 400, "unknown parameter"},
		{"unknown frontend", "DELETE", "/v1/clusters/app/frontends?address=" + l1 + "&hostname=zzz.test", "", 404, "has no frontend"},
		{"listener bad address", "POST", "/v1/listeners", `{"address": "999.1.1.1:80", "protocol": "http"}`, 400, "listeners[2].address"},
		{"listener without protocol", "POST", "/v1/listeners", `{"address": "127.0.0.1:1"}`, 400, "are required"},
		{"listener duplicate", "POST", "/v1/listeners", `{"address": "` + l1 + `", "protocol": "http"}`, 409, "already exists"},
		{"listener in use", "DELETE", "/v1/listeners/" + l1, "", 409, "used by frontends of clusters app"},
		{"unknown listener", "DELETE", "/v1/listeners/127.0.0.1:1", "", 404, "not found"},
		{"invalid certificate", "POST", "/v1/listeners/" + l2 + "/certificates", jsonString(map[string]string{"certificate": garbage, "key": kf}), 400, "garbage.pem"},
		{"certificate key mismatch", "POST", "/v1/listeners/" + l2 + "/certificates", jsonString(map[string]string{"certificate": cf, "key": otherKey}), 400, "does not match"},
		{"invalid PEM upload", "POST", "/v1/listeners/" + l2 + "/certificates", `{"certificate_pem": "junk", "key_pem": "junk"}`, 400, "certificate_pem"},
		{"relative certificate path", "POST", "/v1/listeners/" + l2 + "/certificates", `{"certificate": "c.pem", "key": "k.pem"}`, 400, "absolute path"},
		{"certificate on http listener", "POST", "/v1/listeners/" + l1 + "/certificates", jsonString(map[string]string{"certificate": cf, "key": kf}), 400, "only to https listeners"},
		{"certificate on unknown listener", "POST", "/v1/listeners/127.0.0.1:1/certificates", jsonString(map[string]string{"certificate": cf, "key": kf}), 404, "not found"},
		{"replace unknown certificate", "POST", "/v1/listeners/" + l2 + "/certificates", jsonString(map[string]string{"certificate": cf, "key": kf, "replace": "0123456789abcdef"}), 404, "offers no certificate"},
		{"already offered", "POST", "/v1/listeners/" + l2 + "/certificates", jsonString(map[string]string{"certificate": vars["CERT"], "key": vars["KEY"]}), 409, "already offers"},
		{"remove unknown certificate", "DELETE", "/v1/listeners/" + l2 + "/certificates/0123456789abcdef", "", 404, "offers no certificate"},
		{"short certificate id", "DELETE", "/v1/listeners/" + l2 + "/certificates/01", "", 400, "at least 8 hex digits"},
		{"oversized body", "POST", "/v1/clusters", `{"id": "x", "backend_tls_server_name": "` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "larger than"},
		{"method not allowed", "PUT", "/v1/clusters", `{}`, 405, "not allowed"},
		{"unknown endpoint", "GET", "/v2/state", "", 404, "no such endpoint"},
		{"bad state format", "GET", "/v1/state?format=yaml", "", 400, "must be json or toml"},
	}
	before := a.stateJSON()
	version := a.srv.State.Current().Version
	refused := 0.0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := a.do(tc.method, tc.path, tc.body)
			if code != tc.status {
				t.Errorf("status %d, want %d\n%s", code, tc.status, body)
			}
			var e Error
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" {
				t.Errorf("the answer is not a JSON error: %v\n%s", err, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("the error does not say %q:\n%s", tc.want, body)
			}
			if after := a.stateJSON(); after != before || a.srv.State.Current().Version != version {
				t.Errorf("the state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	for _, op := range []string{"cluster.add", "cluster.remove", "backend.add", "backend.remove", "frontend.add", "frontend.remove",
		"listener.add", "listener.remove", "certificate.add", "certificate.remove"} {
		refused += a.changes(op, "refused")
		if ok := a.changes(op, "ok"); ok != 0 {
			t.Errorf("%s counted %v ok changes", op, ok)
		}
	}
	if refused < 30 {
		t.Errorf("only %v refusals counted", refused)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "saved.toml")); !os.IsNotExist(err) {
		t.Errorf("a refused change wrote the saved state (%v)", err)
	}
}

// TestReload: reload applies the file's listeners and clusters, changing
// only the difference, reports process-wide keys that need a restart, and
// refuses an invalid file without changing anything.
func TestReload(t *testing.T) {
	a, vars := startBase(t)
	l1 := a.addrs["@L1@"]
	two := backend(t, "two")
	edited := strings.Replace(baseCfg, `backends = [{ address = "@B1@", id = "one" }]`, `backends = [{ address = "@B2@", id = "two" }]`, 1)
	edited = strings.Replace(edited, `access_log = "off"`, `access_log = "off"`+"\nlog_level = \"debug\"", 1)
	vars["B2"] = two
	write := func(text string) {
		text = strings.ReplaceAll(text, "@DIR@", a.dir)
		for k, v := range a.addrs {
			text = strings.ReplaceAll(text, k, v)
		}
		for k, v := range vars {
			text = strings.ReplaceAll(text, "@"+k+"@", v)
		}
		os.WriteFile(a.file, []byte(text), 0o600)
	}
	write(edited)
	var o Outcome
	json.Unmarshal([]byte(a.mustDo("POST", "/v1/reload", "", 200)), &o)
	if len(o.Changes.ListenersAdded)+len(o.Changes.ListenersRemoved)+len(o.Changes.ListenersReplaced)+len(o.Changes.CertsAdded)+len(o.Changes.CertsRemoved) != 0 {
		t.Errorf("reload touched listeners or certificates: %+v", o.Changes)
	}
	if !strings.Contains(o.Warning, "log_level") {
		t.Errorf("warning %q does not name log_level", o.Warning)
	}
	if _, body := get(t, l1, "app.test"); body != "two" {
		t.Errorf("after reload: %q", body)
	}
	before := a.stateJSON()
	write("[[listeners]]\naddress = 5\n")
	code, body := a.do("POST", "/v1/reload", "")
	if code != 400 || !strings.Contains(body, "sluice.toml:2") {
		t.Errorf("invalid file: %d %s", code, body)
	}
	if a.stateJSON() != before {
		t.Error("a refused reload changed the state")
	}
}

// TestSavedStateEqualsFreshProcess: after a sequence of changes, a
// process started afresh from the same config file comes back (through
// the saved state) with exactly the live state of the first.
func TestSavedStateEqualsFreshProcess(t *testing.T) {
	a, vars := startBase(t)
	l1, l2 := a.addrs["@L1@"], a.addrs["@L2@"]
	dir := t.TempDir()
	xf, xk, _, _ := writeCert(t, dir, "x.test")
	_, _, yPEM, yKey := writeCert(t, dir, "y.test")
	a.mustDo("POST", "/v1/clusters", `{"id": "b2", "backend_protocol": "h2c", "connect_retries": 0, "backends": [{"address": "127.0.0.1:9101", "weight": 0}, {"address": "127.0.0.1:9102"}]}`, 201)
	a.mustDo("POST", "/v1/clusters/b2/frontends", `{"address": "`+l1+`", "hostname": "*.b2.test", "path": "^/v[0-9]/", "path_type": "regex"}`, 201)
	a.mustDo("POST", "/v1/clusters/app/backends", `{"address": "127.0.0.1:9103", "id": "three", "weight": 3}`, 201)
	a.mustDo("DELETE", "/v1/clusters/app/backends/one", "", 200)
	a.mustDo("POST", "/v1/listeners", `{"address": "`+a.addrs["@L3@"]+`", "protocol": "http", "h2c": false, "back_timeout": 90}`, 201)
	a.mustDo("POST", "/v1/listeners/"+l2+"/certificates", jsonString(map[string]any{"certificate": xf, "key": xk}), 201)
	a.mustDo("POST", "/v1/listeners/"+l2+"/certificates", jsonString(map[string]any{"certificate_pem": yPEM, "key_pem": yKey, "default": true}), 201)
	a.mustDo("POST", "/v1/clusters/app/frontends", `{"address": "`+l2+`", "hostname": "x.test", "certificate": "`+xf+`", "key": "`+xk+`"}`, 201)
	live := a.stateJSON()
	var d state.Document
	json.Unmarshal([]byte(live), &d)
	if d.Listeners[2].H2StreamIdleTimeout != 90 || d.Clusters["b2"].BackendMaxConnections != 4 || d.Clusters["b2"].Backends[1].Weight != 100 {
		t.Errorf("derived defaults of added elements: %+v %+v", d.Listeners[2], d.Clusters["b2"])
	}

	a.stop()
	b := &testAPI{t: t, dir: a.dir, addrs: a.addrs, log: &syncBuffer{}}
	b.start(baseCfg, vars)
	if fresh := b.stateJSON(); fresh != live {
		t.Errorf("a fresh process's state differs from the live state before it:\nlive  %s\nfresh %s", live, fresh)
	}
	if got := served(t, l2, "nothing.test"); got != "y.test" {
		t.Errorf("the fresh process serves %q as default", got)
	}
}
