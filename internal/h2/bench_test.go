package h2

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// benchHandler does what the session does on the hot path, without
// allocating: it remembers the stream that opened and releases closed ones.
type benchHandler struct {
	c    *Conn
	last *Stream
}

func (h *benchHandler) OnRequest(s *Stream, _ *Request)    { h.last = s }
func (h *benchHandler) OnResponse(*Stream, *Response)      {}
func (h *benchHandler) OnData(s *Stream, p []byte, _ bool) { h.c.Consume(s, len(p)) }
func (h *benchHandler) OnTrailers(*Stream, []Field)        {}
func (h *benchHandler) OnClosed(s *Stream)                 { h.c.Release(s) }
func (h *benchHandler) OnGoAway(StreamID, ErrCode, []byte) {}

// benchConn is a greeted server Conn and the steady-state request block
// a real client (x/net's encoder) sends once its table is warm: every
// field an index.
type benchConn struct {
	c      *Conn
	h      *benchHandler
	steady []byte
	in     []byte
	id     StreamID
}

func newBenchConn(b *testing.B, fields []hpack.HeaderField) *benchConn {
	return newBenchConnClock(b, fields, time.Now)
}

func newBenchConnClock(b *testing.B, fields []hpack.HeaderField, now func() time.Time) *benchConn {
	h := &benchHandler{}
	c := NewConn(Config{Role: Server}, h, nil, now)
	h.c = c
	c.Start()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range fields {
		enc.WriteField(f)
	}
	first := bytes.Clone(buf.Bytes())
	buf.Reset()
	for _, f := range fields {
		enc.WriteField(f)
	}
	bc := &benchConn{c: c, h: h, steady: bytes.Clone(buf.Bytes()), id: 1}
	in := append([]byte(frame.ClientPreface), frame.AppendSettings(nil)...)
	in = frame.AppendSettingsAck(in)
	in = frame.AppendWindowUpdate(in, 0, maxWindow-initialWindow)
	in = frame.AppendHeaders(in, 1, true, true, first)
	if err := c.Feed(in); err != nil {
		b.Fatal(err)
	}
	bc.respond(b)
	if bytes.Contains(bc.steady, []byte("example")) {
		b.Fatalf("the steady-state block is not fully indexed")
	}
	return bc
}

var (
	benchBody   = bytes.Repeat([]byte("x"), 64)
	benchFields = []Field{
		{Name: []byte("content-type"), Value: []byte("text/plain")},
		{Name: []byte("content-length"), Value: []byte("64")},
		{Name: []byte("server"), Value: []byte("sluice")},
	}
)

// respond answers the last request with a 64-byte body and writes it out.
func (bc *benchConn) respond(b *testing.B) {
	s := bc.h.last
	if s == nil || s.ID() != bc.id {
		b.Fatalf("request %d not delivered", bc.id)
	}
	c := bc.c
	if err := c.WriteResponse(s, 200, benchFields, false); err != nil {
		b.Fatal(err)
	}
	ch := bufpool.Get()
	ch.B = append(ch.B, benchBody...)
	c.QueueData(s, ch)
	c.EndStream(s)
	c.Produce()
	c.Written(len(c.Pending()))
	bc.id += 2
}

// request feeds the next request's HEADERS frame.
func (bc *benchConn) request(b *testing.B) {
	bc.in = frame.AppendHeaders(bc.in[:0], bc.id, true, true, bc.steady)
	if err := bc.c.Feed(bc.in); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEngineRequest: one request and response through a server Conn
// in steady state: HEADERS in (HPACK decode, validation, OnRequest),
// WriteResponse (HPACK encode), QueueData + EndStream, Produce (framing,
// scheduling), Written.
func BenchmarkEngineRequest(b *testing.B) {
	bc := newBenchConn(b, reqFields("user-agent", "h2load nghttp2/1.52.0", "accept", "*/*", "accept-encoding", "gzip, deflate"))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if bc.id > frame.MaxStreamID-2 {
			b.StopTimer()
			bc = newBenchConn(b, reqFields())
			b.StartTimer()
		}
		bc.request(b)
		bc.respond(b)
	}
}

// BenchmarkEngineUpload: request bodies in 16 KiB DATA frames, consumed
// at once (credit batching on the hot path).
func BenchmarkEngineUpload(b *testing.B) {
	bc := newBenchConn(b, reqFields())
	bc.in = frame.AppendHeaders(bc.in[:0], bc.id, false, true, bc.steady)
	if err := bc.c.Feed(bc.in); err != nil {
		b.Fatal(err)
	}
	data := frame.AppendData(nil, bc.id, false, pattern(16384))
	b.SetBytes(16384)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := bc.c.Feed(data); err != nil {
			b.Fatal(err)
		}
		bc.c.Written(len(bc.c.Pending()))
	}
}

// BenchmarkEngineDownload: a large response framed into DATA frames. The
// clock is fake and moves as a 1 GB/s link would, so the client's credit
// (16 MiB per WINDOW_UPDATE) arrives at a realistic rate.
func BenchmarkEngineDownload(b *testing.B) {
	clock := &fakeClock{t: time.Now()}
	bc := newBenchConnClock(b, reqFields(), clock.now)
	bc.request(b)
	s := bc.h.last
	bc.c.WriteResponse(s, 200, benchFields, false)
	bc.c.Feed(frame.AppendWindowUpdate(nil, s.ID(), maxWindow-initialWindow))
	var wu []byte
	b.SetBytes(bufpool.ChunkSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		clock.t = clock.t.Add(16 * time.Microsecond)
		ch := bufpool.Get()
		ch.B = ch.B[:bufpool.ChunkSize]
		bc.c.QueueData(s, ch)
		bc.c.Produce()
		bc.c.Written(len(bc.c.Pending()))
		if i%1024 == 1023 {
			// Return the peer's credit as a client would.
			wu = frame.AppendWindowUpdate(frame.AppendWindowUpdate(wu[:0], 0, 1024*bufpool.ChunkSize), s.ID(), 1024*bufpool.ChunkSize)
			if err := bc.c.Feed(wu); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if got := bc.c.Stats().DataOut; got < int64(b.N)*bufpool.ChunkSize {
		b.Fatalf("sent %d bytes for %d chunks", got, b.N)
	}
}

// TestEngineRequestAllocs pins the steady-state figure: a request and its
// response allocate nothing in the engine (the HPACK layer included, see
// hpackx's TestSteadyStateAllocs).
func TestEngineRequestAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	res := testing.Benchmark(BenchmarkEngineRequest)
	if a := res.AllocsPerOp(); a != 0 {
		t.Errorf("BenchmarkEngineRequest: %d allocs/op, want 0", a)
	}
}

// BenchmarkEngineRequestLiteralPath: as BenchmarkEngineRequest, but every
// request carries a new :path as a literal without indexing (RFC 7541
// 6.2.2), the way a client sends values it does not expect to repeat.
// x/net's decoder turns each literal into a string: those are the
// allocations HPACK forces on us; the engine adds none.
func BenchmarkEngineRequestLiteralPath(b *testing.B) {
	bc := newBenchConn(b, reqFields())
	// Indexed :method GET, :scheme https, then the warm :authority, and
	// a literal :path "/item/NNNNNNNN" (name index 4, 14 octets).
	block := append([]byte{}, bc.steady...)
	pathAt := len(block)
	block = append(block, 0x04, 14)
	block = append(block, "/item/00000000"...)
	// Drop the indexed ":path /" from the steady block: it is the
	// static entry 0x84.
	if i := bytes.IndexByte(block[:pathAt], 0x84); i >= 0 {
		block = append(block[:i], block[i+1:]...)
		pathAt--
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if bc.id > frame.MaxStreamID-2 {
			b.Fatal("stream ids exhausted")
		}
		v := block[pathAt+2+6:]
		for j, n := 7, i; j >= 0; j, n = j-1, n/10 {
			v[j] = byte('0' + n%10)
		}
		bc.in = frame.AppendHeaders(bc.in[:0], bc.id, true, true, block)
		if err := bc.c.Feed(bc.in); err != nil {
			b.Fatal(err)
		}
		bc.respond(b)
	}
}
