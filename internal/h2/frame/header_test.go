package frame

import (
	"bytes"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		h    Header
		wire []byte
	}{
		{Header{}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{
			Header{Length: 0x123456, Type: TypeHeaders, Flags: FlagEndStream | FlagEndHeaders, StreamID: 0x01020304},
			[]byte{0x12, 0x34, 0x56, 0x01, 0x05, 0x01, 0x02, 0x03, 0x04},
		},
		{
			Header{Length: MaxMaxFrameSize, Type: 0xff, Flags: 0xff, StreamID: MaxStreamID},
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff},
		},
	}
	for _, tt := range tests {
		got := AppendHeader([]byte("x"), tt.h)
		if !bytes.Equal(got[1:], tt.wire) || got[0] != 'x' {
			t.Errorf("AppendHeader(%v) = %x, want x+%x", tt.h, got, tt.wire)
		}
		if back := ParseHeader(tt.wire); back != tt.h {
			t.Errorf("ParseHeader(%x) = %+v, want %+v", tt.wire, back, tt.h)
		}
	}
}

// RFC 9113 4.1: the reserved bit must be ignored on receipt and left unset
// when sending.
func TestHeaderReservedBit(t *testing.T) {
	wire := []byte{0, 0, 0, byte(TypeData), 0, 0x80, 0, 0, 5}
	h := ParseHeader(wire)
	if h.StreamID != 5 {
		t.Fatalf("StreamID = %d, want 5 (reserved bit cleared)", h.StreamID)
	}
	out := AppendHeader(nil, Header{StreamID: 1<<31 | 7})
	if out[5]&0x80 != 0 {
		t.Fatalf("AppendHeader set the reserved bit: %x", out)
	}
}

func TestAppendHeaderTooLongPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendHeader accepted a length over 2^24-1")
		}
	}()
	AppendHeader(nil, Header{Length: MaxMaxFrameSize + 1})
}

func TestHeaderString(t *testing.T) {
	tests := []struct {
		h    Header
		want string
	}{
		{Header{Type: TypeHeaders, StreamID: 1, Length: 42, Flags: FlagEndStream | FlagEndHeaders},
			"HEADERS stream=1 len=42 flags=END_STREAM|END_HEADERS"},
		{Header{Type: TypeSettings, Flags: FlagAck}, "SETTINGS stream=0 len=0 flags=ACK"},
		{Header{Type: TypeData, StreamID: 3, Length: 1, Flags: FlagPadded | 0x40}, "DATA stream=3 len=1 flags=PADDED|0x40"},
		{Header{Type: 0x42, StreamID: 9, Length: 2, Flags: 0x3}, "unknown_0x42 stream=9 len=2 flags=0x3"},
		{Header{Type: TypeWindowUpdate, Length: 4}, "WINDOW_UPDATE stream=0 len=4"},
	}
	for _, tt := range tests {
		if got := tt.h.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestAppendRaw(t *testing.T) {
	b := AppendRaw(nil, Header{Length: 999, Type: 0xfa, Flags: 0x81, StreamID: 7}, []byte("abc"))
	h, payload := parseOne(t, b)
	if h != (Header{Length: 3, Type: 0xfa, Flags: 0x81, StreamID: 7}) || string(payload) != "abc" {
		t.Fatalf("AppendRaw round trip: %+v %q", h, payload)
	}
}
