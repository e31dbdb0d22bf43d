package frame

import (
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// mixedFrames is a server's inbound view of a busy connection: requests
// with bodies, window updates, a settings round and a ping. Every frame is
// valid in sequence so x/net's Framer (which checks CONTINUATION order)
// reads it too.
func mixedFrames() []byte {
	frag := bytes.Repeat([]byte{0x82}, 60)
	body := bytes.Repeat([]byte{'b'}, 1024)
	var b []byte
	b = AppendSettings(b, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})
	b = AppendSettingsAck(b)
	b = AppendWindowUpdate(b, 0, 1<<20)
	for id := StreamID(1); id < 16; id += 2 {
		b = AppendHeaders(b, id, false, true, frag)
		b = AppendData(b, id, false, body)
		b = AppendData(b, id, true, body[:100])
		b = AppendWindowUpdate(b, id, 4096)
	}
	b = AppendHeaders(b, 17, true, false, frag[:30])
	b = AppendContinuation(b, 17, true, frag[30:])
	b = AppendPing(b, false, [8]byte{1})
	b = AppendPriorityUpdate(b, 17, []byte("u=1"))
	b = AppendRSTStream(b, 17, Cancel)
	return b
}

// sink keeps results alive so the compiler cannot drop the parse.
var sink int

// BenchmarkParseMixed is the engine's read loop: Next plus the typed
// parser for every frame of mixedFrames.
func BenchmarkParseMixed(b *testing.B) {
	buf := mixedFrames()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rest := buf
		for len(rest) > 0 {
			h, p, n, err := Next(rest, DefaultMaxFrameSize)
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			switch h.Type {
			case TypeData:
				f, err := ParseData(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += len(f.Data)
			case TypeHeaders:
				f, err := ParseHeaders(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += len(f.Fragment)
			case TypeContinuation:
				f, err := ParseContinuation(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += len(f.Fragment)
			case TypeWindowUpdate:
				f, err := ParseWindowUpdate(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += int(f.Increment)
			case TypeSettings:
				f, err := ParseSettings(h, p)
				if err != nil {
					b.Fatal(err)
				}
				for i := range f.NumSettings() {
					sink += int(f.Setting(i).Val)
				}
			case TypePing:
				f, err := ParsePing(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += int(f.Data[0])
			case TypePriorityUpdate:
				f, err := ParsePriorityUpdate(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += int(f.PrioritizedID)
			case TypeRSTStream:
				f, err := ParseRSTStream(h, p)
				if err != nil {
					b.Fatal(err)
				}
				sink += int(f.Code)
			}
			rest = rest[n:]
		}
	}
}

// BenchmarkXNetReadFrame reads the same bytes with x/net/http2's Framer,
// in its cheapest mode (ReuseFrames on, no HPACK decoding).
func BenchmarkXNetReadFrame(b *testing.B) {
	buf := mixedFrames()
	r := bytes.NewReader(buf)
	fr := http2.NewFramer(io.Discard, r)
	fr.SetReuseFrames()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(buf)
		for {
			f, err := fr.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			sink += int(f.Header().Length)
		}
	}
}

var (
	benchBody = bytes.Repeat([]byte{'x'}, 1024)
	benchFrag = bytes.Repeat([]byte{0xbe}, 40)
)

func BenchmarkAppendData(b *testing.B) {
	dst := make([]byte, 0, 2048)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendData(dst[:0], 1, false, benchBody)
	}
	sink += len(dst)
}

func BenchmarkAppendHeaders(b *testing.B) {
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendHeaders(dst[:0], 1, false, true, benchFrag)
	}
	sink += len(dst)
}

func BenchmarkAppendWindowUpdate(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendWindowUpdate(dst[:0], 1, 65535)
	}
	sink += len(dst)
}

func BenchmarkAppendSettings(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendSettings(dst[:0],
			Setting{SettingMaxConcurrentStreams, 100},
			Setting{SettingInitialWindowSize, 1 << 20},
			Setting{SettingHeaderTableSize, 65536})
	}
	sink += len(dst)
}

// bufWriter is a minimal reusable io.Writer for the x/net write
// benchmarks, so they measure the Framer and not bytes.Buffer growth.
type bufWriter struct{ b []byte }

func (w *bufWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func BenchmarkXNetWriteData(b *testing.B) {
	w := &bufWriter{b: make([]byte, 0, 2048)}
	fr := http2.NewFramer(w, nil)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		w.b = w.b[:0]
		if err := fr.WriteData(1, false, benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXNetWriteHeaders(b *testing.B) {
	w := &bufWriter{b: make([]byte, 0, 128)}
	fr := http2.NewFramer(w, nil)
	b.ReportAllocs()
	for b.Loop() {
		w.b = w.b[:0]
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: benchFrag, EndHeaders: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXNetWriteWindowUpdate(b *testing.B) {
	w := &bufWriter{b: make([]byte, 0, 64)}
	fr := http2.NewFramer(w, nil)
	b.ReportAllocs()
	for b.Loop() {
		w.b = w.b[:0]
		if err := fr.WriteWindowUpdate(1, 65535); err != nil {
			b.Fatal(err)
		}
	}
}
