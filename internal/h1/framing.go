package h1

import "math"

// framing accumulates, field by field, what the head says about message
// framing and the connection. It is shared by requests, responses and
// nothing else; trailers carry no framing (RFC 9110 6.5.1).
type framing struct {
	request       bool  // Host, Expect and TE mean something only in requests
	contentLength int64 // -1 until a Content-Length field is seen
	hasCL         bool
	hasTE         bool
	chunked       bool
	close         bool // Connection: close
	keepAlive     bool // Connection: keep-alive
	upgradeOpt    bool // Connection: upgrade
	listed        bool // Connection names some other field
	hasUpgrade    bool
	upgrade       []byte
	hasHost       bool
	host          []byte
	expect100     bool
	teTrailers    bool
}

func (fr *framing) reset(request bool) {
	*fr = framing{request: request, contentLength: -1}
}

// field folds one field into the framing state.
func (fr *framing) field(f *Field) error {
	switch f.Kind {
	case KindHost, KindExpect, KindTE:
		if fr.request {
			return fr.requestField(f)
		}
	case KindContentLength:
		if fr.hasCL {
			// RFC 9112 6.3 item 5 lets a recipient accept repeated
			// identical values; we do not, because a front end that picks
			// the first and a back end that picks the last is exactly how
			// CL.CL smuggling works.
			return errDuplicateCL
		}
		fr.hasCL = true
		n, err := parseContentLength(f.Value)
		if err != nil {
			return err
		}
		fr.contentLength = n
	case KindTransferEncoding:
		if fr.hasTE {
			// Two fields are one list (RFC 9110 5.3); whatever they say,
			// chunked would end up absent, repeated or not alone.
			return errBadTE
		}
		fr.hasTE = true
		if err := checkTransferEncoding(f.Value); err != nil {
			return err
		}
		fr.chunked = true
	case KindConnection:
		return fr.connection(f.Value)
	case KindUpgrade:
		if fr.hasUpgrade {
			return errDuplicateUpgrad
		}
		fr.hasUpgrade = true
		fr.upgrade = f.Value
	}
	return nil
}

// requestField folds the fields that only requests give meaning to.
func (fr *framing) requestField(f *Field) error {
	switch f.Kind {
	case KindHost:
		if fr.hasHost {
			// RFC 9112 3.2: a server MUST respond 400 to a request with
			// more than one Host field line.
			return errDuplicateHost
		}
		fr.hasHost = true
		fr.host = f.Value
	case KindExpect:
		forEachElement(f.Value, func(e []byte) {
			if equalFold(e, "100-continue") {
				fr.expect100 = true
			}
		})
	case KindTE:
		forEachElement(f.Value, func(e []byte) {
			if equalFold(beforeParams(e), "trailers") {
				fr.teTrailers = true
			}
		})
	}
	return nil
}

// connection reads the options of a Connection field (RFC 9110 7.6.1).
func (fr *framing) connection(v []byte) error {
	bad := false
	forEachElement(v, func(e []byte) {
		switch {
		case !isToken(e):
			bad = true
		case equalFold(e, "close"):
			fr.close = true
		case equalFold(e, "keep-alive"):
			fr.keepAlive = true
		case equalFold(e, "upgrade"):
			fr.upgradeOpt = true
		default:
			fr.listed = true
		}
	})
	if bad {
		return errBadConnection
	}
	return nil
}

// finish applies the rules that need the whole head.
func (fr *framing) finish(minor int) error {
	if fr.hasTE {
		if fr.hasCL {
			// RFC 9112 6.3 item 3: TE overrides CL, and the message
			// "ought to be handled as an error" because it is the CL.TE /
			// TE.CL smuggling shape. A proxy must not forward it.
			return errCLAndTE
		}
		if minor == 0 {
			// RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding
			// has faulty framing (1.0 recipients do not know chunked).
			return errTEOnHTTP10
		}
	}
	return nil
}

// persistent reports whether the connection survives the exchange
// (RFC 9112 9.3): 1.1 unless "close", 1.0 only with "keep-alive".
func (fr *framing) persistent(minor int) bool {
	if fr.close {
		return false
	}
	return minor >= 1 || fr.keepAlive
}

// upgradeValue is the Upgrade field when Connection lists "upgrade"
// (RFC 9110 7.8: a sender of Upgrade MUST list it; without the option the
// field may have been forwarded by an HTTP/1.0 hop and is ignored, as it is
// in any HTTP/1.0 message).
func (fr *framing) upgradeValue(minor int) []byte {
	if minor == 0 || !fr.upgradeOpt || len(fr.upgrade) == 0 {
		return nil
	}
	return fr.upgrade
}

// parseContentLength parses Content-Length = 1*DIGIT (RFC 9110 8.6).
// Signs, whitespace inside, lists and values over 2^63-1 are errors: each
// is a way two parsers might read different lengths.
func parseContentLength(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, errBadCL
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			if c == ',' {
				return 0, errDuplicateCL // a list, even "5, 5"
			}
			return 0, errBadCL
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, errBadCL
		}
		n = n*10 + d
	}
	return n, nil
}

// checkTransferEncoding accepts exactly one coding, "chunked". RFC 9112
// 6.3 item 4 makes a request whose final coding is not chunked a 400; any
// other coding before chunked would be ours to decode (Transfer-Encoding is
// hop-by-hop, and HTTP/2 has none), and we implement none, so 501 (RFC 9112
// 6.1). Empty list elements, parameters and repeats are refused rather than
// tolerated: tolerance is where parsers disagree.
func checkTransferEncoding(v []byte) error {
	n, chunkedAt, malformed := 0, -1, false
	forEachListMember(v, func(e []byte) {
		if len(e) == 0 || !validCoding(e) {
			malformed = true
		} else if equalFold(e, "chunked") {
			if chunkedAt >= 0 {
				malformed = true
			}
			chunkedAt = n
		}
		n++
	})
	switch {
	case malformed, n == 0, chunkedAt != n-1:
		return errBadTE
	case n > 1:
		return errUnsupportedTE
	}
	return nil
}

// validCoding checks transfer-coding = token *( OWS ";" OWS param ) loosely:
// a token, then anything the field-value rules already allowed.
func validCoding(e []byte) bool {
	return isToken(beforeParams(e))
}

// beforeParams returns the part of a list element before any ";".
func beforeParams(e []byte) []byte {
	for i, c := range e {
		if c == ';' {
			return trimOWS(e[:i])
		}
	}
	return e
}

// forEachElement calls fn for each non-empty, OWS-trimmed element of a
// comma-separated list (RFC 9110 5.6.1: recipients ignore empty elements).
// It does not understand quoted strings; none of the lists read with it
// (Connection, Expect, TE) has a member where that matters.
func forEachElement(v []byte, fn func([]byte)) {
	forEachListMember(v, func(e []byte) {
		if len(e) > 0 {
			fn(e)
		}
	})
}

// forEachListMember is forEachElement including empty members.
func forEachListMember(v []byte, fn func([]byte)) {
	for {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		fn(trimOWS(v[:i]))
		if i == len(v) {
			return
		}
		v = v[i+1:]
	}
}

// markConnectionListed reclassifies as KindConnectionListed every KindOther
// field named by a Connection option (RFC 9110 7.6.1). Fields the proxy
// manages itself keep their kind: a client must not be able to make the
// proxy drop Host, Content-Length, Cookie or the X-Forwarded-*/Forwarded
// fields by listing them (CVE-2022-31813 made Apache mod_proxy strip
// X-Forwarded-For that way).
func markConnectionListed(fields []Field) {
	for i := range fields {
		if fields[i].Kind != KindConnection {
			continue
		}
		forEachElement(fields[i].Value, func(opt []byte) {
			if equalFold(opt, "close") {
				return // the tear-down option, not a field name (RFC 9112 9.6)
			}
			for j := range fields {
				if fields[j].Kind == KindOther && equalFoldBytes(fields[j].Name, opt) {
					fields[j].Kind = KindConnectionListed
				}
			}
		})
	}
}
