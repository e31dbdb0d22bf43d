package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseContractExample decodes the CONTRACT.md example, verbatim, into
// the exact struct a consumer must see.
func TestParseContractExample(t *testing.T) {
	src, err := os.ReadFile("testdata/contract.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := certDir(t)
	c, err := loadIn(t, dir, string(src))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	file := filepath.Join(dir, "sluice.toml")
	at := func(name string) string { return filepath.Join(dir, name) }

	flood := FloodLimits{
		RSTStreamPerWindow: 100, RSTStreamLifetime: 10000, RSTStreamAbusiveLifetime: 50,
		RSTStreamEmittedLifetime: 500, PendingRSTStreams: 200,
		PingPerWindow: 100, PingLifetime: 10000, SettingsPerWindow: 50, SettingsLifetime: 10000,
		EmptyDataPerWindow: 100, WindowUpdateZeroPerWindow: 100, ContinuationFrames: 20,
		HeaderListSize: 65536, HeaderFields: 128, HeaderTableSize: 65536, GlitchCount: 100,
		RefusedStreamsBeforeShrink: 50, SettingsEntries: 64, PriorityEntries: 4096,
	}
	want := &Config{
		File:            file,
		LogLevel:        "info",
		LogFormat:       "text",
		AccessLog:       "stdout",
		AccessLogFormat: "json",
		AdminSocket:     at("sluice.sock"),
		MetricsAddress:  "127.0.0.1:9100",
		Listeners: []*Listener{{
			Line:                       8,
			Address:                    "127.0.0.1:8080",
			Protocol:                   "http",
			H2C:                        true,
			FrontTimeout:               60 * time.Second,
			RequestTimeout:             10 * time.Second,
			BackTimeout:                30 * time.Second,
			ConnectTimeout:             3 * time.Second,
			MaxHeaderBytes:             16384,
			MaxHeaderCount:             100,
			MaxConnections:             10000,
			MaxConnectionsPerIP:        0,
			H2MaxConcurrentStreams:     100,
			H2InitialWindowSize:        1048576,
			H2StreamIdleTimeout:        30 * time.Second,
			H2GracefulShutdownDeadline: 5 * time.Second,
			H2SettingsAckTimeout:       5 * time.Second,
			H2Scheduler:                "rfc9218",
			Flood:                      flood,
		}, {
			Line:                       27,
			Address:                    "127.0.0.1:8443",
			Protocol:                   "https",
			H2C:                        false,
			FrontTimeout:               60 * time.Second,
			RequestTimeout:             10 * time.Second,
			BackTimeout:                30 * time.Second,
			ConnectTimeout:             3 * time.Second,
			MaxHeaderBytes:             16384,
			MaxHeaderCount:             100,
			MaxConnections:             10000,
			MaxConnectionsPerIP:        0,
			H2MaxConcurrentStreams:     100,
			H2InitialWindowSize:        1048576,
			H2StreamIdleTimeout:        30 * time.Second,
			H2GracefulShutdownDeadline: 5 * time.Second,
			H2SettingsAckTimeout:       5 * time.Second,
			H2Scheduler:                "rfc9218",
			Flood:                      flood,
			TLSVersions:                []string{"TLS1.2", "TLS1.3"},
			ALPNProtocols:              []string{"h2", "http/1.1"},
			Certificate:                at("default.pem"),
			Key:                        at("default.key"),
		}},
		Clusters: []*Cluster{{
			Line:                     37,
			ID:                       "app",
			LoadBalancing:            "round_robin",
			BackendProtocol:          "http1",
			BackendTLSVerify:         true,
			BackendMaxConnections:    0,
			MaxIdleConnections:       1024,
			IdleConnectionTimeout:    60 * time.Second,
			ConnectRetries:           3,
			RetryBufferBytes:         65536,
			BackendH2ReadIdleTimeout: 10 * time.Second,
			BackendH2PingTimeout:     5 * time.Second,
			HealthBackoffMin:         1 * time.Second,
			HealthBackoffMax:         30 * time.Second,
			Frontends: []*Frontend{
				{Line: 42, Address: "127.0.0.1:8080", Hostname: "app.localhost", Path: "/", PathType: "prefix"},
				{Line: 43, Address: "127.0.0.1:8443", Hostname: "app.localhost", Path: "/", PathType: "prefix",
					Certificate: at("app.pem"), Key: at("app.key")},
			},
			Backends: []*Backend{
				{Line: 46, Address: "127.0.0.1:9001", ID: "app-1", Weight: 100},
				{Line: 47, Address: "127.0.0.1:9002", ID: "app-2", Weight: 100},
			},
		}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded config differs\n got: %s\nwant: %s", dump(c), dump(want))
	}
	if err := Validate(c); err != nil {
		t.Errorf("Validate of a parsed config: %v", err)
	}
}

// dump renders a Config with its pointed-to structs, for failure messages.
func dump(c *Config) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("%+v\n", *c))
	for _, l := range c.Listeners {
		b.WriteString(fmt.Sprintf("  listener %+v\n", *l))
	}
	for _, cl := range c.Clusters {
		b.WriteString(fmt.Sprintf("  cluster %+v\n", *cl))
		for _, f := range cl.Frontends {
			b.WriteString(fmt.Sprintf("    frontend %+v\n", *f))
		}
		for _, be := range cl.Backends {
			b.WriteString(fmt.Sprintf("    backend %+v\n", *be))
		}
	}
	return b.String()
}

// TestParseMinimal checks every default on the smallest useful file, where
// the defaults that depend on other keys (h2c, stream idle timeout,
// backend_max_connections, health_backoff_max) have their say.
func TestParseMinimal(t *testing.T) {
	src := `
[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"

[[listeners]]
address = "[::1]:8443"
protocol = "https"
back_timeout = 120

[clusters.web]
frontends = [{ address = "127.0.0.1:8080", hostname = "Web.Example.COM." }]
backends = [{ address = "Backend.Internal:80" }]

[clusters.mux]
backend_protocol = "h2c"
health_backoff_min = 45
`
	c, err := Parse("", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "info" || c.LogFormat != "text" || c.AccessLog != "stdout" || c.AccessLogFormat != "json" ||
		c.AdminSocket != "" || c.MetricsAddress != "" || c.SavedState != "" || c.File != "" {
		t.Errorf("top-level defaults: %+v", *c)
	}
	h, s := c.Listeners[0], c.Listeners[1]
	if !h.H2C || s.H2C {
		t.Errorf("h2c: http %v https %v, want true false", h.H2C, s.H2C)
	}
	if h.H2StreamIdleTimeout != 30*time.Second || s.H2StreamIdleTimeout != 120*time.Second {
		t.Errorf("stream idle timeout: %v %v, want 30s and max(30s, back_timeout) = 120s", h.H2StreamIdleTimeout, s.H2StreamIdleTimeout)
	}
	if h.TLSVersions != nil || h.ALPNProtocols != nil {
		t.Errorf("http listener got TLS defaults: %v %v", h.TLSVersions, h.ALPNProtocols)
	}
	if !reflect.DeepEqual(s.TLSVersions, []string{"TLS1.2", "TLS1.3"}) || !reflect.DeepEqual(s.ALPNProtocols, []string{"h2", "http/1.1"}) || s.CipherSuites != nil {
		t.Errorf("https TLS defaults: %v %v %v", s.TLSVersions, s.ALPNProtocols, s.CipherSuites)
	}
	if s.Address != "[::1]:8443" {
		t.Errorf("address %q", s.Address)
	}
	if h.Flood != DefaultFloodLimits() || h.H2GracefulShutdownDeadline != 5*time.Second {
		t.Errorf("flood/deadline defaults: %+v %v", h.Flood, h.H2GracefulShutdownDeadline)
	}

	// Clusters come sorted by ID whatever the file order.
	if len(c.Clusters) != 2 || c.Clusters[0].ID != "mux" || c.Clusters[1].ID != "web" {
		t.Fatalf("clusters not sorted by id: %v", dump(c))
	}
	mux, web := c.Clusters[0], c.Clusters[1]
	if web.BackendMaxConnections != 0 || mux.BackendMaxConnections != 4 {
		t.Errorf("backend_max_connections: http1 %d (want 0 = unlimited), h2c %d (want 4)", web.BackendMaxConnections, mux.BackendMaxConnections)
	}
	if mux.HealthBackoffMin != 45*time.Second || mux.HealthBackoffMax != 45*time.Second || web.HealthBackoffMax != 30*time.Second {
		t.Errorf("health backoff: %v..%v and %v", mux.HealthBackoffMin, mux.HealthBackoffMax, web.HealthBackoffMax)
	}
	f, b := web.Frontends[0], web.Backends[0]
	if f.Hostname != "web.example.com" || f.Path != "/" || f.PathType != "prefix" {
		t.Errorf("frontend defaults/normalisation: %+v", *f)
	}
	if b.Address != "backend.internal:80" || b.ID != "backend.internal:80" || b.Weight != 100 {
		t.Errorf("backend defaults/normalisation: %+v", *b)
	}
	if !web.BackendTLSVerify || web.ConnectRetries != 3 || web.RetryBufferBytes != 65536 || web.MaxIdleConnections != 1024 ||
		web.IdleConnectionTimeout != 60*time.Second || web.LoadBalancing != "round_robin" || web.BackendProtocol != "http1" {
		t.Errorf("cluster defaults: %+v", *web)
	}
}

// TestParseZeroSettings checks that keys whose zero value is meaningful keep
// a written zero instead of getting their default.
func TestParseZeroSettings(t *testing.T) {
	src := `
[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"
h2c = false
h2_graceful_shutdown_deadline_seconds = 0

[clusters.c]
backend_tls_verify = false
connect_retries = 0
retry_buffer_bytes = 0
backends = [{ address = "127.0.0.1:1", weight = 0 }]
`
	c, err := Parse("", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	l, cl := c.Listeners[0], c.Clusters[0]
	if l.H2C || l.H2GracefulShutdownDeadline != 0 {
		t.Errorf("listener zeros lost: h2c %v deadline %v", l.H2C, l.H2GracefulShutdownDeadline)
	}
	if cl.BackendTLSVerify || cl.ConnectRetries != 0 || cl.RetryBufferBytes != 0 || cl.Backends[0].Weight != 0 {
		t.Errorf("cluster zeros lost: %+v %+v", *cl, *cl.Backends[0])
	}
}

// TestParseAlternativeSpellings: the same configuration written with
// [[header]] arrays of tables, dotted keys, a sub-table for answers,
// multi-line inline tables and hexadecimal/underscored integers.
func TestParseAlternativeSpellings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "503.html"), "<h1>maintenance</h1>")
	src := `
listeners = [
  { address = "127.0.0.1:8080", protocol = "http", max_header_bytes = 0x8000 },
]

[clusters.app]
backend_protocol = "h2c"
backend_max_connections = 1_000

[[clusters.app.frontends]]
address = "127.0.0.1:8080"
hostname = "*.example.com"
path = "^/api/v[0-9]+/"
path_type = "regex"

[[clusters.app.backends]]
address = "10.0.0.1:80"

[[clusters.app.backends]]
address = "10.0.0.2:80"
id = "second"

[clusters.app.answers]
503 = "503.html"

[clusters."with.dot"]
frontends = [
  {
    address = "127.0.0.1:8080",
    hostname = "dot.example.com",
  },
]
`
	c, err := loadIn(t, dir, src)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners[0]
	if l.MaxHeaderBytes != 0x8000 || l.Line != 3 {
		t.Errorf("listener: %+v", *l)
	}
	app, dot := c.Clusters[0], c.Clusters[1]
	if app.ID != "app" || dot.ID != "with.dot" {
		t.Fatalf("ids %q %q", app.ID, dot.ID)
	}
	if app.BackendMaxConnections != 1000 || len(app.Frontends) != 1 || len(app.Backends) != 2 {
		t.Fatalf("app: %s", dump(c))
	}
	if f := app.Frontends[0]; f.Line != 10 || f.Hostname != "*.example.com" || f.PathType != "regex" {
		t.Errorf("frontend: %+v", *f)
	}
	if b := app.Backends[1]; b.Line != 19 || b.ID != "second" || app.Backends[0].Line != 16 {
		t.Errorf("backends: %+v %+v", *app.Backends[0], *b)
	}
	if got := app.Answers[503]; got != "<h1>maintenance</h1>" || len(app.Answers) != 1 {
		t.Errorf("answers: %v", app.Answers)
	}
	if f := dot.Frontends[0]; f.Line != 28 || f.Hostname != "dot.example.com" {
		t.Errorf("multi-line inline table: %+v", *f)
	}
}

// TestParseRelativePaths: paths in the file are relative to its directory,
// absolute ones are kept, and the special access_log values are not paths.
func TestParseRelativePaths(t *testing.T) {
	dir := certDir(t)
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "abs.sock")
	src := `
access_log = "logs/access.log"
admin_socket = "` + abs + `"
saved_state = "state.json"

[[listeners]]
address = "127.0.0.1:8443"
protocol = "https"
certificate = "app.pem"
key = "./app.key"
`
	c, err := loadIn(t, dir, src)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessLog != filepath.Join(sub, "access.log") || c.AdminSocket != abs || c.SavedState != filepath.Join(dir, "state.json") {
		t.Errorf("paths: %q %q %q", c.AccessLog, c.AdminSocket, c.SavedState)
	}
	if l := c.Listeners[0]; l.Certificate != filepath.Join(dir, "app.pem") || l.Key != filepath.Join(dir, "app.key") {
		t.Errorf("cert paths: %q %q", l.Certificate, l.Key)
	}

	c, err = loadIn(t, dir, `access_log = "off"`)
	if err != nil || c.AccessLog != "off" {
		t.Errorf("access_log off: %v %v", c, err)
	}
}

// TestParseLineEndings: CRLF files and a UTF-8 byte order mark decode the
// same, with the same lines.
func TestParseLineEndings(t *testing.T) {
	src := "log_level = \"debug\"\n\n[[listeners]]\naddress = \"127.0.0.1:1\"\nprotocol = \"http\"\nbogus = 1\n"
	for name, data := range map[string]string{
		"lf":   src,
		"crlf": strings.ReplaceAll(src, "\n", "\r\n"),
		"bom":  "\xEF\xBB\xBF" + src,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(data))
			checkErrors(t, "f.toml", err, []wantErr{{6, "listeners[0].bogus", "unknown key"}})
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	es := asErrors(t, err)
	if len(es) != 1 || es[0].File != path || es[0].Line != 0 || !strings.Contains(es[0].Error(), "no such file") {
		t.Errorf("got %v", err)
	}
	if !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error %q does not start with the file name", err)
	}
}
