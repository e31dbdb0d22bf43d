package config

import (
	"crypto/tls"
	"reflect"
	"testing"
	"time"
)

// TestDefaultFloodLimitsMatchDesign pins the DESIGN.md 3.7 table.
func TestDefaultFloodLimitsMatchDesign(t *testing.T) {
	want := FloodLimits{
		RSTStreamPerWindow:         100,
		RSTStreamLifetime:          10000,
		RSTStreamAbusiveLifetime:   50,
		RSTStreamEmittedLifetime:   500,
		PendingRSTStreams:          200,
		PingPerWindow:              100,
		PingLifetime:               10000,
		SettingsPerWindow:          50,
		SettingsLifetime:           10000,
		EmptyDataPerWindow:         100,
		WindowUpdateZeroPerWindow:  100,
		ContinuationFrames:         20,
		HeaderListSize:             64 << 10,
		HeaderFields:               128,
		HeaderTableSize:            64 << 10,
		GlitchCount:                100,
		RefusedStreamsBeforeShrink: 50,
		SettingsEntries:            64,
		PriorityEntries:            4096,
	}
	if got := DefaultFloodLimits(); got != want {
		t.Errorf("DefaultFloodLimits() = %+v\nwant %+v", got, want)
	}
	// Every flood key has exactly one field and a range that holds its default.
	def := DefaultFloodLimits()
	seen := map[*int]bool{}
	for _, fk := range floodKeys(&def) {
		if seen[fk.val] {
			t.Errorf("%s shares a field with another key", fk.name)
		}
		seen[fk.val] = true
		if b, ok := limits[fk.name]; !ok || !b.contains(int64(*fk.val)) {
			t.Errorf("%s: default %d outside its limits %+v", fk.name, *fk.val, b)
		}
	}
	if n := reflect.TypeOf(def).NumField(); len(seen) != n {
		t.Errorf("floodKeys covers %d fields, FloodLimits has %d", len(seen), n)
	}
}

func TestNewListener(t *testing.T) {
	h := NewListener("127.0.0.1:08080", "http")
	if h.Address != "127.0.0.1:8080" || !h.H2C || h.FrontTimeout != 60*time.Second || h.RequestTimeout != 10*time.Second ||
		h.BackTimeout != 30*time.Second || h.ConnectTimeout != 3*time.Second || h.MaxHeaderBytes != 16384 ||
		h.MaxHeaderCount != 100 || h.MaxConnections != 10000 || h.MaxConnectionsPerIP != 0 ||
		h.H2MaxConcurrentStreams != 100 || h.H2InitialWindowSize != 1<<20 || h.H2StreamIdleTimeout != 30*time.Second ||
		h.H2GracefulShutdownDeadline != 5*time.Second || h.H2SettingsAckTimeout != 5*time.Second || h.H2Scheduler != "rfc9218" ||
		h.Flood != DefaultFloodLimits() || h.TLSVersions != nil || h.ALPNProtocols != nil {
		t.Errorf("NewListener(http) = %+v", *h)
	}
	s := NewListener("[::1]:443", "https")
	if s.H2C || !reflect.DeepEqual(s.TLSVersions, []string{"TLS1.2", "TLS1.3"}) || !reflect.DeepEqual(s.ALPNProtocols, []string{"h2", "http/1.1"}) {
		t.Errorf("NewListener(https) = %+v", *s)
	}
}

func TestNewClusterFrontendBackend(t *testing.T) {
	c := NewCluster("app")
	want := &Cluster{
		ID: "app", LoadBalancing: "round_robin", BackendProtocol: "http1", BackendTLSVerify: true,
		MaxIdleConnections: 1024, IdleConnectionTimeout: 60 * time.Second, ConnectRetries: 3,
		RetryBufferBytes: 65536, BackendH2ReadIdleTimeout: 10 * time.Second, BackendH2PingTimeout: 5 * time.Second, HealthBackoffMin: time.Second, HealthBackoffMax: 30 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("NewCluster = %+v\nwant %+v", *c, *want)
	}
	f := NewFrontend("127.0.0.1:80", "App.Example.")
	if *f != (Frontend{Address: "127.0.0.1:80", Hostname: "app.example", Path: "/", PathType: "prefix"}) {
		t.Errorf("NewFrontend = %+v", *f)
	}
	b := NewBackend("[2001:db8::0001]:80")
	if *b != (Backend{Address: "[2001:db8::1]:80", ID: "[2001:db8::1]:80", Weight: 100}) {
		t.Errorf("NewBackend = %+v", *b)
	}
}

// codeConfig is a valid configuration built in code the way the embedded
// default or a test would build it.
func codeConfig() *Config {
	cl := NewCluster("demo")
	cl.Frontends = []*Frontend{NewFrontend("127.0.0.1:8080", "localhost")}
	cl.Backends = []*Backend{NewBackend("127.0.0.1:9000")}
	return &Config{
		Listeners: []*Listener{NewListener("127.0.0.1:8080", "http")},
		Clusters:  []*Cluster{cl},
	}
}

func TestApplyDefaults(t *testing.T) {
	c := codeConfig()
	c.Clusters = append(c.Clusters, &Cluster{ID: "a", BackendProtocol: "h2"})
	c.Listeners = append(c.Listeners, &Listener{Address: "127.0.0.1:1", Protocol: "http", BackTimeout: time.Minute})
	ApplyDefaults(c)
	if c.LogLevel != "info" || c.LogFormat != "text" || c.AccessLog != "stdout" || c.AccessLogFormat != "json" {
		t.Errorf("top-level defaults: %+v", *c)
	}
	if c.Clusters[0].ID != "a" {
		t.Errorf("clusters not sorted: %s, %s", c.Clusters[0].ID, c.Clusters[1].ID)
	}
	a := c.Clusters[0]
	if a.BackendMaxConnections != 4 || a.LoadBalancing != "round_robin" {
		t.Errorf("cluster defaults: %+v", *a)
	}
	// Zero is a valid setting for these: ApplyDefaults must not touch them.
	if a.BackendTLSVerify || a.ConnectRetries != 0 || a.RetryBufferBytes != 0 {
		t.Errorf("ApplyDefaults changed zero-is-meaningful cluster fields: %+v", *a)
	}
	l := c.Listeners[1]
	if l.H2C || l.H2GracefulShutdownDeadline != 0 || l.H2StreamIdleTimeout != time.Minute {
		t.Errorf("listener: h2c %v deadline %v stream idle %v", l.H2C, l.H2GracefulShutdownDeadline, l.H2StreamIdleTimeout)
	}

	// Idempotent.
	before := dump(c)
	ApplyDefaults(c)
	if after := dump(c); after != before {
		t.Errorf("second ApplyDefaults changed the config:\n%s\n%s", before, after)
	}
	if err := Validate(c); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestValidateCodeConfig: errors of a Config built in code have no file and
// no line, and name the key as the file would.
func TestValidateCodeConfig(t *testing.T) {
	c := codeConfig()
	if err := Validate(c); err == nil {
		t.Fatal("Validate accepted a config whose defaults were not applied")
	}
	ApplyDefaults(c)
	if err := Validate(c); err != nil {
		t.Fatalf("valid config: %v", err)
	}

	// Sub-second durations are fine in code (tests use them).
	c.Listeners[0].FrontTimeout = 50 * time.Millisecond
	c.Clusters[0].IdleConnectionTimeout = 10 * time.Millisecond
	if err := Validate(c); err != nil {
		t.Fatalf("sub-second durations: %v", err)
	}

	c.Listeners[0].Address = "nope"
	c.Listeners[0].RequestTimeout = 0
	c.Listeners = append(c.Listeners, nil) // tolerated, skipped
	c.Clusters[0].Frontends[0].Hostname = "*"
	c.Clusters[0].Backends = append(c.Clusters[0].Backends, NewBackend("127.0.0.1:9000"))
	c.Clusters = append(c.Clusters, NewCluster("demo"))
	err := Validate(c)
	want := `listeners[0].address: "nope" is not host:port (missing port in address)
listeners[0].request_timeout: must be between 1 and 3600 seconds, got 0
clusters.demo.frontends[0].address: 127.0.0.1:8080 is not the address of any listener (declared: nope)
clusters.demo.frontends[0].hostname: "*": a wildcard must be the whole left-most label, as in *.example.com
clusters.demo.backends[1].address: duplicates clusters.demo.backends[0].address
clusters.demo: duplicates clusters.demo`
	if err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
	for _, e := range asErrors(t, err) {
		if e.File != "" || e.Line != 0 {
			t.Errorf("code-built error has a position: %+v", *e)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{"a.toml", 3, "listeners[1].protocol", "bad"}, "a.toml:3: listeners[1].protocol: bad"},
		{Error{"a.toml", 3, "", "invalid TOML: x"}, "a.toml:3: invalid TOML: x"},
		{Error{"a.toml", 0, "", "cannot read"}, "a.toml: cannot read"},
		{Error{"", 7, "k", "m"}, "line 7: k: m"},
		{Error{"", 0, "k", "m"}, "k: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.e, got, tc.want)
		}
	}
	es := Errors{{"f", 1, "a", "x"}, {"f", 2, "b", "y"}}
	if es.Error() != "f:1: a: x\nf:2: b: y" {
		t.Errorf("Errors.Error() = %q", es.Error())
	}
	if len(es.Unwrap()) != 2 {
		t.Error("Unwrap")
	}
}

func TestTLSHelpers(t *testing.T) {
	l := NewListener("127.0.0.1:443", "https")
	if lo, hi := l.TLSVersionRange(); lo != tls.VersionTLS12 || hi != tls.VersionTLS13 {
		t.Errorf("range %x %x", lo, hi)
	}
	l.TLSVersions = []string{"TLS1.3"}
	if lo, hi := l.TLSVersionRange(); lo != tls.VersionTLS13 || hi != tls.VersionTLS13 {
		t.Errorf("range %x %x", lo, hi)
	}
	if l.CipherSuiteIDs() != nil {
		t.Error("no cipher suites must mean nil (Go's defaults)")
	}
	l.CipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	if got := l.CipherSuiteIDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("CipherSuiteIDs = %v want %v", got, want)
	}
	if _, ok := CipherSuiteID("TLS_AES_128_GCM_SHA256"); ok {
		t.Error("a TLS 1.3 suite must not be configurable")
	}
}
