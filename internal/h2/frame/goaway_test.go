package frame

import (
	"bytes"
	"testing"
)

func TestGoAwayRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		want GoAway
	}{
		{"graceful", GoAway{LastStreamID: MaxStreamID, Code: NoError, Debug: []byte{}}},
		{"calm", GoAway{LastStreamID: 99, Code: EnhanceYourCalm, Debug: []byte("rapid_reset")}},
		{"zero", GoAway{Code: ProtocolError, Debug: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roundTrip(t, AppendGoAway(nil, tt.want.LastStreamID, tt.want.Code, tt.want.Debug), tt.want)
		})
	}
	got := AppendGoAway(nil, 5, EnhanceYourCalm, []byte("x"))
	want := []byte{0, 0, 9, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0xb, 'x'}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
	// RFC 9113 6.8: the reserved bit of Last-Stream-ID is ignored.
	h, p := parseOne(t, AppendRaw(nil, Header{Type: TypeGoAway}, []byte{0x80, 0, 0, 3, 0, 0, 0, 0}))
	if g, err := ParseGoAway(h, p); err != nil || g.LastStreamID != 3 {
		t.Fatalf("got %+v, %v", g, err)
	}
}

func TestGoAwayErrors(t *testing.T) {
	// RFC 9113 6.8
	_, err := ParseGoAway(Header{Type: TypeGoAway, StreamID: 1, Length: 8}, make([]byte, 8))
	wantConnErr(t, err, ProtocolError, "goaway_nonzero_stream")
}

func TestGoAwayTruncated(t *testing.T) {
	for k, err := range truncations(t, AppendGoAway(nil, 1, NoError, []byte("debug"))) {
		if k < 8 {
			wantConnErr(t, err, FrameSizeError, "goaway_too_short")
		} else if err != nil {
			t.Fatalf("length %d: %v", k, err)
		}
	}
}
