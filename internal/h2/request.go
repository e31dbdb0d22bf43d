package h2

import (
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Request is a validated request head (RFC 9113 8.3.1). Its slices alias
// the decoder's storage and are valid only during Handler.OnRequest.
type Request struct {
	Method    []byte
	Scheme    []byte
	Authority []byte // :authority, or Host when :authority is absent
	Path      []byte
	Protocol  []byte // :protocol (extended CONNECT); nil otherwise

	// Fields are the regular fields, names lowercase, in order received.
	Fields []Field

	ContentLength int64 // -1 when absent
	TETrailers    bool  // te: trailers
	EndStream     bool  // no body follows
	Priority      []byte
}

// Response is a validated response head (client role).
type Response struct {
	Status        int
	Fields        []Field
	ContentLength int64
	EndStream     bool
}

// malformed builds the stream error for a malformed message (RFC 9113
// 8.1.1): RST_STREAM(PROTOCOL_ERROR), never forwarded.
func malformed(id StreamID, reason string) error {
	return &frame.StreamError{StreamID: id, Code: frame.ProtocolError, Reason: reason}
}

// validateRequest checks a request's field block (RFC 9113 8.2, 8.3) and
// fills req. Pseudo-fields must come first, once each, from the request
// set; names must be lowercase tokens; values must not carry CR, LF or
// NUL nor start or end with whitespace; connection-specific fields are
// forbidden; te may only be "trailers".
func validateRequest(id StreamID, fields []Field, req *Request) error {
	if req.Fields == nil {
		req.Fields = fieldLists.Get()
	}
	*req = Request{ContentLength: -1, Fields: req.Fields[:0]}
	var host []byte
	regular := false
	for i := range fields {
		f := &fields[i]
		if err := checkField(id, f); err != nil {
			return err
		}
		name := f.Name
		if len(name) > 0 && name[0] == ':' {
			if regular {
				return malformed(id, "pseudo_after_regular")
			}
			var dst *[]byte
			switch string(name) {
			case ":method":
				dst = &req.Method
			case ":scheme":
				dst = &req.Scheme
			case ":authority":
				dst = &req.Authority
			case ":path":
				dst = &req.Path
			case ":protocol":
				dst = &req.Protocol
			default:
				return malformed(id, "unknown_pseudo")
			}
			if *dst != nil {
				return malformed(id, "duplicate_pseudo")
			}
			*dst = f.Value
			if *dst == nil {
				*dst = emptyValue
			}
			continue
		}
		regular = true
		switch string(name) {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			// RFC 9113 8.2.2: connection-specific fields make it malformed.
			return malformed(id, "connection_specific_field")
		case "te":
			if string(f.Value) != "trailers" {
				return malformed(id, "te_not_trailers")
			}
			req.TETrailers = true
		case "content-length":
			n, ok := parseContentLength(f.Value)
			if !ok || (req.ContentLength >= 0 && req.ContentLength != n) {
				return malformed(id, "bad_content_length")
			}
			req.ContentLength = n
		case "host":
			if host != nil {
				return malformed(id, "duplicate_host")
			}
			host = f.Value
		case "priority":
			req.Priority = f.Value
		}
		req.Fields = append(req.Fields, *f)
	}
	if req.Method == nil {
		return malformed(id, "missing_method")
	}
	if string(req.Method) == "CONNECT" {
		if req.Protocol == nil {
			// RFC 9113 8.5: plain CONNECT has only :method and :authority.
			if req.Scheme != nil || req.Path != nil || req.Authority == nil {
				return malformed(id, "bad_connect")
			}
			return nil
		}
	} else if req.Protocol != nil {
		return malformed(id, "protocol_without_connect")
	}
	if req.Scheme == nil || req.Path == nil {
		return malformed(id, "missing_scheme_or_path")
	}
	if len(req.Path) == 0 {
		return malformed(id, "empty_path")
	}
	// RFC 9113 8.3.1: :path is origin-form or "*" (OPTIONS only).
	if req.Path[0] != '/' && !(string(req.Path) == "*" && string(req.Method) == "OPTIONS") {
		return malformed(id, "bad_path")
	}
	if !isToken(req.Method) {
		return malformed(id, "bad_method")
	}
	if host != nil {
		if req.Authority == nil {
			req.Authority = host
		} else if !equalFoldASCII(host, req.Authority) {
			// RFC 9113 8.3.1: Host must not disagree with :authority.
			return malformed(id, "host_authority_mismatch")
		}
	}
	if len(req.Authority) == 0 {
		return malformed(id, "missing_authority")
	}
	return nil
}

// validateTrailers checks a trailer block: no pseudo-fields (RFC 9113 8.1).
func validateTrailers(id StreamID, fields []Field) error {
	for i := range fields {
		f := &fields[i]
		if err := checkField(id, f); err != nil {
			return err
		}
		if len(f.Name) > 0 && f.Name[0] == ':' {
			return malformed(id, "pseudo_in_trailers")
		}
		switch string(f.Name) {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return malformed(id, "connection_specific_field")
		}
	}
	return nil
}

// validateResponse checks a response's field block (client role).
func validateResponse(id StreamID, fields []Field, resp *Response) error {
	if resp.Fields == nil {
		resp.Fields = fieldLists.Get()
	}
	*resp = Response{ContentLength: -1, Fields: resp.Fields[:0]}
	regular := false
	for i := range fields {
		f := &fields[i]
		if err := checkField(id, f); err != nil {
			return err
		}
		if len(f.Name) > 0 && f.Name[0] == ':' {
			if regular || string(f.Name) != ":status" || resp.Status != 0 {
				return malformed(id, "bad_response_pseudo")
			}
			if len(f.Value) != 3 {
				return malformed(id, "bad_status")
			}
			st := 0
			for _, c := range f.Value {
				if c < '0' || c > '9' {
					return malformed(id, "bad_status")
				}
				st = st*10 + int(c-'0')
			}
			if st < 100 {
				return malformed(id, "bad_status")
			}
			resp.Status = st
			continue
		}
		regular = true
		switch string(f.Name) {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return malformed(id, "connection_specific_field")
		case "content-length":
			n, ok := parseContentLength(f.Value)
			if !ok || (resp.ContentLength >= 0 && resp.ContentLength != n) {
				return malformed(id, "bad_content_length")
			}
			resp.ContentLength = n
		}
		resp.Fields = append(resp.Fields, *f)
	}
	if resp.Status == 0 {
		return malformed(id, "missing_status")
	}
	return nil
}

var emptyValue = []byte{}

// checkField applies RFC 9113 8.2.1: field names are lowercase tokens
// (pseudo-fields start with ':'); values carry no NUL, CR or LF and no
// leading or trailing whitespace.
func checkField(id StreamID, f *Field) error {
	name := f.Name
	if len(name) == 0 {
		return malformed(id, "empty_field_name")
	}
	start := 0
	if name[0] == ':' {
		start = 1
		if len(name) == 1 {
			return malformed(id, "empty_field_name")
		}
	}
	for _, c := range name[start:] {
		if 'A' <= c && c <= 'Z' {
			return malformed(id, "uppercase_field_name")
		}
		if !tokenChar[c] {
			return malformed(id, "bad_field_name")
		}
	}
	v := f.Value
	for _, c := range v {
		if c == 0 || c == '\r' || c == '\n' {
			return malformed(id, "bad_field_value")
		}
	}
	if len(v) > 0 && (isWS(v[0]) || isWS(v[len(v)-1])) {
		return malformed(id, "field_value_whitespace")
	}
	return nil
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }

// tokenChar is RFC 9110 5.6.2 tchar.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
