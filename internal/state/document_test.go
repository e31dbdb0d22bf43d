package state

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
)

// writeCert writes a self-signed certificate for name and its key into
// dir, and returns their paths.
func writeCert(t testing.TB, dir, name string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return cf, kf
}

// fullConfig is a config file that sets every key to a value other than
// its default, so that a key the document forgets cannot go unnoticed.
const fullConfig = `log_level = "warn"
log_format = "json"
access_log = "off"
access_log_format = "text"
admin_socket = "admin.sock"
admin_allowed_uids = [1000, 1001]
metrics_address = "127.0.0.1:9109"
saved_state = "saved.toml"

[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"
h2c = false
front_timeout = 61
request_timeout = 11
back_timeout = 31
connect_timeout = 4
max_header_bytes = 20000
max_header_count = 101
max_connections = 999
max_connections_per_ip = 9
h2_max_concurrent_streams = 99
h2_initial_window_size = 70000
h2_stream_idle_timeout_seconds = 44
h2_graceful_shutdown_deadline_seconds = 0
h2_settings_ack_timeout_seconds = 6
h2_max_rst_stream_per_window = 101
h2_max_rst_stream_lifetime = 10001
h2_max_rst_stream_abusive_lifetime = 51
h2_max_rst_stream_emitted_lifetime = 501
h2_max_pending_rst_streams = 201
h2_max_ping_per_window = 102
h2_max_ping_lifetime = 10002
h2_max_settings_per_window = 52
h2_max_settings_lifetime = 10003
h2_max_empty_data_per_window = 103
h2_max_window_update_stream0_per_window = 104
h2_max_continuation_frames = 21
h2_max_header_list_size = 65537
h2_max_header_fields = 129
h2_max_header_table_size = 65538
h2_max_glitch_count = 105
h2_refused_streams_before_shrink = 53
h2_max_settings_entries = 65
h2_max_priority_entries = 4097

[[listeners]]
address = "127.0.0.1:8443"
protocol = "https"
tls_versions = ["TLS1.2"]
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
alpn_protocols = ["http/1.1", "h2"]
certificate = "default.pem"
key = "default.key"
certificate_chain = "chain.pem"
certificates = [{ certificate = "extra.pem", key = "extra.key" }]

[clusters."a.b"]
load_balancing = "power_of_two"
backend_protocol = "h2"
backend_tls_verify = false
backend_tls_ca = "chain.pem"
backend_tls_server_name = "backend.internal"
backend_max_connections = 7
max_idle_connections = 11
idle_connection_timeout = 12
connect_retries = 0
retry_buffer_bytes = 0
backend_h2_read_idle_timeout = 13
backend_h2_ping_timeout = 14
health_backoff_min = 2
health_backoff_max = 40
answers = { "503" = "503.html" }
frontends = [
  { address = "127.0.0.1:8080", hostname = "*.example.com", path = "^/api/", path_type = "regex" },
  { address = "127.0.0.1:8443", hostname = "app.example.com", path = "/x", path_type = "equals", certificate = "app.pem", key = "app.key" },
]
backends = [
  { address = "10.0.0.1:80", id = "one", weight = 0 },
  { address = "backend.internal:81", id = "two", weight = 1000 },
]

[clusters.empty]
`

// loadFull writes fullConfig and its files into a fresh directory and
// loads it.
func loadFull(t testing.TB) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	writeCert(t, dir, "default")
	writeCert(t, dir, "extra")
	writeCert(t, dir, "app")
	chain, _ := os.ReadFile(filepath.Join(dir, "app.pem"))
	os.WriteFile(filepath.Join(dir, "chain.pem"), chain, 0o600)
	os.WriteFile(filepath.Join(dir, "503.html"), []byte("<p>later</p>"), 0o600)
	path := filepath.Join(dir, "sluice.toml")
	os.WriteFile(path, []byte(fullConfig), 0o600)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// stripLines zeroes what a config's origin leaves on it (file, lines), so
// configs from different files compare equal.
func stripLines(c *config.Config) *config.Config {
	c = CloneConfig(c)
	c.File = ""
	for _, l := range c.Listeners {
		l.Line = 0
		for _, cf := range l.Certificates {
			cf.Line = 0
		}
	}
	for _, cl := range c.Clusters {
		cl.Line = 0
		for _, f := range cl.Frontends {
			f.Line = 0
		}
		for _, b := range cl.Backends {
			b.Line = 0
		}
	}
	return c
}

// TestDocumentTOMLRoundTrip: a config written as a document and parsed
// back is the same config, every key included.
func TestDocumentTOMLRoundTrip(t *testing.T) {
	c, dir := loadFull(t)
	text, err := NewDocument(c).TOML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(filepath.Join(dir, "back.toml"), text)
	if err != nil {
		t.Fatalf("the document does not parse: %v\n%s", err, text)
	}
	if want, got := stripLines(c), stripLines(back); !reflect.DeepEqual(want, got) {
		t.Errorf("round trip differs:\nwant %+v\ngot  %+v\n%s", want, got, text)
	}
}

// TestDocumentJSONRoundTrip: the JSON of the admin API decodes to the same
// document, and converting the document back gives the same config.
func TestDocumentJSONRoundTrip(t *testing.T) {
	c, _ := loadFull(t)
	d := NewDocument(c)
	data, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Document
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, &back) {
		t.Errorf("JSON round trip differs:\n%s", data)
	}
	for i, l := range c.Listeners {
		got := d.Listeners[i].Listener()
		got.Line = l.Line
		for j, cf := range got.Certificates {
			cf.Line = l.Certificates[j].Line
		}
		if !reflect.DeepEqual(l, got) {
			t.Errorf("listener %d: %+v, want %+v", i, got, l)
		}
	}
	for _, cl := range c.Clusters {
		got, err := d.Clusters[cl.ID].Cluster(cl.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := stripLines(&config.Config{Clusters: []*config.Cluster{cl}}).Clusters[0]
		if !reflect.DeepEqual(want, got) {
			t.Errorf("cluster %s: %+v, want %+v", cl.ID, got, want)
		}
	}
	if strings.Contains(string(data), "null") {
		t.Errorf("the JSON has nulls (empty lists must be []):\n%s", data)
	}
}

// fillDistinct sets every settable field of the struct v points to a
// distinct non-zero value, so that a conversion dropping a field fails a
// comparison.
func fillDistinct(v reflect.Value, n *int) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		*n++
		switch f.Kind() {
		case reflect.String:
			f.SetString("s" + string(rune('a'+*n%26)))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			if f.Type() == reflect.TypeOf(time.Duration(0)) {
				f.SetInt(int64(*n) * int64(time.Second))
			} else {
				f.SetInt(int64(*n))
			}
		case reflect.Uint32:
			f.SetUint(uint64(*n))
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.ValueOf([]string{"x", "y"}))
			}
		case reflect.Struct:
			fillDistinct(f, n)
		}
	}
}

// TestDocumentCoversEveryField: every field of a listener, frontend and
// backend survives the document both ways (a field added to config
// without a document key fails here).
func TestDocumentCoversEveryField(t *testing.T) {
	n := 0
	var l config.Listener
	fillDistinct(reflect.ValueOf(&l).Elem(), &n)
	l.Line = 0
	l.Certificates = []*config.CertificateFiles{{Certificate: "c", Key: "k", CertificateChain: "ch"}}
	if got := ListenerDocOf(&l).Listener(); !reflect.DeepEqual(&l, got) {
		t.Errorf("listener:\n got %+v\nwant %+v", got, &l)
	}
	var f config.Frontend
	fillDistinct(reflect.ValueOf(&f).Elem(), &n)
	f.Line = 0
	if got := FrontendDocOf(&f).Frontend(); !reflect.DeepEqual(&f, got) {
		t.Errorf("frontend: got %+v want %+v", got, &f)
	}
	var cl config.Cluster
	fillDistinct(reflect.ValueOf(&cl).Elem(), &n)
	cl.Line = 0
	cl.Frontends = []*config.Frontend{&f}
	cl.Backends = []*config.Backend{{Address: "a:1", ID: "i", Weight: 3}}
	got, err := ClusterDocOf(&cl).Cluster(cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&cl, got) {
		t.Errorf("cluster:\n got %+v\nwant %+v", got, &cl)
	}
}

// TestSecondsRoundUp: a sub-second duration set in code never becomes 0
// in the document (0 means "forever" for the drain deadline).
func TestSecondsRoundUp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 0}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {30 * time.Second, 30}} {
		if got := secs(tc.d); got != tc.want {
			t.Errorf("secs(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestCloneConfigIsDeep: editing a clone leaves the original untouched.
func TestCloneConfigIsDeep(t *testing.T) {
	c, _ := loadFull(t)
	before := stripLines(c)
	n := CloneConfig(c)
	n.AdminAllowedUIDs[0] = 7
	n.Listeners[1].TLSVersions[0] = "x"
	n.Listeners[1].Certificates[0].Key = "x"
	n.Clusters[0].Answers[503] = "x"
	n.Clusters[0].AnswerFiles[503] = "x"
	n.Clusters[0].Frontends[0].Hostname = "x"
	n.Clusters[0].Backends[0].Weight = 5
	n.Listeners = n.Listeners[:1]
	if !reflect.DeepEqual(before, stripLines(c)) {
		t.Error("changing the clone changed the original")
	}
}

// BenchmarkStateJSON is the cost of GET /v1/state on a config of 100
// clusters (not a hot path: for capacity planning of scripted polling).
func BenchmarkStateJSON(b *testing.B) {
	c := &config.Config{}
	c.Listeners = []*config.Listener{config.NewListener("127.0.0.1:8080", "http")}
	for i := range 100 {
		cl := config.NewCluster("c" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		cl.Frontends = []*config.Frontend{config.NewFrontend("127.0.0.1:8080", "h.test")}
		cl.Backends = []*config.Backend{config.NewBackend("10.0.0.1:80"), config.NewBackend("10.0.0.2:80")}
		c.Clusters = append(c.Clusters, cl)
	}
	config.ApplyDefaults(c)
	b.ReportAllocs()
	for range b.N {
		if _, err := NewDocument(c).JSON(); err != nil {
			b.Fatal(err)
		}
	}
}
