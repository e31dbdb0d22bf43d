package frame

// Data is a DATA frame (RFC 9113 6.1).
type Data struct {
	// Data is the application payload with padding removed; it aliases the
	// frame payload.
	Data []byte
	// EndStream is the END_STREAM flag: the sender's last frame on the
	// stream.
	EndStream bool
	// PadLen is the number of padding octets that followed Data. Flow
	// control counts the whole frame payload, Pad Length octet and padding
	// included (RFC 9113 6.9.1), which is Header.Length.
	PadLen uint8
}

var dataPadding = paddingRules{tooShort: "data_too_short", padTooLong: "data_padding_too_long"}

// ParseData decodes a DATA payload.
func ParseData(h Header, payload []byte) (Data, error) {
	// RFC 9113 6.1: DATA on stream 0 is a connection PROTOCOL_ERROR.
	if h.StreamID == 0 {
		return Data{}, connErr(ProtocolError, "data_stream_zero")
	}
	padLen, body, err := stripPadding(h, payload, 0, dataPadding)
	if err != nil {
		return Data{}, err
	}
	return Data{Data: body, EndStream: h.Flags.Has(FlagEndStream), PadLen: padLen}, nil
}

// AppendData appends an unpadded DATA frame carrying data.
func AppendData(dst []byte, id StreamID, endStream bool, data []byte) []byte {
	dst = appendFrameHeader(dst, TypeData, flagIf(endStream, FlagEndStream), id, len(data))
	return append(dst, data...)
}

// AppendDataPadded appends a DATA frame with padLen octets of padding
// (none, and no PADDED flag, when padLen is 0).
func AppendDataPadded(dst []byte, id StreamID, endStream bool, data []byte, padLen uint8) []byte {
	if padLen == 0 {
		return AppendData(dst, id, endStream, data)
	}
	flags := flagIf(endStream, FlagEndStream) | FlagPadded
	dst = appendFrameHeader(dst, TypeData, flags, id, 1+len(data)+int(padLen))
	dst = append(dst, padLen)
	dst = append(dst, data...)
	return appendPadding(dst, padLen)
}

// Append re-encodes f on stream id, padding included.
func (f Data) Append(dst []byte, id StreamID) []byte {
	return AppendDataPadded(dst, id, f.EndStream, f.Data, f.PadLen)
}
