package frame

import (
	"bytes"
	"testing"
)

func TestHeadersRoundTrip(t *testing.T) {
	frag := []byte{0x82, 0x86, 0x84, 0x41, 0x8a}
	prio := Priority{StreamDep: 3, Exclusive: true, Weight: 200}
	tests := []struct {
		name string
		wire []byte
		want Headers
	}{
		{"plain", AppendHeaders(nil, 1, false, true, frag), Headers{Fragment: frag, EndHeaders: true}},
		{"end_stream_no_end_headers", AppendHeaders(nil, 3, true, false, frag), Headers{Fragment: frag, EndStream: true}},
		{"empty_fragment", AppendHeaders(nil, 5, true, true, nil), Headers{Fragment: []byte{}, EndStream: true, EndHeaders: true}},
		{"priority", AppendHeadersPriority(nil, 7, true, true, prio, frag),
			Headers{Fragment: frag, EndStream: true, EndHeaders: true, HasPriority: true, Priority: prio}},
		{"priority_padded", Headers{Fragment: frag, EndHeaders: true, HasPriority: true, Priority: prio, PadLen: 7}.Append(nil, 9),
			Headers{Fragment: frag, EndHeaders: true, HasPriority: true, Priority: prio, PadLen: 7}},
		{"padded", Headers{Fragment: frag, PadLen: 255}.Append(nil, 11), Headers{Fragment: frag, PadLen: 255}},
		// Self-dependency is left for the engine (see Priority.Check).
		{"self_dependency_parses", AppendHeadersPriority(nil, 13, false, true, Priority{StreamDep: 13}, frag),
			Headers{Fragment: frag, EndHeaders: true, HasPriority: true, Priority: Priority{StreamDep: 13}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.wire, tt.want) })
	}
}

func TestHeadersWire(t *testing.T) {
	got := Headers{Fragment: []byte{0xaa}, EndHeaders: true, HasPriority: true,
		Priority: Priority{StreamDep: 1, Exclusive: true, Weight: 15}, PadLen: 1}.Append(nil, 3)
	want := []byte{
		0, 0, 8, 0x1, 0x2c, 0, 0, 0, 3, // len 1+5+1+1, PADDED|PRIORITY|END_HEADERS
		1,                 // pad length
		0x80, 0, 0, 1, 15, // E + dep 1, weight 15
		0xaa, // fragment
		0,    // padding
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestHeadersErrors(t *testing.T) {
	tests := []struct {
		name   string
		h      Header
		p      []byte
		code   ErrCode
		reason string
	}{
		// RFC 9113 6.2
		{"stream_zero", Header{Type: TypeHeaders}, []byte{0x82}, ProtocolError, "headers_stream_zero"},
		// RFC 9113 4.2: field-block frames too short are connection errors.
		{"padded_empty", Header{Type: TypeHeaders, Flags: FlagPadded, StreamID: 1}, nil, FrameSizeError, "headers_too_short"},
		{"priority_short", Header{Type: TypeHeaders, Flags: FlagPriority, StreamID: 1}, []byte{0, 0, 0, 0}, FrameSizeError, "headers_too_short"},
		{"padded_priority_short", Header{Type: TypeHeaders, Flags: FlagPadded | FlagPriority, StreamID: 1}, []byte{0, 0, 0, 0, 0}, FrameSizeError, "headers_too_short"},
		{"pad_too_long", Header{Type: TypeHeaders, Flags: FlagPadded, StreamID: 1}, []byte{2, 0x82}, ProtocolError, "headers_padding_too_long"},
		// The padding may not eat into the priority fields.
		{"pad_covers_priority", Header{Type: TypeHeaders, Flags: FlagPadded | FlagPriority, StreamID: 1},
			[]byte{1, 0, 0, 0, 0, 16}, ProtocolError, "headers_padding_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.h.Length = uint32(len(tt.p))
			_, err := ParseHeaders(tt.h, tt.p)
			wantConnErr(t, err, tt.code, tt.reason)
		})
	}
	// Padding that consumes exactly everything after the priority fields
	// leaves an empty fragment, which is legal.
	f, err := ParseHeaders(Header{Type: TypeHeaders, Flags: FlagPadded | FlagPriority, StreamID: 1, Length: 7},
		[]byte{1, 0, 0, 0, 0, 16, 0})
	if err != nil || len(f.Fragment) != 0 || f.PadLen != 1 || f.Priority.Weight != 16 {
		t.Fatalf("got %+v, %v", f, err)
	}
}

func TestHeadersTruncated(t *testing.T) {
	frag := []byte("0123456789")
	errs := truncations(t, Headers{Fragment: frag, HasPriority: true, Priority: Priority{StreamDep: 1, Weight: 1}, PadLen: 3}.Append(nil, 3))
	for k, err := range errs {
		switch {
		case k < 6: // Pad Length + 5 priority octets
			wantConnErr(t, err, FrameSizeError, "headers_too_short")
		case k < 9: // padding of 3 needs 3 octets after the priority fields
			wantConnErr(t, err, ProtocolError, "headers_padding_too_long")
		case err != nil:
			t.Fatalf("length %d: %v", k, err)
		}
	}
	for k, err := range truncations(t, AppendHeaders(nil, 1, true, true, frag)) {
		if err != nil {
			t.Fatalf("unpadded length %d: %v", k, err)
		}
	}
}
