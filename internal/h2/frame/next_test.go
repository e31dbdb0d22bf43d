package frame

import (
	"bytes"
	"testing"
)

func TestNext(t *testing.T) {
	var buf []byte
	buf = AppendSettings(buf, Setting{SettingMaxConcurrentStreams, 100})
	buf = AppendHeaders(buf, 1, false, true, []byte("hpack"))
	buf = AppendData(buf, 1, true, []byte("body"))
	buf = AppendRaw(buf, Header{Type: 0xee, StreamID: 1}, nil) // unknown type: not an error

	wantTypes := []FrameType{TypeSettings, TypeHeaders, TypeData, 0xee}
	rest := buf
	for i, want := range wantTypes {
		h, payload, n, err := Next(rest, DefaultMaxFrameSize)
		if err != nil || n == 0 {
			t.Fatalf("frame %d: n=%d err=%v", i, n, err)
		}
		if h.Type != want || int(h.Length) != len(payload) || n != HeaderLen+len(payload) {
			t.Fatalf("frame %d: %v payload %d n %d", i, h, len(payload), n)
		}
		if cap(payload) != len(payload) {
			t.Fatalf("frame %d: payload cap %d > len %d lets appends clobber the next frame", i, cap(payload), len(payload))
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		t.Fatalf("%d octets left", len(rest))
	}
}

// Every prefix of a valid stream must yield either nothing yet or exactly
// the frames it fully contains.
func TestNextTruncated(t *testing.T) {
	var buf []byte
	buf = AppendPing(buf, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	first := len(buf)
	buf = AppendData(buf, 3, false, bytes.Repeat([]byte{'d'}, 100))
	for k := range len(buf) {
		h, payload, n, err := Next(buf[:k], DefaultMaxFrameSize)
		if err != nil {
			t.Fatalf("prefix %d: %v", k, err)
		}
		switch {
		case k < first && n != 0:
			t.Fatalf("prefix %d: n=%d before the first frame is complete", k, n)
		case k >= first && (n != first || h.Type != TypePing || len(payload) != 8):
			t.Fatalf("prefix %d: n=%d %v, want the PING", k, n, h)
		}
	}
}

// RFC 9113 4.2: a frame over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR,
// detected from the header alone.
func TestNextFrameTooLarge(t *testing.T) {
	hdr := AppendHeader(nil, Header{Length: DefaultMaxFrameSize + 1, Type: TypeData, StreamID: 1})
	h, _, n, err := Next(hdr, DefaultMaxFrameSize)
	wantConnErr(t, err, FrameSizeError, "frame_too_large")
	if n != 0 || h.Length != DefaultMaxFrameSize+1 {
		t.Fatalf("n=%d h=%v", n, h)
	}
	// Exactly the limit is fine.
	full := AppendData(nil, 1, false, make([]byte, DefaultMaxFrameSize))
	if _, _, n, err := Next(full, DefaultMaxFrameSize); err != nil || n != len(full) {
		t.Fatalf("frame at the limit: n=%d err=%v", n, err)
	}
}
