package frame

// Headers is a HEADERS frame (RFC 9113 6.2).
type Headers struct {
	// Fragment is the field block fragment (HPACK input), aliasing the
	// frame payload with padding and priority fields removed.
	Fragment []byte
	// EndStream is the END_STREAM flag.
	EndStream bool
	// EndHeaders is the END_HEADERS flag; when false, CONTINUATION frames
	// on the same stream must follow (the engine enforces that).
	EndHeaders bool
	// HasPriority is the PRIORITY flag; Priority is valid only when set.
	HasPriority bool
	// Priority holds the deprecated RFC 7540 priority fields. ParseHeaders
	// does not reject a self-dependency: the field block must be decoded
	// first, so the engine calls Priority.Check afterwards.
	Priority Priority
	// PadLen is the number of padding octets that were stripped.
	PadLen uint8
}

var headersPadding = paddingRules{tooShort: "headers_too_short", padTooLong: "headers_padding_too_long"}

// ParseHeaders decodes a HEADERS payload.
func ParseHeaders(h Header, payload []byte) (Headers, error) {
	// RFC 9113 6.2: HEADERS on stream 0 is a connection PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return Headers{}, connErr(ProtocolError, "headers_stream_zero")
	}
	fixed := 0
	hasPrio := h.Flags.Has(FlagPriority)
	if hasPrio {
		fixed = priorityLen
	}
	padLen, body, err := stripPadding(h, payload, fixed, headersPadding)
	if err != nil {
		return Headers{}, err
	}
	f := Headers{
		EndStream:   h.Flags.Has(FlagEndStream),
		EndHeaders:  h.Flags.Has(FlagEndHeaders),
		HasPriority: hasPrio,
		PadLen:      padLen,
	}
	if hasPrio {
		f.Priority = parsePriorityFields(body)
		body = body[priorityLen:]
	}
	f.Fragment = body
	return f, nil
}

// AppendHeaders appends a HEADERS frame without priority or padding.
func AppendHeaders(dst []byte, id StreamID, endStream, endHeaders bool, fragment []byte) []byte {
	flags := flagIf(endStream, FlagEndStream) | flagIf(endHeaders, FlagEndHeaders)
	dst = appendFrameHeader(dst, TypeHeaders, flags, id, len(fragment))
	return append(dst, fragment...)
}

// AppendHeadersPriority appends a HEADERS frame with the PRIORITY flag and
// priority fields (used by tests and attack clients of the engine).
func AppendHeadersPriority(dst []byte, id StreamID, endStream, endHeaders bool, p Priority, fragment []byte) []byte {
	return Headers{
		Fragment:    fragment,
		EndStream:   endStream,
		EndHeaders:  endHeaders,
		HasPriority: true,
		Priority:    p,
	}.Append(dst, id)
}

// Append re-encodes f on stream id, with its priority fields and padding.
func (f Headers) Append(dst []byte, id StreamID) []byte {
	flags := flagIf(f.EndStream, FlagEndStream) | flagIf(f.EndHeaders, FlagEndHeaders) |
		flagIf(f.HasPriority, FlagPriority) | flagIf(f.PadLen > 0, FlagPadded)
	n := len(f.Fragment)
	if f.HasPriority {
		n += priorityLen
	}
	if f.PadLen > 0 {
		n += 1 + int(f.PadLen)
	}
	dst = appendFrameHeader(dst, TypeHeaders, flags, id, n)
	if f.PadLen > 0 {
		dst = append(dst, f.PadLen)
	}
	if f.HasPriority {
		dst = appendPriorityFields(dst, f.Priority)
	}
	dst = append(dst, f.Fragment...)
	return appendPadding(dst, f.PadLen)
}
