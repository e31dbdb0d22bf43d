package frame

import (
	"bytes"
	"testing"
)

func TestPriorityUpdateRoundTrip(t *testing.T) {
	roundTrip(t, AppendPriorityUpdate(nil, 1, []byte("u=0, i")), PriorityUpdate{PrioritizedID: 1, FieldValue: []byte("u=0, i")})
	roundTrip(t, AppendPriorityUpdate(nil, MaxStreamID, nil), PriorityUpdate{PrioritizedID: MaxStreamID, FieldValue: []byte{}})
	want := []byte{0, 0, 7, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'u', '=', '1'}
	if got := AppendPriorityUpdate(nil, 5, []byte("u=1")); !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestPriorityUpdateErrors(t *testing.T) {
	// RFC 9218 7.1
	_, err := ParsePriorityUpdate(Header{Type: TypePriorityUpdate, StreamID: 1, Length: 4}, []byte{0, 0, 0, 1})
	wantConnErr(t, err, ProtocolError, "priority_update_nonzero_stream")
	_, err = ParsePriorityUpdate(Header{Type: TypePriorityUpdate, Length: 4}, []byte{0x80, 0, 0, 0})
	wantConnErr(t, err, ProtocolError, "priority_update_stream_zero")
}

func TestPriorityUpdateTruncated(t *testing.T) {
	for k, err := range truncations(t, AppendPriorityUpdate(nil, 3, []byte("u=2"))) {
		if k < 4 {
			wantConnErr(t, err, FrameSizeError, "priority_update_too_short")
		} else if err != nil {
			t.Fatalf("length %d: %v", k, err)
		}
	}
}
