package h2

import (
	"testing"
	"unsafe"
)

// TestConnFitsItsSizeClass guards the memory of idle connections: a Conn
// is allocated in the 1,536-byte size class; a few bytes more and every
// connection costs 2,048. Move what only a busy connection needs into the
// pooled scratch (scratch.go) rather than raising this.
func TestConnFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 1536 {
		t.Errorf("Conn is %d bytes, over the 1,536-byte size class", n)
	}
}

// TestConnsShareConfig checks that connections with the same settings
// share one Config and that different settings are kept apart.
func TestConnsShareConfig(t *testing.T) {
	a := NewConn(Config{Role: Server, MaxConcurrentStreams: 7}, nopHandler{}, nil, nil)
	b := NewConn(Config{Role: Server, MaxConcurrentStreams: 7}, nopHandler{}, nil, nil)
	c := NewConn(Config{Role: Server, MaxConcurrentStreams: 8}, nopHandler{}, nil, nil)
	if a.cfg != b.cfg {
		t.Error("two connections with the same settings hold two Configs")
	}
	if c.cfg == a.cfg || c.cfg.MaxConcurrentStreams != 8 || a.cfg.MaxConcurrentStreams != 7 {
		t.Errorf("different settings share a Config: %d, %d", a.cfg.MaxConcurrentStreams, c.cfg.MaxConcurrentStreams)
	}
}
