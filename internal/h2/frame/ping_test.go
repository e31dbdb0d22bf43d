package frame

import (
	"bytes"
	"testing"
)

func TestPingRoundTrip(t *testing.T) {
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	roundTrip(t, AppendPing(nil, false, data), Ping{Data: data})
	roundTrip(t, AppendPing(nil, true, data), Ping{Ack: true, Data: data})
	want := []byte{0, 0, 8, 0x6, 0x1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	if got := AppendPing(nil, true, data); !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestPingErrors(t *testing.T) {
	// RFC 9113 6.7
	_, err := ParsePing(Header{Type: TypePing, StreamID: 1, Length: 8}, make([]byte, 8))
	wantConnErr(t, err, ProtocolError, "ping_nonzero_stream")
	for _, n := range []int{0, 7, 9, 16} {
		_, err := ParsePing(Header{Type: TypePing, Length: uint32(n)}, make([]byte, n))
		wantConnErr(t, err, FrameSizeError, "ping_bad_length")
	}
}

func TestPingTruncated(t *testing.T) {
	for _, err := range truncations(t, AppendPing(nil, false, [8]byte{})) {
		wantConnErr(t, err, FrameSizeError, "ping_bad_length")
	}
}
