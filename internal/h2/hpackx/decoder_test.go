package hpackx

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// blockSequence is a connection's worth of header lists: repeats exercise
// dynamic table references, the rest literals of every kind.
func blockSequence() [][]hpack.HeaderField {
	long := strings.Repeat("a-long-value-", 400) // ~5 KiB: larger than the 4 KiB table
	binary := string([]byte{0, 1, 2, 0xff, 0xfe, '\r', '\n'})
	return [][]hpack.HeaderField{
		h2loadRequest,
		h2loadRequest,
		browserRequest,
		browserRequest,
		responseHeaders,
		{{Name: ":status", Value: "204"}, {Name: "authorization", Value: "Bearer secret", Sensitive: true}, {Name: "x-empty", Value: ""}},
		{{Name: "x-long", Value: long}, {Name: "x-binary", Value: binary}, {Name: "x-after", Value: "ok"}},
		responseHeaders,
		{},
		browserRequest,
	}
}

// Decode real blocks produced by x/net's Encoder, whole and split into
// fragments at every position (HEADERS + CONTINUATION boundaries).
func TestDecodeXNetBlocks(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	var blocks [][]byte
	seq := blockSequence()
	for _, fields := range seq {
		blocks = append(blocks, xnetBlock(enc, &buf, fields))
	}

	t.Run("whole", func(t *testing.T) {
		d := NewDecoder(Limits{})
		for i, b := range blocks {
			got, over, err := decodeBlock(d, b)
			if err != nil || over != LimitNone {
				t.Fatalf("block %d: over=%v err=%v", i, over, err)
			}
			if err := equalFields(got, seq[i]); err != nil {
				t.Fatalf("block %d: %v", i, err)
			}
		}
	})
	t.Run("split", func(t *testing.T) {
		for i := range blocks {
			if len(blocks[i]) > 400 {
				continue // the long block is covered by "bytewise"
			}
			for cut := 0; cut <= len(blocks[i]); cut++ {
				d := NewDecoder(Limits{})
				for j := range i { // bring the table to the state block i expects
					if _, _, err := decodeBlock(d, blocks[j]); err != nil {
						t.Fatal(err)
					}
				}
				got, _, err := decodeBlock(d, blocks[i][:cut], blocks[i][cut:])
				if err != nil {
					t.Fatalf("block %d cut %d: %v", i, cut, err)
				}
				if err := equalFields(got, seq[i]); err != nil {
					t.Fatalf("block %d cut %d: %v", i, cut, err)
				}
			}
		}
	})
	t.Run("bytewise", func(t *testing.T) {
		d := NewDecoder(Limits{})
		for i, b := range blocks {
			var frags [][]byte
			for k := range b {
				frags = append(frags, b[k:k+1])
			}
			got, _, err := decodeBlock(d, frags...)
			if err != nil {
				t.Fatalf("block %d: %v", i, err)
			}
			if err := equalFields(got, seq[i]); err != nil {
				t.Fatalf("block %d: %v", i, err)
			}
		}
	})
}

// numbered returns n distinct fields; x/net's Encoder indexes each one.
func numbered(prefix string, n int) []hpack.HeaderField {
	var out []hpack.HeaderField
	for i := range n {
		out = append(out, hpack.HeaderField{Name: fmt.Sprintf("x-%s-%03d", prefix, i), Value: fmt.Sprintf("value-%03d", i)})
	}
	return out
}

// A block over a limit is decoded to its end without storing fields, so
// the entries it adds to the dynamic table are there for the next block:
// the connection survives and only the stream is refused.
func TestDecodeLimitsKeepTableInSync(t *testing.T) {
	tests := []struct {
		name     string
		limits   Limits
		fields   []hpack.HeaderField
		want     LimitKind
		wantKept int
	}{
		{"fields", Limits{}, numbered("f", DefaultMaxFields+1), LimitFields, DefaultMaxFields},
		{"fields_exact", Limits{}, numbered("e", DefaultMaxFields), LimitNone, DefaultMaxFields},
		// Each numbered field counts 9+9+32 = 50 octets: 10 fit in 500.
		{"list_size", Limits{MaxListSize: 500}, numbered("l", 30), LimitListSize, 10},
		{"list_size_exact", Limits{MaxListSize: 500}, numbered("m", 10), LimitNone, 10},
		{"small_fields", Limits{MaxFields: 3}, numbered("s", 10), LimitFields, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			enc.SetMaxDynamicTableSizeLimit(DefaultMaxTableSize)
			enc.SetMaxDynamicTableSize(DefaultMaxTableSize)
			d := NewDecoder(tt.limits)
			d.SetMaxTableSize(DefaultMaxTableSize)

			first := xnetBlock(enc, &buf, tt.fields)
			got, over, err := decodeBlock(d, first)
			if err != nil {
				t.Fatal(err)
			}
			if over != tt.want || len(got) != tt.wantKept {
				t.Fatalf("over=%v kept=%d, want %v %d", over, len(got), tt.want, tt.wantKept)
			}
			if err := equalFields(got, tt.fields[:tt.wantKept]); err != nil {
				t.Fatal(err)
			}
			// The next block names the last fields of the first by
			// dynamic table index only.
			tail := tt.fields[len(tt.fields)-3:]
			second := xnetBlock(enc, &buf, tail)
			if len(second) != len(tail) {
				t.Fatalf("second block is %d octets; expected one index per field", len(second))
			}
			got, over, err = decodeBlock(d, second)
			if err != nil || over != LimitNone {
				t.Fatalf("second block: over=%v err=%v", over, err)
			}
			if err := equalFields(got, tail); err != nil {
				t.Fatalf("second block: %v", err)
			}
		})
	}
}

// RFC 7541 4.2 / 6.3: a dynamic table size update above what we advertised
// (and never above our cap) is a COMPRESSION_ERROR.
func TestDecodeTableSizeUpdate(t *testing.T) {
	update := func(n uint64) []byte { return appendVarInt(nil, 5, 0x20, n) }
	tests := []struct {
		name      string
		limits    Limits
		advertise uint32 // 0: not called
		effective uint32
		update    uint64
		ok        bool
	}{
		{"initial_ok", Limits{}, 0, 0, InitialTableSize, true},
		{"initial_over", Limits{}, 0, 0, InitialTableSize + 1, false},
		{"shrink_to_zero", Limits{}, 0, 0, 0, true},
		{"advertised_ok", Limits{}, 65536, 65536, 65536, true},
		{"advertised_over", Limits{}, 16384, 16384, 16385, false},
		{"capped_default", Limits{}, 1 << 20, DefaultMaxTableSize, DefaultMaxTableSize + 1, false},
		{"capped_custom", Limits{MaxTableSize: 8192}, 65536, 8192, 8193, false},
		{"capped_custom_ok", Limits{MaxTableSize: 8192}, 65536, 8192, 8192, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.limits)
			if tt.advertise != 0 {
				if got := d.SetMaxTableSize(tt.advertise); got != tt.effective {
					t.Fatalf("SetMaxTableSize(%d) = %d, want %d", tt.advertise, got, tt.effective)
				}
			}
			block := append(update(tt.update), 0x82) // then ":method: GET"
			got, _, err := decodeBlock(d, block)
			if tt.ok {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			wantCompressionError(t, err, "hpack_table_size_update_too_large")
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name   string
		frags  [][]byte
		reason string
	}{
		// RFC 7541 6.1: index 0 is not a valid index.
		{"index_zero", [][]byte{{0x80}}, "hpack_invalid_index"},
		// Past the static table with an empty dynamic table.
		{"index_past_tables", [][]byte{{0xbe}}, "hpack_invalid_index"},
		// RFC 7541 5.2: EOS or over-long padding in a Huffman string.
		{"bad_huffman", [][]byte{{0x00, 0x81, 'a', 0x84, 0xff, 0xff, 0xff, 0xff}}, "hpack_invalid_huffman"},
		// A field cut at the end of the block (RFC 9113 4.3).
		{"truncated", [][]byte{{0x40, 0x05, 'a', 'b'}}, "hpack_truncated"},
		{"truncated_varint", [][]byte{{0xff}}, "hpack_truncated"},
		// RFC 7541 4.2: a size update must come first in the block.
		{"misplaced_update", [][]byte{{0x40, 0x01, 'a', 0x01, 'b', 0x20}}, "hpack_table_size_update_misplaced"},
		{"varint_overflow", [][]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}}, "hpack_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Limits{})
			_, _, err := decodeBlock(d, tt.frags...)
			wantCompressionError(t, err, tt.reason)
			// The HPACK state is gone; the decoder stays failed.
			_, _, err = decodeBlock(d, []byte{0x82})
			wantCompressionError(t, err, tt.reason)
		})
	}
}

// Fields from End stay valid while the slab grows during the block (the
// views are built at End), and a new Begin recycles the storage.
func TestDecodeSlabReuse(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	var big []hpack.HeaderField
	for i := range 50 {
		big = append(big, hpack.HeaderField{Name: fmt.Sprintf("x-%d", i), Value: strings.Repeat(string(rune('a'+i%26)), 200+i)})
	}
	d := NewDecoder(Limits{})
	for round := range 3 {
		got, over, err := decodeBlock(d, xnetBlock(enc, &buf, big))
		if err != nil || over != LimitNone {
			t.Fatal(over, err)
		}
		if err := equalFields(got, big); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	d.Release()
	got, _, err := decodeBlock(d, xnetBlock(enc, &buf, h2loadRequest))
	if err != nil {
		t.Fatal(err)
	}
	if err := equalFields(got, h2loadRequest); err != nil {
		t.Fatal(err)
	}
}

func TestDecoderMisuse(t *testing.T) {
	for name, fn := range map[string]func(*Decoder){
		"write_without_begin": func(d *Decoder) { _ = d.Write([]byte{0x82}) },
		"end_without_begin":   func(d *Decoder) { _, _, _ = d.End() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "internal error") {
					t.Fatalf("recover() = %v, want an internal error panic", r)
				}
			}()
			fn(NewDecoder(Limits{}))
		})
	}
	// An abandoned block does not leak into the next one.
	d := NewDecoder(Limits{})
	d.Begin()
	if err := d.Write([]byte{0x40, 0x05, 'a'}); err != nil {
		t.Fatal(err)
	}
	got, _, err := decodeBlock(d, []byte{0x82})
	if err != nil || len(got) != 1 || string(got[0].Value) != "GET" {
		t.Fatalf("after abandoned block: %v %v", got, err)
	}
}

func TestLimitKindAndField(t *testing.T) {
	for k, want := range map[LimitKind]string{LimitNone: "none", LimitFields: "max_fields", LimitListSize: "max_list_size", 9: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("LimitKind(%d) = %q, want %q", k, got, want)
		}
	}
	f := Field{Name: []byte(":path"), Value: []byte("/x")}
	if f.Size() != 5+2+32 || !f.IsPseudo() || f.String() != ":path: /x" {
		t.Errorf("Field helpers: %d %v %q", f.Size(), f.IsPseudo(), f.String())
	}
	if (Field{}).IsPseudo() {
		t.Error("empty name is not a pseudo-header")
	}
}
