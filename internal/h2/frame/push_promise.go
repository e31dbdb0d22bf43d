package frame

// PushPromise is a PUSH_PROMISE frame (RFC 9113 6.6). A server never
// accepts one (RFC 9113 8.4: clients cannot push); the codec still parses
// it so the engine can reject it with the right error and keep the HPACK
// state of a backend connection in sync.
type PushPromise struct {
	// PromisedID is the stream the sender reserves.
	PromisedID StreamID
	// Fragment is the field block fragment, aliasing the payload.
	Fragment []byte
	// EndHeaders is the END_HEADERS flag.
	EndHeaders bool
	// PadLen is the number of padding octets that were stripped.
	PadLen uint8
}

var pushPromisePadding = paddingRules{tooShort: "push_promise_too_short", padTooLong: "push_promise_padding_too_long"}

// promisedIDLen is the size of the Promised Stream ID field (RFC 9113 6.6).
const promisedIDLen = 4

// ParsePushPromise decodes a PUSH_PROMISE payload.
func ParsePushPromise(h Header, payload []byte) (PushPromise, error) {
	// RFC 9113 6.6: PUSH_PROMISE on stream 0 is a connection PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return PushPromise{}, connErr(ProtocolError, "push_promise_stream_zero")
	}
	padLen, body, err := stripPadding(h, payload, promisedIDLen, pushPromisePadding)
	if err != nil {
		return PushPromise{}, err
	}
	return PushPromise{
		PromisedID: StreamID(readUint32(body) & uint32(MaxStreamID)),
		Fragment:   body[promisedIDLen:],
		EndHeaders: h.Flags.Has(FlagEndHeaders),
		PadLen:     padLen,
	}, nil
}

// AppendPushPromise appends an unpadded PUSH_PROMISE frame.
func AppendPushPromise(dst []byte, id, promised StreamID, endHeaders bool, fragment []byte) []byte {
	return PushPromise{PromisedID: promised, Fragment: fragment, EndHeaders: endHeaders}.Append(dst, id)
}

// Append re-encodes f on stream id, padding included.
func (f PushPromise) Append(dst []byte, id StreamID) []byte {
	flags := flagIf(f.EndHeaders, FlagEndHeaders) | flagIf(f.PadLen > 0, FlagPadded)
	n := promisedIDLen + len(f.Fragment)
	if f.PadLen > 0 {
		n += 1 + int(f.PadLen)
	}
	dst = appendFrameHeader(dst, TypePushPromise, flags, id, n)
	if f.PadLen > 0 {
		dst = append(dst, f.PadLen)
	}
	dst = appendUint32(dst, uint32(f.PromisedID&MaxStreamID))
	dst = append(dst, f.Fragment...)
	return appendPadding(dst, f.PadLen)
}
