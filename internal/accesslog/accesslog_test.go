package accesslog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sample() *Record {
	return &Record{
		Start: time.Now(), Session: 7, Stream: 3, Listener: "127.0.0.1:8080", Client: "192.0.2.1:5555",
		FrontProto: "h2", BackProto: "http/1.1", Method: []byte("GET"), Authority: []byte("app.test"),
		Path: []byte("/p?q=1"), Status: 504, BytesIn: 10, BytesOut: 20,
		Total: 1500 * time.Microsecond, BackendConn: 250 * time.Microsecond, TimeToFirst: time.Millisecond,
		Cluster: "app", Backend: "app-1", Message: MsgBackendTimeout, Retries: 2,
		TLSVersion: "TLS 1.3", TLSCipher: "TLS_AES_128_GCM_SHA256", SNI: "app.test",
	}
}

func TestJSONRecord(t *testing.T) {
	var buf bytes.Buffer
	lg := New(&buf, nil, "json")
	lg.Log(sample())
	lg.Close()
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{
		"msg": "request", "session": 7.0, "stream": 3.0, "listener": "127.0.0.1:8080", "client": "192.0.2.1:5555",
		"proto": "h2", "backend_proto": "http/1.1", "method": "GET", "authority": "app.test", "path": "/p?q=1",
		"status": 504.0, "bytes_in": 10.0, "bytes_out": 20.0, "duration_ms": 1.5, "backend_connect_ms": 0.25,
		"ttfb_ms": 1.0, "cluster": "app", "backend": "app-1", "message": "backend_timeout", "retries": 2.0,
		"tls_version": "TLS 1.3", "tls_cipher": "TLS_AES_128_GCM_SHA256", "sni": "app.test",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["time"]; !ok {
		t.Error("no time")
	}
	if _, ok := m["level"]; ok {
		t.Error("level is noise in an access log")
	}
}

func TestTextRecordAndOptionalFields(t *testing.T) {
	var buf bytes.Buffer
	lg := New(&buf, nil, "text")
	r := sample()
	r.TLSVersion, r.Retries = "", 0
	lg.Log(r)
	lg.Flush()
	line := buf.String()
	for _, want := range []string{"msg=request", "status=504", "message=backend_timeout", `path="/p?q=1"`} {
		if !strings.Contains(line, want) {
			t.Errorf("%q missing from %q", want, line)
		}
	}
	for _, absent := range []string{"tls_version", "retries"} {
		if strings.Contains(line, absent) {
			t.Errorf("%q present without a value: %q", absent, line)
		}
	}
	lg.Close()
}

func TestOpen(t *testing.T) {
	for _, off := range []string{"off", ""} {
		lg, err := Open(off, "json")
		if err != nil || lg != nil {
			t.Fatalf("Open(%q) = %v, %v; want nil logger", off, lg, err)
		}
		// A nil logger is safe to use.
		lg.Log(sample())
		lg.Flush()
		if err := lg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "access.log")
	lg, err := Open(path, "json")
	if err != nil {
		t.Fatal(err)
	}
	lg.Log(sample())
	lg.Log(sample())
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Fatalf("%d lines in the file, want 2:\n%s", n, data)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "x.log"), "json"); err == nil {
		t.Fatal("opening a file in a missing directory succeeded")
	}
}

// TestPeriodicFlush: lines reach the destination without a Close.
func TestPeriodicFlush(t *testing.T) {
	w := &lockedBuffer{}
	lg := New(w, nil, "json")
	defer lg.Close()
	lg.Log(sample())
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), `"status":504`) {
		if time.Now().After(deadline) {
			t.Fatal("the line was never flushed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func BenchmarkLog(b *testing.B) {
	lg := New(discard{}, nil, "json")
	defer lg.Close()
	r := sample()
	b.ReportAllocs()
	for b.Loop() {
		lg.Log(r)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestNoLogInjection: request bytes cannot break a line or forge a field,
// in either format, and JSON lines stay valid JSON.
func TestNoLogInjection(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		lg := New(&buf, nil, format)
		r := sample()
		r.Path = []byte("/a\n{\"status\":200}\r\x00\"\\\xff")
		r.Authority = []byte("evil host=1")
		lg.Log(r)
		lg.Close()
		out := buf.String()
		if strings.Count(out, "\n") != 1 {
			t.Fatalf("%s: the line was split: %q", format, out)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("invalid JSON %v: %q", err, out)
			}
			if m["status"] != 504.0 || !strings.HasPrefix(m["path"].(string), "/a\n{") {
				t.Fatalf("fields altered: %v", m)
			}
		} else if !strings.Contains(out, `authority="evil host=1"`) {
			t.Fatalf("text value not quoted: %q", out)
		}
	}
}
