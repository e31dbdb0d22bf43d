package frame

import (
	"bytes"
	"testing"
)

func TestDataRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, DefaultMaxFrameSize-256)
	tests := []struct {
		name string
		wire []byte
		want Data
	}{
		{"empty", AppendData(nil, 1, false, nil), Data{Data: []byte{}}},
		{"end_stream", AppendData(nil, 3, true, []byte("hello")), Data{Data: []byte("hello"), EndStream: true}},
		{"padded", AppendDataPadded(nil, 5, false, []byte("x"), 10), Data{Data: []byte("x"), PadLen: 10}},
		{"padded_empty_body", AppendDataPadded(nil, 5, true, nil, 255), Data{Data: []byte{}, EndStream: true, PadLen: 255}},
		{"padded_zero_is_unpadded", AppendDataPadded(nil, 7, false, []byte("y"), 0), Data{Data: []byte("y")}},
		{"large", AppendDataPadded(nil, MaxStreamID, false, big, 255), Data{Data: big, PadLen: 255}},
		// A PADDED frame with Pad Length 0 is legal and costs one octet.
		{"padded_flag_pad_zero", AppendRaw(nil, Header{Type: TypeData, Flags: FlagPadded, StreamID: 1}, []byte{0, 'z'}), Data{Data: []byte("z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.wire, tt.want) })
	}
}

func TestDataWire(t *testing.T) {
	got := AppendDataPadded(nil, 1, true, []byte("ab"), 2)
	want := []byte{0, 0, 5, 0x0, 0x9, 0, 0, 0, 1, 2, 'a', 'b', 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestDataErrors(t *testing.T) {
	tests := []struct {
		name   string
		h      Header
		p      []byte
		code   ErrCode
		reason string
	}{
		// RFC 9113 6.1
		{"stream_zero", Header{Type: TypeData}, []byte("x"), ProtocolError, "data_stream_zero"},
		{"padded_no_pad_length", Header{Type: TypeData, Flags: FlagPadded, StreamID: 1}, []byte{}, FrameSizeError, "data_too_short"},
		{"pad_equals_payload", Header{Type: TypeData, Flags: FlagPadded, StreamID: 1}, []byte{1}, ProtocolError, "data_padding_too_long"},
		{"pad_exceeds_payload", Header{Type: TypeData, Flags: FlagPadded, StreamID: 1}, []byte{5, 0, 0, 0}, ProtocolError, "data_padding_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.h.Length = uint32(len(tt.p))
			_, err := ParseData(tt.h, tt.p)
			wantConnErr(t, err, tt.code, tt.reason)
		})
	}
}

func TestDataTruncated(t *testing.T) {
	errs := truncations(t, AppendDataPadded(nil, 1, false, []byte("payload"), 4))
	// Lengths 1..4 leave no room beyond the 4 octets of padding the Pad
	// Length octet announces; 0 has no Pad Length at all.
	for k, err := range errs {
		switch {
		case k == 0:
			wantConnErr(t, err, FrameSizeError, "data_too_short")
		case k <= 4:
			wantConnErr(t, err, ProtocolError, "data_padding_too_long")
		case err != nil:
			t.Fatalf("length %d: %v", k, err)
		}
	}
}
