package e2e

import (
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"
)

// BenchmarkForwardH1 measures one proxied HTTP/1.1 request over loopback
// with keep-alive on both sides: client conn -> sluice -> backend conn and
// back. The client and the backend are raw loops over fixed buffers that
// allocate nothing, so allocs/op is sluice's own (plus the runtime's).
//
//	go test -run='^$' -bench=ForwardH1 -benchmem ./internal/e2e
func BenchmarkForwardH1(b *testing.B) {
	for _, bc := range []struct {
		name      string
		accessLog string
		body      int
	}{
		{"small", "off", 64},
		{"small_accesslog", "stdout", 64},
		{"16KiB", "off", 16 << 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchForward(b, bc.accessLog, bc.body)
		})
	}
}

func benchForward(b *testing.B, accessLog string, bodySize int) {
	roundTrip, be := forwardLoop(b, accessLog, bodySize)
	for range 100 { // warm the pools
		roundTrip()
	}
	b.ReportAllocs()
	b.SetBytes(int64(bodySize))
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
	b.StopTimer()
	if be.Conns() != 1 {
		b.Errorf("backend connections %d, want 1", be.Conns())
	}
}

// TestForwardH1ZeroAllocs keeps the steady-state forward path free of
// allocations (DESIGN.md 2): a keep-alive request through sluice, measured
// process-wide over many requests.
func TestForwardH1ZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	roundTrip, _ := forwardLoop(t, "off", 64)
	for range 100 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(500, roundTrip); n != 0 {
		t.Fatalf("%v allocations per proxied request, want 0 (see BenchmarkForwardH1 with -memprofile)", n)
	}
}

// forwardLoop starts a raw backend answering bodySize bytes, sluice in
// front of it, and one keep-alive client connection; roundTrip sends one
// request and reads its response.
func forwardLoop(b testing.TB, accessLog string, bodySize int) (roundTrip func(), be *RawBackend) {
	be = StartRawBackend(b, rawH1Backend(bodySize))
	// access_log "off" turns the harness's capture off; anything else
	// keeps it (JSON lines into memory).
	cfg := `access_log = "` + accessLog + `"` + oneCluster(`{ address = "@BE@" }`)
	s := Start(b, cfg, map[string]string{"BE": be.Addr})
	nc, err := net.Dial("tcp", s.Addr("@L1@"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	req := []byte("GET /bench HTTP/1.1\r\nHost: app.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 64<<10)
	// roundTrip sends one request and reads its response: the head, then
	// Content-Length bytes.
	roundTrip = func() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			m, err := nc.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				continue
			}
			if n-(i+4) > bodySize {
				b.Fatalf("more than one response: %q", buf[:n])
			}
			for n-(i+4) < bodySize {
				m, err := nc.Read(buf[n:])
				if err != nil {
					b.Fatal(err)
				}
				n += m
			}
			return
		}
	}
	return roundTrip, be
}

// rawH1Backend answers every request head it reads with a 200 carrying
// bodySize bytes, from one fixed buffer.
func rawH1Backend(bodySize int) func(net.Conn) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(bodySize) + "\r\n\r\n" + string(bytes.Repeat([]byte("x"), bodySize)))
	return func(c net.Conn) {
		c.SetDeadline(time.Time{})
		buf := make([]byte, 64<<10)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			// Answer every complete head in the buffer (sluice sends
			// one request at a time per connection).
			for {
				i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				n = copy(buf, buf[i+4:n])
			}
		}
	}
}
