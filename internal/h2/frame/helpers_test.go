package frame

import (
	"errors"
	"fmt"
	"testing"
)

// parseOne runs b through Next and fails unless it holds exactly one frame.
func parseOne(t testing.TB, b []byte) (Header, []byte) {
	t.Helper()
	h, payload, n, err := Next(b, MaxMaxFrameSize)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if n != len(b) {
		t.Fatalf("Next consumed %d of %d octets", n, len(b))
	}
	return h, payload
}

// parseAny dispatches to the parser for h.Type, as the engine does; unknown
// types come back as their raw payload. The value is boxed, so this helper
// is for tests only.
func parseAny(h Header, payload []byte) (any, error) {
	switch h.Type {
	case TypeData:
		return ParseData(h, payload)
	case TypeHeaders:
		return ParseHeaders(h, payload)
	case TypePriority:
		return ParsePriority(h, payload)
	case TypeRSTStream:
		return ParseRSTStream(h, payload)
	case TypeSettings:
		return ParseSettings(h, payload)
	case TypePushPromise:
		return ParsePushPromise(h, payload)
	case TypePing:
		return ParsePing(h, payload)
	case TypeGoAway:
		return ParseGoAway(h, payload)
	case TypeWindowUpdate:
		return ParseWindowUpdate(h, payload)
	case TypeContinuation:
		return ParseContinuation(h, payload)
	case TypePriorityUpdate:
		return ParsePriorityUpdate(h, payload)
	}
	return payload, nil
}

// reencode writes a parsed value back as a frame on stream id.
func reencode(dst []byte, h Header, v any) []byte {
	switch f := v.(type) {
	case Data:
		return f.Append(dst, h.StreamID)
	case Headers:
		return f.Append(dst, h.StreamID)
	case Priority:
		return f.Append(dst, h.StreamID)
	case RSTStream:
		return f.Append(dst, h.StreamID)
	case Settings:
		return f.Append(dst)
	case PushPromise:
		return f.Append(dst, h.StreamID)
	case Ping:
		return f.Append(dst)
	case GoAway:
		return f.Append(dst)
	case WindowUpdate:
		return f.Append(dst, h.StreamID)
	case Continuation:
		return f.Append(dst, h.StreamID)
	case PriorityUpdate:
		return f.Append(dst)
	case []byte:
		return AppendRaw(dst, h, f)
	}
	panic(fmt.Sprintf("reencode: unexpected %T", v))
}

// same compares two parsed values; %+v prints nil and empty slices alike,
// which is the equality the codec promises (it never distinguishes them).
func same(a, b any) bool { return fmt.Sprintf("%T %+v", a, a) == fmt.Sprintf("%T %+v", b, b) }

// wantConnErr fails unless err is a *ConnError with code and reason.
func wantConnErr(t testing.TB, err error, code ErrCode, reason string) {
	t.Helper()
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v (%T), want connection error %v %s", err, err, code, reason)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("got connection error %v %s, want %v %s", ce.Code, ce.Reason, code, reason)
	}
}

// wantStreamErr fails unless err is a *StreamError on id with code and reason.
func wantStreamErr(t testing.TB, err error, id StreamID, code ErrCode, reason string) {
	t.Helper()
	var se *StreamError
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want stream error %v %s", err, err, code, reason)
	}
	if se.StreamID != id || se.Code != code || se.Reason != reason {
		t.Fatalf("got stream error %v %v %s, want %v %v %s", se.StreamID, se.Code, se.Reason, id, code, reason)
	}
}

// wantTyped fails unless err is nil, a *ConnError or a *StreamError: the
// engine knows how to answer only those.
func wantTyped(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ce *ConnError
	var se *StreamError
	if !errors.As(err, &ce) && !errors.As(err, &se) {
		t.Fatalf("untyped error %v (%T)", err, err)
	}
}

// truncations feeds every shorter payload of the frame in full to parseAny,
// with the header length rewritten to match (the way Next would deliver a
// frame whose sender declared the shorter length). It returns the errors
// seen per length so callers can assert on them; nothing may panic.
func truncations(t *testing.T, full []byte) []error {
	t.Helper()
	h, payload := parseOne(t, full)
	errs := make([]error, len(payload))
	for k := range len(payload) {
		hk := h
		hk.Length = uint32(k)
		_, err := parseAny(hk, payload[:k:k])
		wantTyped(t, err)
		errs[k] = err
	}
	return errs
}

// roundTrip parses frame b, checks it equals want, re-encodes it and
// checks the second parse gives the same value again.
func roundTrip(t *testing.T, b []byte, want any) {
	t.Helper()
	h, payload := parseOne(t, b)
	got, err := parseAny(h, payload)
	if err != nil {
		t.Fatalf("parse %v: %v", h, err)
	}
	if !same(got, want) {
		t.Fatalf("parse %v:\n got %+v\nwant %+v", h, got, want)
	}
	again := reencode(nil, h, got)
	h2, payload2 := parseOne(t, again)
	if h2.StreamID != h.StreamID || h2.Type != h.Type {
		t.Fatalf("re-encoded header %v, want type/stream of %v", h2, h)
	}
	got2, err := parseAny(h2, payload2)
	if err != nil {
		t.Fatalf("parse re-encoded %v: %v", h2, err)
	}
	if !same(got2, got) {
		t.Fatalf("re-encoded value differs:\n got %+v\nwant %+v", got2, got)
	}
}
