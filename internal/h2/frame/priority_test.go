package frame

import (
	"bytes"
	"testing"
)

func TestPriorityRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		id   StreamID
		p    Priority
	}{
		{"root", 1, Priority{Weight: 15}},
		{"exclusive", 3, Priority{StreamDep: 1, Exclusive: true, Weight: 255}},
		{"max_dep", 5, Priority{StreamDep: MaxStreamID}},
		// PRIORITY may name idle or closed streams (RFC 9113 6.3).
		{"even_stream", 2, Priority{StreamDep: 7, Weight: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, AppendPriority(nil, tt.id, tt.p), tt.p) })
	}
	got := AppendPriority(nil, 3, Priority{StreamDep: 1, Exclusive: true, Weight: 9})
	want := []byte{0, 0, 5, 0x2, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 9}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestPriorityErrors(t *testing.T) {
	// RFC 9113 6.3: stream 0 is a connection error.
	_, err := ParsePriority(Header{Type: TypePriority, Length: 5}, make([]byte, 5))
	wantConnErr(t, err, ProtocolError, "priority_stream_zero")
	// RFC 9113 6.3: a wrong length is a *stream* error.
	for _, n := range []int{0, 4, 6, 100} {
		_, err := ParsePriority(Header{Type: TypePriority, Length: uint32(n), StreamID: 9}, make([]byte, n))
		wantStreamErr(t, err, 9, FrameSizeError, "priority_bad_length")
	}
	// RFC 9113 5.3.1: a stream cannot depend on itself.
	b := AppendPriority(nil, 5, Priority{StreamDep: 5, Weight: 3})
	h, p := parseOne(t, b)
	_, err = ParsePriority(h, p)
	wantStreamErr(t, err, 5, ProtocolError, "priority_self_dependency")
	if err := (Priority{StreamDep: 5}).Check(7); err != nil {
		t.Fatalf("Check on a different stream: %v", err)
	}
}

func TestPriorityTruncated(t *testing.T) {
	for _, err := range truncations(t, AppendPriority(nil, 1, Priority{StreamDep: 3, Weight: 5})) {
		wantStreamErr(t, err, 1, FrameSizeError, "priority_bad_length")
	}
}
