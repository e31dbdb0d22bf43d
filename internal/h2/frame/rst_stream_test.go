package frame

import (
	"bytes"
	"testing"
)

func TestRSTStreamRoundTrip(t *testing.T) {
	for _, code := range []ErrCode{NoError, ProtocolError, Cancel, HTTP11Required, 0xffffffff} {
		roundTrip(t, AppendRSTStream(nil, 1, code), RSTStream{Code: code})
	}
	got := AppendRSTStream(nil, 3, Cancel)
	want := []byte{0, 0, 4, 0x3, 0, 0, 0, 0, 3, 0, 0, 0, 8}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestRSTStreamErrors(t *testing.T) {
	// RFC 9113 6.4
	_, err := ParseRSTStream(Header{Type: TypeRSTStream, Length: 4}, make([]byte, 4))
	wantConnErr(t, err, ProtocolError, "rst_stream_stream_zero")
	for _, n := range []int{0, 3, 5, 8} {
		_, err := ParseRSTStream(Header{Type: TypeRSTStream, Length: uint32(n), StreamID: 1}, make([]byte, n))
		wantConnErr(t, err, FrameSizeError, "rst_stream_bad_length")
	}
}

func TestRSTStreamTruncated(t *testing.T) {
	for _, err := range truncations(t, AppendRSTStream(nil, 1, Cancel)) {
		wantConnErr(t, err, FrameSizeError, "rst_stream_bad_length")
	}
}
