package frame

import "testing"

// Parsing and writing allocate nothing: assert it, beside the benchmarks.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	buf := mixedFrames()
	// parseAny boxes its result, so count with the typed parsers the
	// engine uses.
	typed := func() {
		rest := buf
		for len(rest) > 0 {
			h, p, n, _ := Next(rest, DefaultMaxFrameSize)
			switch h.Type {
			case TypeData:
				_, _ = ParseData(h, p)
			case TypeHeaders:
				_, _ = ParseHeaders(h, p)
			case TypeContinuation:
				_, _ = ParseContinuation(h, p)
			case TypeWindowUpdate:
				_, _ = ParseWindowUpdate(h, p)
			case TypeSettings:
				s, _ := ParseSettings(h, p)
				_ = s.ForEach(func(Setting) error { return nil })
			case TypePing:
				_, _ = ParsePing(h, p)
			case TypePriorityUpdate:
				_, _ = ParsePriorityUpdate(h, p)
			case TypeRSTStream:
				_, _ = ParseRSTStream(h, p)
			}
			rest = rest[n:]
		}
	}
	if n := testing.AllocsPerRun(50, typed); n != 0 {
		t.Errorf("parsing mixed frames: %v allocs", n)
	}
	dst := make([]byte, 0, 4096)
	write := func() {
		dst = AppendData(dst[:0], 1, true, benchBody)
		dst = AppendHeaders(dst, 1, false, true, benchFrag)
		dst = AppendWindowUpdate(dst, 0, 1<<20)
		dst = AppendSettings(dst, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})
		dst = AppendPing(dst, true, [8]byte{1})
		dst = AppendGoAway(dst, 7, NoError, nil)
	}
	if n := testing.AllocsPerRun(50, write); n != 0 {
		t.Errorf("writing frames: %v allocs", n)
	}
}
