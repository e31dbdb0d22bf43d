package h1

// ResponseHead is a parsed response head; slices alias the parsed buffer
// and Fields is reused as in RequestHead.
type ResponseHead struct {
	Minor  int    // 0 or 1
	Status int    // 100-599
	Reason []byte // reason-phrase, possibly empty; clients ignore it (RFC 9112 4)
	Fields []Field
	// ContentLength is -1 when absent. It is what the field says; whether
	// the response has a body at all depends on the request
	// (ResponseBodyMode).
	ContentLength int64
	Chunked       bool // Transfer-Encoding is (exactly) chunked
	// KeepAlive reports whether the server lets the connection persist
	// (RFC 9112 9.3). A close-delimited body (BodyUntilClose) ends the
	// connection whatever this says.
	KeepAlive bool
	// Upgrade is the Upgrade field's value when Connection lists
	// "upgrade" (the protocol a 101 switches to), else nil.
	Upgrade   []byte
	HeadBytes int // length of the head (== n returned)
}

// ParseResponseHead parses one response head at the start of buf, with
// the same contract as ParseRequestHead. It applies the same framing checks
// as for requests (a Content-Length with Transfer-Encoding, a bad length,
// a coding other than chunked, obs-fold, bare LF ...): a backend that
// frames ambiguously could desynchronise a pooled connection, and the
// caller answers such a response with 502.
func ParseResponseHead(buf []byte, h *ResponseHead, lim Limits) (int, error) {
	start, end, err := locateHead(buf, lim.maxHead())
	if err != nil {
		return 0, err
	}
	head := buf[:end]
	*h = ResponseHead{Fields: h.Fields[:0], ContentLength: -1}

	pos, err := parseStatusLine(head, start, h)
	if err != nil {
		return 0, err
	}
	if h.Fields, err = parseFields(head, pos, h.Fields, lim.maxFields()); err != nil {
		return 0, err
	}
	var fr framing
	fr.reset(false)
	for i := range h.Fields {
		if err := fr.field(&h.Fields[i]); err != nil {
			return 0, err
		}
	}
	if err := fr.finish(h.Minor); err != nil {
		return 0, err
	}
	h.ContentLength = fr.contentLength
	h.Chunked = fr.chunked
	h.KeepAlive = fr.persistent(h.Minor)
	h.Upgrade = fr.upgradeValue(h.Minor)
	if fr.listed {
		markConnectionListed(h.Fields)
	}
	h.HeadBytes = end
	return end, nil
}

// parseStatusLine parses status-line = HTTP-version SP status-code SP
// [ reason-phrase ] CRLF (RFC 9112 4). The SP before an empty reason is
// optional here: many servers omit it, and without a reason there is
// nothing to misread.
func parseStatusLine(b []byte, i int, h *ResponseHead) (int, error) {
	if i+13 > len(b) || b[i+8] != ' ' {
		return 0, lineError(b, min(i+8, len(b)), errBadStatusLine)
	}
	minor, err := parseVersion(b[i : i+8])
	if err != nil {
		return 0, err
	}
	h.Minor = minor
	i += 9
	status := 0
	for _, c := range b[i : i+3] {
		if c < '0' || c > '9' {
			return 0, errBadStatus
		}
		status = status*10 + int(c-'0')
	}
	// RFC 9110 15: the first digit is the class, 1 to 5.
	if status < 100 || status > 599 {
		return 0, errBadStatus
	}
	h.Status = status
	i += 3
	switch {
	case b[i] == ' ':
		i++
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		h.Reason = b[i:i]
		return i + 2, nil
	default:
		if b[i] >= '0' && b[i] <= '9' {
			return 0, errBadStatus // more than three digits
		}
		return 0, lineError(b, i, errBadStatusLine)
	}
	rs := i
	// reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
	i = skipFieldVchars(b, i)
	if i+1 >= len(b) || b[i] != '\r' || b[i+1] != '\n' {
		return 0, lineError(b, i, errControlChar)
	}
	h.Reason = b[rs:i]
	return i + 2, nil
}
