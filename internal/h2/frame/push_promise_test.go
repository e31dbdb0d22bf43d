package frame

import (
	"bytes"
	"testing"
)

func TestPushPromiseRoundTrip(t *testing.T) {
	frag := []byte{0x82, 0x87}
	tests := []struct {
		name string
		wire []byte
		want PushPromise
	}{
		{"plain", AppendPushPromise(nil, 1, 2, true, frag), PushPromise{PromisedID: 2, Fragment: frag, EndHeaders: true}},
		{"no_end_headers", AppendPushPromise(nil, 1, 4, false, nil), PushPromise{PromisedID: 4, Fragment: []byte{}}},
		{"padded", PushPromise{PromisedID: MaxStreamID - 1, Fragment: frag, PadLen: 9}.Append(nil, 3),
			PushPromise{PromisedID: MaxStreamID - 1, Fragment: frag, PadLen: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.wire, tt.want) })
	}
	got := AppendPushPromise(nil, 1, 2, true, []byte{0xaa})
	want := []byte{0, 0, 5, 0x5, 0x4, 0, 0, 0, 1, 0, 0, 0, 2, 0xaa}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
}

func TestPushPromiseErrors(t *testing.T) {
	tests := []struct {
		name   string
		h      Header
		p      []byte
		code   ErrCode
		reason string
	}{
		// RFC 9113 6.6
		{"stream_zero", Header{Type: TypePushPromise}, []byte{0, 0, 0, 2}, ProtocolError, "push_promise_stream_zero"},
		{"short", Header{Type: TypePushPromise, StreamID: 1}, []byte{0, 0, 2}, FrameSizeError, "push_promise_too_short"},
		{"padded_short", Header{Type: TypePushPromise, StreamID: 1, Flags: FlagPadded}, []byte{0, 0, 0, 2}, FrameSizeError, "push_promise_too_short"},
		{"pad_too_long", Header{Type: TypePushPromise, StreamID: 1, Flags: FlagPadded}, []byte{1, 0, 0, 0, 2}, ProtocolError, "push_promise_padding_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.h.Length = uint32(len(tt.p))
			_, err := ParsePushPromise(tt.h, tt.p)
			wantConnErr(t, err, tt.code, tt.reason)
		})
	}
}

func TestPushPromiseTruncated(t *testing.T) {
	errs := truncations(t, PushPromise{PromisedID: 2, Fragment: []byte("abcdef"), PadLen: 2}.Append(nil, 1))
	for k, err := range errs {
		switch {
		case k < 5:
			wantConnErr(t, err, FrameSizeError, "push_promise_too_short")
		case k < 7:
			wantConnErr(t, err, ProtocolError, "push_promise_padding_too_long")
		case err != nil:
			t.Fatalf("length %d: %v", k, err)
		}
	}
}
