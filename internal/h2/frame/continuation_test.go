package frame

import (
	"bytes"
	"testing"
)

func TestContinuationRoundTrip(t *testing.T) {
	roundTrip(t, AppendContinuation(nil, 1, true, []byte{0x82}), Continuation{Fragment: []byte{0x82}, EndHeaders: true})
	roundTrip(t, AppendContinuation(nil, 3, false, nil), Continuation{Fragment: []byte{}})
	want := []byte{0, 0, 1, 0x9, 0x4, 0, 0, 0, 1, 0x82}
	if got := AppendContinuation(nil, 1, true, []byte{0x82}); !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestContinuationErrors(t *testing.T) {
	// RFC 9113 6.10
	_, err := ParseContinuation(Header{Type: TypeContinuation, Length: 1}, []byte{0x82})
	wantConnErr(t, err, ProtocolError, "continuation_stream_zero")
}

func TestContinuationTruncated(t *testing.T) {
	for k, err := range truncations(t, AppendContinuation(nil, 1, true, []byte("fragment"))) {
		if err != nil {
			t.Fatalf("length %d: %v", k, err)
		}
	}
}
