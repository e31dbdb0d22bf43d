package hpackx

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"
)

var benchLists = []struct {
	name   string
	fields []hpack.HeaderField
}{
	{"h2load", h2loadRequest},
	{"browser", browserRequest},
	{"response", responseHeaders},
}

// steadyBlock returns the second encoding of fields by a peer encoder: the
// block a long-lived connection sees for every repeated request, and the
// first block, which the decoder must see before it.
func steadyBlock(peer string, fields []hpack.HeaderField) (first, steady []byte) {
	switch peer {
	case "nghttp2": // our Encoder follows nghttp2's indexing policy
		enc := NewEncoder()
		return ourBlock(enc, fields), ourBlock(enc, fields)
	default: // x/net indexes every field that fits
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		return xnetBlock(enc, &buf, fields), xnetBlock(enc, &buf, fields)
	}
}

// BenchmarkDecodeBlock decodes the steady-state block of each list. With
// an nghttp2-like peer, :path (requests) and content-length/etag
// (responses) arrive as literals that x/net allocates a string for; with
// an x/net peer every field is an index and nothing is allocated.
func BenchmarkDecodeBlock(b *testing.B) {
	for _, peer := range []string{"nghttp2", "xnet"} {
		for _, l := range benchLists {
			b.Run(peer+"/"+l.name, func(b *testing.B) {
				first, steady := steadyBlock(peer, l.fields)
				d := NewDecoder(Limits{})
				if _, _, err := decodeBlock(d, first); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(steady)))
				b.ReportAllocs()
				for b.Loop() {
					fs, over, err := decodeBlock(d, steady)
					if err != nil || over != LimitNone || len(fs) != len(l.fields) {
						b.Fatal(len(fs), over, err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeXNet is the same work done with x/net's Decoder alone,
// emitting into a reused slice: the floor our wrapper adds to.
func BenchmarkDecodeXNet(b *testing.B) {
	for _, peer := range []string{"nghttp2", "xnet"} {
		for _, l := range benchLists {
			b.Run(peer+"/"+l.name, func(b *testing.B) {
				first, steady := steadyBlock(peer, l.fields)
				var out []hpack.HeaderField
				d := hpack.NewDecoder(InitialTableSize, func(f hpack.HeaderField) { out = append(out, f) })
				if _, err := d.Write(first); err != nil {
					b.Fatal(err)
				}
				_ = d.Close()
				b.SetBytes(int64(len(steady)))
				b.ReportAllocs()
				for b.Loop() {
					out = out[:0]
					if _, err := d.Write(steady); err != nil {
						b.Fatal(err)
					}
					if err := d.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

type byteField struct{ name, value []byte }

func asBytes(fields []hpack.HeaderField) []byteField {
	out := make([]byteField, len(fields))
	for i, f := range fields {
		out[i] = byteField{[]byte(f.Name), []byte(f.Value)}
	}
	return out
}

// BenchmarkEncode encodes each list repeatedly on one connection, the
// engine's steady state: fields arrive as byte slices from the request
// or response being proxied.
func BenchmarkEncode(b *testing.B) {
	for _, l := range benchLists {
		b.Run(l.name, func(b *testing.B) {
			fields := asBytes(l.fields)
			enc := NewEncoder()
			dst := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				dst = dst[:0]
				for _, f := range fields {
					dst = enc.AppendField(dst, f.name, f.value, false)
				}
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}

// BenchmarkEncodeXNet encodes the same byte-slice fields with x/net's
// Encoder directly, converting each name and value with string() as a
// plain wrapper must (x/net may keep them). The "strings" variant starts
// from ready-made strings to show x/net itself does not allocate once its
// table is warm.
func BenchmarkEncodeXNet(b *testing.B) {
	for _, l := range benchLists {
		b.Run(l.name, func(b *testing.B) {
			fields := asBytes(l.fields)
			w := &sink{buf: make([]byte, 0, 1024)}
			enc := hpack.NewEncoder(w)
			b.ReportAllocs()
			for b.Loop() {
				w.buf = w.buf[:0]
				for _, f := range fields {
					_ = enc.WriteField(hpack.HeaderField{Name: string(f.name), Value: string(f.value)})
				}
			}
			b.SetBytes(int64(len(w.buf)))
		})
		b.Run(l.name+"/strings", func(b *testing.B) {
			w := &sink{buf: make([]byte, 0, 1024)}
			enc := hpack.NewEncoder(w)
			b.ReportAllocs()
			for b.Loop() {
				w.buf = w.buf[:0]
				for _, f := range l.fields {
					_ = enc.WriteField(f)
				}
			}
			b.SetBytes(int64(len(w.buf)))
		})
	}
}
