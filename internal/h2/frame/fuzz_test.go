package frame

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzParseFrames from seedFrames")

// seedFrames are real encodings of every frame type (and a few invalid
// ones) used as the committed fuzz corpus.
func seedFrames() map[string][]byte {
	frag := []byte{0x82, 0x86, 0x84, 0x41, 0x8a, 0x08, 0x9d, 0x5c, 0x0b, 0x81, 0x70, 0xdc, 0x78, 0x0f, 0x03}
	prio := Priority{StreamDep: 1, Exclusive: true, Weight: 16}
	var mixed []byte
	mixed = AppendSettings(mixed, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})
	mixed = AppendWindowUpdate(mixed, 0, 1<<20)
	mixed = AppendHeaders(mixed, 1, false, false, frag[:5])
	mixed = AppendContinuation(mixed, 1, true, frag[5:])
	mixed = AppendData(mixed, 1, true, []byte("hello"))
	mixed = AppendPriorityUpdate(mixed, 1, []byte("u=1, i"))
	mixed = AppendRSTStream(mixed, 1, Cancel)
	mixed = AppendGoAway(mixed, 1, NoError, nil)
	return map[string][]byte{
		"data":                AppendData(nil, 1, true, []byte("hello world")),
		"data_padded":         AppendDataPadded(nil, 3, false, []byte("abc"), 5),
		"headers":             AppendHeaders(nil, 1, true, true, frag),
		"headers_priority":    AppendHeadersPriority(nil, 3, false, true, prio, frag),
		"headers_padded_prio": Headers{Fragment: frag, EndHeaders: true, HasPriority: true, Priority: prio, PadLen: 4}.Append(nil, 5),
		"priority":            AppendPriority(nil, 5, prio),
		"rst_stream":          AppendRSTStream(nil, 1, Cancel),
		"settings":            AppendSettings(nil, Setting{SettingHeaderTableSize, 65536}, Setting{SettingEnablePush, 0}, Setting{SettingMaxFrameSize, 1 << 20}),
		"settings_ack":        AppendSettingsAck(nil),
		"push_promise":        PushPromise{PromisedID: 2, Fragment: frag, EndHeaders: true, PadLen: 2}.Append(nil, 1),
		"ping":                AppendPing(nil, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}),
		"goaway":              AppendGoAway(nil, MaxStreamID, NoError, []byte("bye")),
		"window_update":       AppendWindowUpdate(nil, 1, 65535),
		"continuation":        AppendContinuation(nil, 1, true, frag),
		"priority_update":     AppendPriorityUpdate(nil, 1, []byte("u=0")),
		"unknown_type":        AppendRaw(nil, Header{Type: 0xfe, Flags: 0xff, StreamID: 7}, []byte("ext")),
		"mixed":               mixed,
		"bad_data_stream0":    AppendRaw(nil, Header{Type: TypeData}, []byte("x")),
		"bad_padding":         AppendRaw(nil, Header{Type: TypeData, Flags: FlagPadded, StreamID: 1}, []byte{9, 1, 2}),
		"bad_too_large":       AppendHeader(nil, Header{Length: DefaultMaxFrameSize + 1, Type: TypeData, StreamID: 1}),
		"bad_settings_value":  AppendSettings(nil, Setting{SettingEnablePush, 7}),
		"truncated":           AppendData(nil, 1, false, []byte("truncated"))[:12],
	}
}

func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParseFrames")
	for name, b := range seedFrames() {
		path := filepath.Join(dir, name)
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
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

// FuzzParseFrames feeds arbitrary bytes through Next and the matching
// parser. Nothing may panic, every error must be typed, and every frame
// that parses must survive re-encoding unchanged.
func FuzzParseFrames(f *testing.F) {
	for _, b := range seedFrames() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		buf := data
		for len(buf) > 0 {
			h, payload, n, err := Next(buf, DefaultMaxFrameSize)
			if err != nil {
				wantTyped(t, err)
				if h.Length <= DefaultMaxFrameSize {
					t.Fatalf("Next rejected %v under the limit: %v", h, err)
				}
				return
			}
			if n == 0 {
				return
			}
			if int(h.Length) != len(payload) || n != HeaderLen+len(payload) {
				t.Fatalf("Next: %v payload %d n %d", h, len(payload), n)
			}
			v, err := parseAny(h, payload)
			wantTyped(t, err)
			if err == nil {
				checkInvariants(t, h, v)
				again := reencode(nil, h, v)
				h2, p2, n2, err := Next(again, MaxMaxFrameSize)
				if err != nil || n2 != len(again) {
					t.Fatalf("re-encoded %v: n=%d err=%v", h, n2, err)
				}
				v2, err := parseAny(h2, p2)
				if err != nil {
					t.Fatalf("re-encoded %v does not parse: %v", h2, err)
				}
				if !same(v, v2) {
					t.Fatalf("round trip of %v changed the value:\n%+v\n%+v", h, v, v2)
				}
			}
			buf = buf[n:]
		}
	})
}

// checkInvariants asserts that a parsed value accounts for every payload
// octet, which is what flow control relies on.
func checkInvariants(t *testing.T, h Header, v any) {
	t.Helper()
	padded := 0
	if h.Flags.Has(FlagPadded) {
		padded = 1
	}
	switch f := v.(type) {
	case Data:
		if padded+len(f.Data)+int(f.PadLen) != int(h.Length) {
			t.Fatalf("DATA %v: %d data + %d padding", h, len(f.Data), f.PadLen)
		}
	case Headers:
		n := padded + len(f.Fragment) + int(f.PadLen)
		if f.HasPriority {
			n += priorityLen
		}
		if n != int(h.Length) {
			t.Fatalf("HEADERS %v: accounted %d", h, n)
		}
	case Settings:
		if f.NumSettings()*settingLen != int(h.Length) {
			t.Fatalf("SETTINGS %v: %d settings", h, f.NumSettings())
		}
		_ = f.ForEach(func(s Setting) error {
			if err := s.Valid(); err != nil {
				t.Fatalf("ParseSettings accepted invalid %v", s)
			}
			return nil
		})
	}
}
