package h1

// The serializers append to dst and allocate nothing when dst has room.
// They do not validate: their inputs come from this package's parsers or
// from the HTTP/2 side, which must have checked names and values already
// (RFC 9113 8.2.1); ValidFieldName and ValidFieldValue are here for that.

// AppendRequestLine appends "method SP target SP HTTP/1.1 CRLF"
// (RFC 9112 3). sluice always speaks HTTP/1.1 to backends.
func AppendRequestLine(dst, method, target []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	return append(dst, " HTTP/1.1\r\n"...)
}

// AppendStatusLine appends "HTTP/1.minor SP status SP reason CRLF"
// (RFC 9112 4). An empty reason is replaced by StatusText(status) (and
// left empty when the code has none): a backend's empty reason is legal but
// unfriendly to people reading traces.
func AppendStatusLine(dst []byte, minor, status int, reason []byte) []byte {
	dst = append(dst, "HTTP/1."...)
	dst = appendUint(dst, uint64(minor))
	dst = append(dst, ' ')
	if status >= 100 && status <= 999 {
		dst = append(dst, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10))
	} else {
		dst = appendUint(dst, uint64(max(status, 0)))
	}
	dst = append(dst, ' ')
	if len(reason) > 0 {
		dst = append(dst, reason...)
	} else {
		dst = append(dst, StatusText(status)...)
	}
	return append(dst, '\r', '\n')
}

// AppendField appends "name: value CRLF" (RFC 9112 5).
func AppendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendChunkHeader appends the chunk-size line for n bytes of data: the
// size in lower-case hex and CRLF (RFC 9112 7.1). n must be positive; a
// zero-size chunk is the last chunk, written by AppendLastChunk.
func AppendChunkHeader(dst []byte, n int) []byte {
	const hex = "0123456789abcdef"
	var buf [16]byte
	i := len(buf)
	u := uint64(n)
	for {
		i--
		buf[i] = hex[u&0xf]
		u >>= 4
		if u == 0 {
			break
		}
	}
	dst = append(dst, buf[i:]...)
	return append(dst, '\r', '\n')
}

// AppendChunkEnd appends the CRLF that ends a chunk's data.
func AppendChunkEnd(dst []byte) []byte {
	return append(dst, '\r', '\n')
}

// AppendLastChunk appends last-chunk, the trailer section and the final
// CRLF (RFC 9112 7.1). Trailers that must not be forwarded are skipped:
// hop-by-hop fields (RFC 9110 7.6.1) and Content-Length and Host, which a
// sender must not put in a trailer section (RFC 9110 6.5.1) and which a
// lax recipient might merge into the header section.
func AppendLastChunk(dst []byte, trailers []Field) []byte {
	dst = append(dst, '0', '\r', '\n')
	for i := range trailers {
		f := &trailers[i]
		if !TrailerAllowed(f.Kind) {
			continue
		}
		dst = AppendField(dst, f.Name, f.Value)
	}
	return append(dst, '\r', '\n')
}

// TrailerAllowed reports whether a field of kind k may be forwarded in a
// trailer section (see AppendLastChunk).
func TrailerAllowed(k FieldKind) bool {
	return !k.IsHopByHop() && k != KindContentLength && k != KindHost
}

// ValidFieldName reports whether name is a valid field name (a token,
// RFC 9110 5.1).
func ValidFieldName(name []byte) bool { return isToken(name) }

// ValidFieldValue reports whether value may be written as a field value:
// no CR, LF, NUL or other control but HTAB (RFC 9110 5.5), and no leading
// or trailing whitespace.
func ValidFieldValue(value []byte) bool {
	for _, c := range value {
		if !isFieldVchar[c] {
			return false
		}
	}
	return len(value) == 0 || !isOWS(value[0]) && !isOWS(value[len(value)-1])
}

// appendUint appends the decimal form of u.
func appendUint(dst []byte, u uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}
