package frame

// paddingRules names the reasons reported by stripPadding for one frame
// type, so every rejection carries a type-specific stable token.
type paddingRules struct {
	tooShort   string // payload cannot hold Pad Length plus the fixed fields
	padTooLong string // padding covers the whole remaining payload
}

// stripPadding removes the Pad Length octet and the trailing padding of a
// DATA, HEADERS or PUSH_PROMISE payload. fixed is the number of octets of
// mandatory fields that follow Pad Length (priority, promised stream id)
// and must remain after the padding is removed. The returned body starts
// with those fixed fields.
//
// Every frame with padding carries a field block or sits on a stream
// whose flow control it affects, so both failures are connection errors:
// RFC 9113 4.2 makes a too-short field-block frame a connection
// FRAME_SIZE_ERROR, and RFC 9113 6.1, 6.2 and 6.6 make padding at least as
// long as the remaining payload a connection PROTOCOL_ERROR.
func stripPadding(h Header, payload []byte, fixed int, r paddingRules) (padLen uint8, body []byte, err error) {
	if !h.Flags.Has(FlagPadded) {
		if len(payload) < fixed {
			return 0, nil, connErr(FrameSizeError, r.tooShort)
		}
		return 0, payload, nil
	}
	if len(payload) < 1+fixed {
		return 0, nil, connErr(FrameSizeError, r.tooShort)
	}
	padLen = payload[0]
	payload = payload[1:]
	if int(padLen) > len(payload)-fixed {
		return 0, nil, connErr(ProtocolError, r.padTooLong)
	}
	return padLen, payload[:len(payload)-int(padLen)], nil
}

// appendPadding appends padLen zero octets: RFC 9113 6.1 says padding
// octets MUST be zero when sent. Writers set PADDED and the Pad Length
// octet only when padLen > 0, so a zero padLen means no padding at all.
func appendPadding(dst []byte, padLen uint8) []byte {
	for range padLen {
		dst = append(dst, 0)
	}
	return dst
}
