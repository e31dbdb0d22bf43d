package h1

// RequestHead is a parsed request head. Every slice aliases the buffer
// given to ParseRequestHead and is valid until the caller reuses it. A
// RequestHead is reused across requests: the parser truncates Fields to
// [:0] and appends, so a caller that presets its capacity parses without
// allocating.
type RequestHead struct {
	Method, Target []byte
	Minor          int     // 0 or 1 (HTTP/1.0 or HTTP/1.1); other versions are an error
	Fields         []Field // caller may preset capacity; the parser appends
	// Host is the Host field's value, nil when there is none. For an
	// HTTP/1.0 request without Host whose target carries an authority
	// (absolute-form, or CONNECT's authority-form) it is that authority,
	// which RFC 9112 3.2.2 makes authoritative anyway.
	Host          []byte
	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding is (exactly) chunked
	// KeepAlive reports whether the connection persists after this
	// exchange: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
	// "Connection: keep-alive" (RFC 9112 9.3).
	KeepAlive bool
	// Upgrade is the Upgrade field's value when Connection lists
	// "upgrade" in an HTTP/1.1 request, else nil (RFC 9110 7.8).
	Upgrade []byte
	// Expect100 reports "Expect: 100-continue" in an HTTP/1.1 request
	// (RFC 9110 10.1.1: a 1.0 request's expectation is ignored).
	Expect100  bool
	TETrailers bool // TE lists "trailers" (RFC 9110 10.1.4)
	HeadBytes  int  // length of the head, leading empty lines included (== n returned)
}

// Target forms (RFC 9112 3.2).
type targetForm uint8

const (
	originForm targetForm = iota
	absoluteForm
	authorityForm
	asteriskForm
)

// ParseRequestHead parses one request head at the start of buf. It returns
// the number of bytes of the head (request line through the empty line,
// after any skipped leading empty lines). When buf holds no complete head
// yet it returns 0, ErrIncomplete, or a 431 *Error if buf already holds
// lim.MaxHeadBytes without a complete head. Any other error is an *Error:
// the request must be refused and the connection closed, since its framing
// cannot be trusted. Bytes after the head (a body, pipelined requests) are
// not looked at.
func ParseRequestHead(buf []byte, h *RequestHead, lim Limits) (int, error) {
	start, end, err := locateHead(buf, lim.maxHead())
	if err != nil {
		return 0, err
	}
	head := buf[:end]
	*h = RequestHead{Fields: h.Fields[:0], ContentLength: -1}

	pos, err := parseRequestLine(head, start, h)
	if err != nil {
		return 0, err
	}
	form, authority, https, err := checkTarget(h.Method, h.Target)
	if err != nil {
		return 0, err
	}
	if h.Fields, err = parseFields(head, pos, h.Fields, lim.maxFields()); err != nil {
		return 0, err
	}

	var fr framing
	fr.reset(true)
	for i := range h.Fields {
		if err := fr.field(&h.Fields[i]); err != nil {
			return 0, err
		}
	}
	if err := fr.finish(h.Minor); err != nil {
		return 0, err
	}
	if err := h.checkHost(&fr, form, authority, https); err != nil {
		return 0, err
	}
	h.ContentLength = fr.contentLength
	h.Chunked = fr.chunked
	h.KeepAlive = fr.persistent(h.Minor)
	h.Upgrade = fr.upgradeValue(h.Minor)
	h.Expect100 = fr.expect100 && h.Minor >= 1
	h.TETrailers = fr.teTrailers
	if fr.listed {
		markConnectionListed(h.Fields)
	}
	h.HeadBytes = end
	return end, nil
}

// checkHost enforces the Host rules of RFC 9112 3.2 and sets h.Host.
func (h *RequestHead) checkHost(fr *framing, form targetForm, authority []byte, https bool) error {
	if !fr.hasHost {
		if h.Minor >= 1 {
			// RFC 9112 3.2: a server MUST respond 400 to an HTTP/1.1
			// request that lacks a Host header field.
			return errMissingHost
		}
		h.Host = authority // nil for origin-form
		return nil
	}
	host := fr.host
	h.Host = host
	// RFC 9110 7.2: Host = uri-host [ ":" port ]; an empty value is what a
	// client sends for a target without authority (RFC 9112 3.2).
	var hostName []byte
	hostPort := -1
	if len(host) > 0 {
		var ok bool
		if hostName, hostPort, ok = parseAuthority(host); !ok {
			return errBadHost
		}
	}
	if form != absoluteForm {
		return nil
	}
	// RFC 9112 3.2.2 tells an origin server to ignore Host in favour of
	// the target's authority. A proxy that routed on one and forwarded the
	// other would be a routing bypass, so the two must agree.
	targetName, targetPort, _ := parseAuthority(authority)
	def := 80
	if https {
		def = 443
	}
	if hostPort < 0 {
		hostPort = def
	}
	if targetPort < 0 {
		targetPort = def
	}
	if len(host) == 0 || hostPort != targetPort || !equalFoldBytes(hostName, targetName) {
		return errHostMismatch
	}
	return nil
}

// parseRequestLine parses request-line = method SP request-target SP
// HTTP-version CRLF (RFC 9112 3) at b[i] and returns the next line's
// offset. Exactly one SP separates the parts: RFC 9112 3 lets a recipient
// split on any whitespace, which is how "GET /a HTTP/1.1 /b" style
// confusion starts.
func parseRequestLine(b []byte, i int, h *RequestHead) (int, error) {
	ms := i
	for i < len(b) && isTchar[b[i]] {
		i++
	}
	if i >= len(b) || b[i] != ' ' || i == ms {
		if i < len(b) && i > ms && (b[i] > ' ' && b[i] != 0x7f) {
			return 0, errBadMethod // RFC 9110 9.1: method = token
		}
		return 0, lineError(b, i, errBadRequestLine)
	}
	h.Method = b[ms:i]
	i++

	ts := i
	i = skipTargetChars(b, i)
	if i >= len(b) || b[i] != ' ' || i == ts {
		if i < len(b) && i > ts && b[i] != '\r' && b[i] != '\n' {
			return 0, errBadTarget
		}
		return 0, lineError(b, i, errBadRequestLine)
	}
	h.Target = b[ts:i]
	i++

	vs := i
	for i < len(b) && b[i] > ' ' && b[i] < 0x7f {
		i++
	}
	if i+1 >= len(b) || b[i] != '\r' || b[i+1] != '\n' {
		return 0, lineError(b, i, errBadVersion)
	}
	minor, err := parseVersion(b[vs:i])
	if err != nil {
		return 0, err
	}
	h.Minor = minor
	return i + 2, nil
}

// lineError names what stopped a start-line scan at b[i], preferring the
// line-structure reasons over the caller's generic one.
func lineError(b []byte, i int, generic error) error {
	if i < len(b) {
		switch c := b[i]; {
		case c == '\n':
			return errBareLF
		case c == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return errControlChar
			}
		case c != ' ' && isCtl(c):
			return errControlChar
		}
	}
	return generic
}

// parseVersion parses HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112
// 2.3; the name is case-sensitive). Well-formed versions other than 1.0 and
// 1.1 get 505 (RFC 9110 15.6.6).
func parseVersion(v []byte) (minor int, err error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, errBadVersion
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, errVersion
	}
	return int(v[7] - '0'), nil
}

// checkTarget validates the request-target's form against the method
// (RFC 9112 3.2) and returns the authority it carries, if any.
func checkTarget(method, target []byte) (form targetForm, authority []byte, https bool, err error) {
	isConnect := string(method) == "CONNECT"
	switch {
	case isConnect:
		// RFC 9112 3.2.3: CONNECT takes authority-form, and only it;
		// RFC 9110 9.3.6: the port is required.
		host, port, ok := parseAuthority(target)
		if !ok || len(host) == 0 || port < 0 {
			return 0, nil, false, errBadTarget
		}
		return authorityForm, target, false, nil
	case target[0] == '/':
		return originForm, nil, false, nil
	case len(target) == 1 && target[0] == '*':
		// RFC 9112 3.2.4: asterisk-form is only for server-wide OPTIONS.
		if string(method) != "OPTIONS" {
			return 0, nil, false, errBadTarget
		}
		return asteriskForm, nil, false, nil
	}
	authority, https, ok := parseAbsoluteForm(target)
	if !ok {
		return 0, nil, false, errBadTarget
	}
	return absoluteForm, authority, https, nil
}

// parseAbsoluteForm accepts absolute-form (RFC 9112 3.2.2) for the http and
// https schemes only, with a non-empty host (RFC 9110 4.2.1) and no
// userinfo (RFC 9110 4.2.4: "user@host" is a phishing and confusion vector
// and is treated as an error).
func parseAbsoluteForm(t []byte) (authority []byte, https bool, ok bool) {
	var rest []byte
	switch {
	case len(t) > 7 && equalFold(t[:7], "http://"):
		rest = t[7:]
	case len(t) > 8 && equalFold(t[:8], "https://"):
		rest, https = t[8:], true
	default:
		return nil, false, false
	}
	i := 0
	for i < len(rest) && rest[i] != '/' && rest[i] != '?' {
		i++
	}
	authority = rest[:i]
	host, _, ok := parseAuthority(authority)
	if !ok || len(host) == 0 {
		return nil, false, false
	}
	return authority, https, true
}
