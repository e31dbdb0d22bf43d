package frame

import (
	"bytes"
	"testing"
)

func TestWindowUpdateRoundTrip(t *testing.T) {
	tests := []struct {
		id   StreamID
		incr uint32
	}{
		{0, 1},
		{1, 65535},
		{3, MaxWindowSize},
		{5, 0}, // returned as is; the engine decides (RFC 9113 6.9)
	}
	for _, tt := range tests {
		roundTrip(t, AppendWindowUpdate(nil, tt.id, tt.incr), WindowUpdate{Increment: tt.incr})
	}
	want := []byte{0, 0, 4, 0x8, 0, 0, 0, 0, 1, 0, 0, 0x10, 0}
	if got := AppendWindowUpdate(nil, 1, 4096); !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
	// RFC 9113 6.9: the reserved bit is ignored.
	h, p := parseOne(t, AppendRaw(nil, Header{Type: TypeWindowUpdate}, []byte{0xff, 0xff, 0xff, 0xff}))
	if w, err := ParseWindowUpdate(h, p); err != nil || w.Increment != MaxWindowSize {
		t.Fatalf("got %+v, %v", w, err)
	}
}

func TestWindowUpdateErrors(t *testing.T) {
	// RFC 9113 6.9
	for _, n := range []int{0, 3, 5, 8} {
		_, err := ParseWindowUpdate(Header{Type: TypeWindowUpdate, StreamID: 1, Length: uint32(n)}, make([]byte, n))
		wantConnErr(t, err, FrameSizeError, "window_update_bad_length")
	}
}

func TestWindowUpdateTruncated(t *testing.T) {
	for _, err := range truncations(t, AppendWindowUpdate(nil, 1, 100)) {
		wantConnErr(t, err, FrameSizeError, "window_update_bad_length")
	}
}
