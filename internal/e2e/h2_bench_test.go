package e2e

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// BenchmarkForwardH2 measures one proxied HTTP/2 request over loopback,
// one stream at a time on a long-lived h2c client connection, toward an
// HTTP/1.1 backend and toward an h2c backend. Client and backends are raw
// frame loops over fixed buffers with pre-encoded header blocks, so they
// allocate nothing and allocs/op is sluice's own.
//
//	go test -run='^$' -bench=ForwardH2 -benchmem ./internal/e2e
func BenchmarkForwardH2(b *testing.B) {
	for _, back := range []string{"http1", "h2c"} {
		b.Run("h2c-to-"+back, func(b *testing.B) {
			roundTrip := forwardH2Loop(b, back, 64)
			for range 200 { // warm the pools
				roundTrip()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				roundTrip()
			}
		})
	}
}

// TestForwardH2Allocs bounds the allocations of the steady-state HTTP/2
// forward paths, measured process-wide: they are what the garbage
// collector pays per request on the busiest paths of the proxy.
func TestForwardH2Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	for _, tc := range []struct {
		back string
		max  float64
	}{
		// The connection goes idle between every request here, so this
		// also covers the engine giving its scratch back (Trim) and
		// taking it again from the shared pools.
		{"http1", 0},
		{"h2c", 0},
	} {
		t.Run(tc.back, func(t *testing.T) {
			roundTrip := forwardH2Loop(t, tc.back, 64)
			for range 200 {
				roundTrip()
			}
			if n := testing.AllocsPerRun(500, roundTrip); n > tc.max {
				t.Fatalf("%v allocations per proxied request toward %s, want <= %v (see BenchmarkForwardH2 with -memprofile)", n, tc.back, tc.max)
			}
		})
	}
}

// Raw HTTP/2 frame types and flags the loops below use.
const (
	rawData         = 0x0
	rawHeaders      = 0x1
	rawSettings     = 0x4
	rawPing         = 0x6
	rawWindowUpdate = 0x8
	rawEndStream    = 0x1
	rawAck          = 0x1
	rawEndHeaders   = 0x4
)

func rawFrame(typ, flags byte, stream uint32, payload []byte) []byte {
	f := make([]byte, 9, 9+len(payload))
	f[0], f[1], f[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	f[3], f[4] = typ, flags
	binary.BigEndian.PutUint32(f[5:], stream)
	return append(f, payload...)
}

// scanRawFrames calls fn for every complete frame at the start of buf and
// returns how many bytes they took.
func scanRawFrames(buf []byte, fn func(typ, flags byte, stream uint32, payload []byte)) int {
	used := 0
	for len(buf)-used >= 9 {
		h := buf[used:]
		n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		if len(h) < 9+n {
			break
		}
		fn(h[3], h[4], binary.BigEndian.Uint32(h[5:])&0x7fffffff, h[9:9+n])
		used += 9 + n
	}
	return used
}

// rawH2Backend answers every request stream with a pre-encoded 200 and a
// body of bodySize bytes. It acknowledges SETTINGS and PINGs and ignores
// the rest (it never tracks its send window: sluice replenishes it).
func rawH2Backend(bodySize int) func(net.Conn) {
	// :status 200 (static index 8) and content-length, as an encoder
	// with a dynamic table sends them: the first time a literal with
	// incremental indexing (name: static entry 28), then the table entry
	// (62, the newest).
	cl := strconv.Itoa(bodySize)
	first := rawFrame(rawHeaders, rawEndHeaders, 0, append([]byte{0x88, 0x40 | 28, byte(len(cl))}, cl...))
	again := rawFrame(rawHeaders, rawEndHeaders, 0, []byte{0x88, 0x80 | 62})
	data := rawFrame(rawData, rawEndStream, 0, bytes.Repeat([]byte("x"), bodySize))
	return func(c net.Conn) {
		c.SetDeadline(time.Time{})
		preface := make([]byte, 24)
		if _, err := io.ReadFull(c, preface); err != nil {
			return
		}
		if _, err := c.Write(rawFrame(rawSettings, 0, 0, []byte{0, 3, 0, 0, 0, 128})); err != nil {
			return
		}
		settingsAck := rawFrame(rawSettings, rawAck, 0, nil)
		pingAck := rawFrame(rawPing, rawAck, 0, make([]byte, 8))
		buf := make([]byte, 64<<10)
		out := make([]byte, 0, 64<<10)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			out = out[:0]
			used := scanRawFrames(buf[:n], func(typ, flags byte, stream uint32, payload []byte) {
				switch {
				case typ == rawSettings && flags&rawAck == 0:
					out = append(out, settingsAck...)
				case typ == rawPing && flags&rawAck == 0:
					out = append(out, pingAck[:9]...)
					out = append(out, payload...)
				case typ == rawHeaders:
					at := len(out)
					out = append(out, first...)
					first = again
					binary.BigEndian.PutUint32(out[at+5:], stream)
					at = len(out)
					out = append(out, data...)
					binary.BigEndian.PutUint32(out[at+5:], stream)
				}
			})
			n = copy(buf, buf[used:n])
			if len(out) > 0 {
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}
	}
}

// forwardH2Loop starts a raw backend speaking backProto ("http1" or
// "h2c"), sluice in front of it and one h2c client connection;
// roundTrip runs one GET stream to completion.
func forwardH2Loop(t testing.TB, backProto string, bodySize int) (roundTrip func()) {
	var be *RawBackend
	if backProto == "h2c" {
		be = StartRawBackend(t, rawH2Backend(bodySize))
	} else {
		be = StartRawBackend(t, rawH1Backend(bodySize))
	}
	cfg := `access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
backend_protocol = "` + backProto + `"
frontends = [ { address = "@L1@", hostname = "app.test" } ]
backends = [ { address = "@BE@" } ]
`
	s := Start(t, cfg, map[string]string{"BE": be.Addr})
	nc, err := net.Dial("tcp", s.Addr("@L1@"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	hello := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), rawFrame(rawSettings, 0, 0, nil)...)
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	// GET http://app.test/bench as a browser's encoder sends it: :method
	// GET and :scheme http are static entries 2 and 6; :path and
	// :authority go into the dynamic table with the first request
	// (literals with incremental indexing) and are table references
	// (63 and 62) in every later one.
	first := []byte{0x82, 0x86, 0x44, 6, '/', 'b', 'e', 'n', 'c', 'h', 0x41, 8, 'a', 'p', 'p', '.', 't', 'e', 's', 't'}
	req := rawFrame(rawHeaders, rawEndHeaders|rawEndStream, 0, first)
	again := rawFrame(rawHeaders, rawEndHeaders|rawEndStream, 0, []byte{0x82, 0x86, 0x80 | 63, 0x80 | 62})
	settingsAck := rawFrame(rawSettings, rawAck, 0, nil)
	windowUpdate := rawFrame(rawWindowUpdate, 0, 0, []byte{0, 0, 0, 0})
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 1024)
	n := 0
	stream := uint32(1)
	var done bool
	var received uint32
	handle := func(typ, flags byte, id uint32, payload []byte) {
		switch {
		case typ == rawSettings && flags&rawAck == 0:
			out = append(out, settingsAck...)
		case id == stream && typ == rawData:
			received += uint32(len(payload))
			done = done || flags&rawEndStream != 0
		case id == stream && typ == rawHeaders:
			done = done || flags&rawEndStream != 0
		case typ == 0x3 /* RST_STREAM */ && id == stream:
			t.Fatalf("stream %d reset: %x", id, payload)
		case typ == 0x7 /* GOAWAY */ :
			t.Fatalf("GOAWAY: %x", payload)
		}
	}
	return func() {
		binary.BigEndian.PutUint32(req[5:], stream)
		out = append(out[:0], req...)
		if received > 0 { // give back the connection window the last body used
			binary.BigEndian.PutUint32(windowUpdate[9:], received)
			out = append(out, windowUpdate...)
			received = 0
		}
		done = false
		for !done {
			if len(out) > 0 {
				if _, err := nc.Write(out); err != nil {
					t.Fatal(err)
				}
				out = out[:0]
			}
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := nc.Read(buf[n:])
			if err != nil {
				t.Fatal(err)
			}
			n += m
			used := scanRawFrames(buf[:n], handle)
			n = copy(buf, buf[used:n])
		}
		stream += 2
		req = again
	}
}
