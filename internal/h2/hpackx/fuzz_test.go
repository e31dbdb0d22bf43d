package hpackx

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/{FuzzDecode,FuzzEncode} from the seed lists")

type decodeSeed struct {
	data  []byte
	split uint16
}

// decodeSeeds are real blocks from x/net's Encoder and ours, in pairs so
// the second block depends on the table the first built.
func decodeSeeds() map[string]decodeSeed {
	var buf bytes.Buffer
	x := hpack.NewEncoder(&buf)
	seeds := map[string]decodeSeed{}
	pair := func(name string, a, b []byte) {
		seeds[name] = decodeSeed{data: append(bytes.Clone(a), b...), split: uint16(len(a))}
	}
	a := xnetBlock(x, &buf, h2loadRequest)
	pair("xnet_h2load", a, xnetBlock(x, &buf, h2loadRequest))
	a = xnetBlock(x, &buf, browserRequest)
	pair("xnet_browser", a, xnetBlock(x, &buf, browserRequest))
	a = xnetBlock(x, &buf, responseHeaders)
	pair("xnet_response", a, xnetBlock(x, &buf, responseHeaders))
	a = xnetBlock(x, &buf, numbered("f", 20))
	pair("xnet_over_fields", a, xnetBlock(x, &buf, numbered("f", 20)[17:]))
	ours := NewEncoder()
	a = ourBlock(ours, browserRequest)
	pair("ours_browser", a, ourBlock(ours, responseHeaders))
	ours.SetPeerMaxTableSize(0)
	a = ourBlock(ours, responseHeaders)
	pair("ours_table_zero", a, ourBlock(ours, h2loadRequest))
	pair("sensitive", ourBlock(NewEncoder(), hf("authorization", "Bearer x", "cookie", "a=b")), []byte{0xbe})
	pair("size_update_over", appendVarInt(nil, 5, 0x20, 4097), []byte{0x82})
	pair("bad_huffman", []byte{0x00, 0x81, 'a', 0x84, 0xff, 0xff, 0xff, 0xff}, nil)
	pair("invalid_index", []byte{0x82}, []byte{0xc0})
	return seeds
}

// encodeSeeds are FuzzEncode inputs; split carries the peer table size.
func encodeSeeds() map[string]decodeSeed {
	return map[string]decodeSeed{
		"response_pair": {[]byte("server:sluice\x00content-length:12\x01server:sluice\x00etag:\"x\""), 4096},
		"credentials":   {[]byte("authorization:Bearer t\x00cookie:a=b\x01cookie:a=b"), 0},
		"big_and_paths": {[]byte(":path:/\x00:path:/x\x00x-big:" + strings.Repeat("v", 5000)), 100},
		"table_change":  {[]byte("x-a:1\x00x-b:2\x01\x02x-a:1\x00content-length:5\x01x-b:2"), 64},
	}
}

func TestFuzzSeedCorpus(t *testing.T) {
	writeSeeds(t, "FuzzDecode", decodeSeeds())
	writeSeeds(t, "FuzzEncode", encodeSeeds())
}

// writeSeeds checks (or with -update-seeds rewrites) the committed corpus.
func writeSeeds(t *testing.T, target string, seeds map[string]decodeSeed) {
	dir := filepath.Join("testdata", "fuzz", target)
	for name, s := range seeds {
		path := filepath.Join(dir, name)
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s.data)) + ")\nuint16(" + strconv.Itoa(int(s.split)) + ")\n"
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("seed %s missing or stale (run go test -run TestFuzzSeedCorpus -update-seeds): %v", path, err)
		}
	}
}

// fuzzLimits are small so the fuzzer reaches the over-limit paths.
var fuzzLimits = Limits{MaxFields: 8, MaxListSize: 400}

// FuzzDecode decodes data as two header blocks (split at split), the first
// in two fragments, and checks the result against x/net's own decoder with
// no limits: same failure, and the same fields up to where a limit cut in.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds() {
		f.Add(s.data, s.split)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := int(split) % (len(data) + 1)
		blocks := [][]byte{data[:k], data[k:]}
		ours := NewDecoder(fuzzLimits)
		ref := hpack.NewDecoder(InitialTableSize, nil)
		for i, b := range blocks {
			want, refErr := ref.DecodeFull(b)
			half := len(b) / 2
			got, over, err := decodeBlock(ours, b[:half], b[half:])
			if err != nil {
				wantAnyCompressionError(t, err)
				if refErr == nil {
					t.Fatalf("block %d: we failed (%v), x/net did not", i, err)
				}
				return
			}
			if refErr != nil {
				// With emission off past a limit, x/net skips decoding
				// literals it does not index, so a bad Huffman string
				// there goes unnoticed; nothing else may differ.
				if over == LimitNone {
					t.Fatalf("block %d: x/net failed (%v), we did not", i, refErr)
				}
				return
			}
			if len(got) > len(want) {
				t.Fatalf("block %d: %d fields, x/net %d", i, len(got), len(want))
			}
			size := 0
			for j := range got {
				w := want[j]
				if string(got[j].Name) != w.Name || string(got[j].Value) != w.Value || got[j].Sensitive != w.Sensitive {
					t.Fatalf("block %d field %d: %v, x/net %v", i, j, got[j], w)
				}
				size += got[j].Size()
			}
			if len(got) > fuzzLimits.MaxFields || size > fuzzLimits.MaxListSize {
				t.Fatalf("block %d: kept %d fields / %d octets past the limits", i, len(got), size)
			}
			switch over {
			case LimitNone:
				if len(got) != len(want) {
					t.Fatalf("block %d: %d fields, x/net %d, no limit reported", i, len(got), len(want))
				}
			case LimitFields:
				if len(got) != fuzzLimits.MaxFields {
					t.Fatalf("block %d: LimitFields with %d fields", i, len(got))
				}
			case LimitListSize:
				if size+int(want[len(got)].Size()) <= fuzzLimits.MaxListSize {
					t.Fatalf("block %d: LimitListSize but the next field fits", i)
				}
			default:
				t.Fatalf("block %d: LimitKind %v", i, over)
			}
		}
	})
}

// FuzzEncode turns data into header blocks (fields separated by 0x00,
// name and value by ':', blocks by 0x01, a leading 0x02 changes the peer's
// table size), encodes them with our Encoder while scribbling over the
// input after every call, and checks x/net's decoder reads back exactly
// the fields given: the encoder neither corrupts output nor keeps
// references into caller memory.
func FuzzEncode(f *testing.F) {
	for _, s := range encodeSeeds() {
		f.Add(s.data, s.split)
	}
	f.Fuzz(func(t *testing.T, data []byte, tableSize uint16) {
		enc := NewEncoder()
		ref := hpack.NewDecoder(MaxEncoderTableSize, nil)
		scratch := make([]byte, 0, len(data))
		for bi, block := range bytes.Split(data, []byte{0x01}) {
			if len(block) > 0 && block[0] == 0x02 {
				enc.SetPeerMaxTableSize(uint32(tableSize))
				block = block[1:]
			}
			var want []hpack.HeaderField
			var out []byte
			for _, field := range bytes.Split(block, []byte{0x00}) {
				name, value, _ := bytes.Cut(field, []byte{':'})
				want = append(want, hpack.HeaderField{Name: string(name), Value: string(value)})
				scratch = append(append(scratch[:0], name...), value...)
				out = enc.AppendField(out, scratch[:len(name):len(name)], scratch[len(name):], false)
				for i := range scratch {
					scratch[i] ^= 0xff
				}
			}
			got, err := ref.DecodeFull(out)
			if err != nil {
				t.Fatalf("block %d: x/net cannot decode our output: %v", bi, err)
			}
			want = withSensitive(want)
			if len(got) != len(want) {
				t.Fatalf("block %d: %d fields, want %d", bi, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("block %d field %d: %+v, want %+v", bi, i, got[i], want[i])
				}
			}
		}
	})
}
