package hpackx

import (
	"bytes"
	"fmt"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// Our Encoder's output decodes, with x/net's reference decoder and with
// ours, to the fields given (plus sensitivity for credentials).
func TestEncoderRoundTrip(t *testing.T) {
	enc := NewEncoder()
	ref := hpack.NewDecoder(InitialTableSize, nil)
	ours := NewDecoder(Limits{})
	for round := range 3 {
		for i, fields := range blockSequence() {
			block := ourBlock(enc, fields)
			want := withSensitive(fields)
			got, err := ref.DecodeFull(block)
			if err != nil {
				t.Fatalf("round %d block %d: x/net: %v", round, i, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("round %d block %d: x/net decoded\n%v\nwant\n%v", round, i, got, want)
			}
			fs, _, err := decodeBlock(ours, block)
			if err != nil {
				t.Fatalf("round %d block %d: %v", round, i, err)
			}
			if err := equalFields(fs, want); err != nil {
				t.Fatalf("round %d block %d: %v", round, i, err)
			}
		}
	}
}

func TestEncoderRepresentations(t *testing.T) {
	tests := []struct {
		name, value string
		sensitive   bool
		// want is the exact encoding the first time (fresh encoder);
		// again the encoding the second time.
		want, again []byte
	}{
		// RFC 7541 6.1: exact static match.
		{":method", "GET", false, []byte{0x82}, []byte{0x82}},
		{":path", "/", false, []byte{0x84}, []byte{0x84}},
		{":path", "/index.html", false, []byte{0x85}, []byte{0x85}},
		// RFC 7541 6.2.2: literal without indexing, static name 28 (4-bit
		// prefix: 0x0f then 13); digits Huffman-code to 5-6 bits, so
		// "1234" takes 3 octets (H bit + length 3 = 0x83).
		{"content-length", "1234", false, cat([]byte{0x0f, 0x0d, 0x83}, huff("1234")), cat([]byte{0x0f, 0x0d, 0x83}, huff("1234"))},
		// RFC 7541 6.2.3: never indexed, static name 23, and the same
		// again the second time.
		{"authorization", "x", false, []byte{0x1f, 0x08, 0x01, 'x'}, []byte{0x1f, 0x08, 0x01, 'x'}},
		{"x-secret", "y", true, cat([]byte{0x10, 0x86}, huff("x-secret"), []byte{0x01, 'y'}), nil},
		// RFC 7541 6.2.1: incremental indexing, then index 62 (first
		// dynamic entry).
		{"server", "sluice", false, nil, []byte{0xbe}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := NewEncoder()
			got := enc.AppendField(nil, []byte(tt.name), []byte(tt.value), tt.sensitive)
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Fatalf("first: %x, want %x", got, tt.want)
			}
			got2 := enc.AppendField(nil, []byte(tt.name), []byte(tt.value), tt.sensitive)
			if tt.again != nil && !bytes.Equal(got2, tt.again) {
				t.Fatalf("second: %x, want %x", got2, tt.again)
			}
			ref := hpack.NewDecoder(InitialTableSize, nil)
			fs, err := ref.DecodeFull(append(got, got2...))
			if err != nil || len(fs) != 2 || fs[1].Name != tt.name || fs[1].Value != tt.value {
				t.Fatalf("decoded %v, %v", fs, err)
			}
		})
	}
}

// RFC 7541 7.1.3: short cookies are credentials; long ones compress.
func TestEncoderCookies(t *testing.T) {
	enc := NewEncoder()
	short := enc.AppendField(nil, []byte("cookie"), []byte("sid=abc"), false)
	if short[0]&0xf0 != 0x10 {
		t.Fatalf("short cookie not never-indexed: %x", short)
	}
	long := []byte("session=0123456789abcdef0123456789abcdef")
	enc.AppendField(nil, []byte("cookie"), long, false)
	if again := enc.AppendField(nil, []byte("cookie"), long, false); len(again) != 1 {
		t.Fatalf("long cookie not indexed: %x", again)
	}
}

// The encoder must not keep references into caller buffers: overwrite
// the input after each call and check that later blocks, which x/net
// encodes by looking up its dynamic table, still decode to the original
// values.
func TestEncoderDoesNotRetainInput(t *testing.T) {
	enc := NewEncoder()
	ref := hpack.NewDecoder(InitialTableSize, nil)
	scratch := make([]byte, 0, 256)
	encodeScrubbed := func(fields []hpack.HeaderField) []byte {
		var out []byte
		for _, f := range fields {
			scratch = append(scratch[:0], f.Name...)
			name := scratch[:len(f.Name):len(f.Name)]
			scratch = append(scratch, f.Value...)
			value := scratch[len(f.Name):]
			out = enc.AppendField(out, name, value, f.Sensitive)
			for i := range scratch {
				scratch[i] = '#'
			}
		}
		return out
	}
	var seq [][]hpack.HeaderField
	for i := range 200 { // enough distinct values to cycle the intern cache
		seq = append(seq, hf("x-id", fmt.Sprintf("value-%d", i%40), "x-same", "constant", "x-big", fmt.Sprintf("%0300d", i)))
		seq = append(seq, responseHeaders, browserRequest)
	}
	for i, fields := range seq {
		got, err := ref.DecodeFull(encodeScrubbed(fields))
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if want := withSensitive(fields); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("block %d: decoded\n%v\nwant\n%v", i, got, want)
		}
	}
	if enc.cache.bytes > enc.cache.budget {
		t.Fatalf("intern cache holds %d octets, budget %d", enc.cache.bytes, enc.cache.budget)
	}
}

// RFC 7541 4.2 / 6.3: a change of the peer's table size is signalled at
// the start of the next block, capped at MaxEncoderTableSize.
func TestEncoderPeerTableSize(t *testing.T) {
	tests := []struct {
		name   string
		peer   uint32
		prefix []byte // expected start of the next block
	}{
		{"zero", 0, []byte{0x20}},
		{"larger", 16384, appendVarInt(nil, 5, 0x20, 16384)},
		{"capped", 1 << 20, appendVarInt(nil, 5, 0x20, MaxEncoderTableSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := NewEncoder()
			dec := NewDecoder(Limits{})
			dec.SetMaxTableSize(tt.peer)
			// The first field after the change is one we would
			// otherwise encode ourselves: it must still carry the
			// update in front.
			fields := hf("content-length", "10", "server", "sluice", "server", "sluice")
			enc.SetPeerMaxTableSize(tt.peer)
			block := ourBlock(enc, fields)
			if !bytes.HasPrefix(block, tt.prefix) {
				t.Fatalf("block %x does not start with update %x", block, tt.prefix)
			}
			got, _, err := decodeBlock(dec, block)
			if err != nil {
				t.Fatal(err)
			}
			if err := equalFields(got, fields); err != nil {
				t.Fatal(err)
			}
			next := ourBlock(enc, fields)
			if next[0]&0xe0 == 0x20 {
				t.Fatalf("size update repeated in the following block: %x", next)
			}
			if got, _, err = decodeBlock(dec, next); err != nil {
				t.Fatal(err)
			}
			if err := equalFields(got, fields); err != nil {
				t.Fatal(err)
			}
		})
	}
	// An unchanged size emits nothing.
	enc := NewEncoder()
	enc.SetPeerMaxTableSize(InitialTableSize)
	if b := enc.AppendField(nil, []byte(":method"), []byte("GET"), false); !bytes.Equal(b, []byte{0x82}) {
		t.Fatalf("unchanged size emitted %x", b)
	}
}

func TestAppendVarInt(t *testing.T) {
	// RFC 7541 C.1.1-C.1.3.
	tests := []struct {
		n     uint8
		v     uint64
		want  []byte
		first byte
	}{
		{5, 10, []byte{0x0a}, 0},
		{5, 1337, []byte{0x1f, 0x9a, 0x0a}, 0},
		{8, 42, []byte{0x2a}, 0},
		{5, 31, []byte{0x1f, 0x00}, 0},
		{7, 4, []byte{0x84}, 0x80},
	}
	for _, tt := range tests {
		if got := appendVarInt(nil, tt.n, tt.first, tt.v); !bytes.Equal(got, tt.want) {
			t.Errorf("appendVarInt(%d, %d) = %x, want %x", tt.n, tt.v, got, tt.want)
		}
	}
}

func huff(s string) []byte { return hpack.AppendHuffmanString(nil, s) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
