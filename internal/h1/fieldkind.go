package h1

import "strconv"

// Field is one header or trailer field. Name and Value alias the parsed
// buffer; Value has leading and trailing OWS trimmed (RFC 9110 5.5).
type Field struct {
	Name, Value []byte
	Kind        FieldKind // classification of Name, computed during parsing
}

// FieldKind classifies a field name so that the proxy can route, re-frame
// and strip fields with a switch instead of string comparisons.
type FieldKind uint8

// The field kinds. KindOther is every name the proxy has no rule for.
const (
	KindOther FieldKind = iota
	KindHost
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindKeepAlive
	KindUpgrade
	KindTE
	KindTrailer
	KindProxy // "proxy" and any name starting "proxy-" (Proxy-Connection, Proxy-Authorization, ...)
	KindHTTP2Settings
	KindExpect
	KindXForwardedFor
	KindXForwardedProto
	KindXForwardedHost
	KindForwarded
	KindCookie
	KindPriority
	// KindConnectionListed is a field that a Connection header of the same
	// message names as a connection option: hop-by-hop (RFC 9110 7.6.1).
	// Only KindOther fields are ever reclassified this way; see
	// markConnectionListed for why.
	KindConnectionListed

	numKinds
)

var kindNames = [numKinds]string{
	KindOther:            "other",
	KindHost:             "host",
	KindContentLength:    "content-length",
	KindTransferEncoding: "transfer-encoding",
	KindConnection:       "connection",
	KindKeepAlive:        "keep-alive",
	KindUpgrade:          "upgrade",
	KindTE:               "te",
	KindTrailer:          "trailer",
	KindProxy:            "proxy",
	KindHTTP2Settings:    "http2-settings",
	KindExpect:           "expect",
	KindXForwardedFor:    "x-forwarded-for",
	KindXForwardedProto:  "x-forwarded-proto",
	KindXForwardedHost:   "x-forwarded-host",
	KindForwarded:        "forwarded",
	KindCookie:           "cookie",
	KindPriority:         "priority",
	KindConnectionListed: "connection-listed",
}

// String returns the lower-case field name the kind stands for.
func (k FieldKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// IsHopByHop reports whether a proxy must drop this field when forwarding
// (RFC 9110 7.6.1): Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade,
// Trailer, Proxy-*, HTTP2-Settings, and fields listed in Connection.
// HTTP2-Settings belongs to the h2c upgrade of one connection (RFC 7540
// 3.2.1); Proxy-* fields are addressed to a forward proxy, never to the
// origin behind a reverse proxy.
func (k FieldKind) IsHopByHop() bool {
	switch k {
	case KindConnection, KindKeepAlive, KindTE, KindTransferEncoding, KindUpgrade,
		KindTrailer, KindProxy, KindHTTP2Settings, KindConnectionListed:
		return true
	case KindOther, KindHost, KindContentLength, KindExpect, KindXForwardedFor,
		KindXForwardedProto, KindXForwardedHost, KindForwarded, KindCookie, KindPriority:
		return false
	}
	return false
}

// ClassifyName returns the kind of a field name, ignoring ASCII case. The
// parsers call it for every field; other producers of Fields (the HTTP/2
// side) call it so that their Fields carry the same classification.
func ClassifyName(name []byte) FieldKind {
	if len(name) < 2 {
		return KindOther
	}
	switch lower[name[0]] {
	case 'c':
		switch len(name) {
		case 6:
			if equalFold(name, "cookie") {
				return KindCookie
			}
		case 10:
			if equalFold(name, "connection") {
				return KindConnection
			}
		case 14:
			if equalFold(name, "content-length") {
				return KindContentLength
			}
		}
	case 'e':
		if equalFold(name, "expect") {
			return KindExpect
		}
	case 'f':
		if equalFold(name, "forwarded") {
			return KindForwarded
		}
	case 'h':
		switch len(name) {
		case 4:
			if equalFold(name, "host") {
				return KindHost
			}
		case 14:
			if equalFold(name, "http2-settings") {
				return KindHTTP2Settings
			}
		}
	case 'k':
		if equalFold(name, "keep-alive") {
			return KindKeepAlive
		}
	case 'p':
		if len(name) == 8 && equalFold(name, "priority") {
			return KindPriority
		}
		if len(name) == 5 && equalFold(name, "proxy") ||
			len(name) >= 6 && equalFold(name[:6], "proxy-") {
			return KindProxy
		}
	case 't':
		switch len(name) {
		case 2:
			if equalFold(name, "te") {
				return KindTE
			}
		case 7:
			if equalFold(name, "trailer") {
				return KindTrailer
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				return KindTransferEncoding
			}
		}
	case 'u':
		if equalFold(name, "upgrade") {
			return KindUpgrade
		}
	case 'x':
		switch len(name) {
		case 15:
			if equalFold(name, "x-forwarded-for") {
				return KindXForwardedFor
			}
		case 16:
			if equalFold(name, "x-forwarded-host") {
				return KindXForwardedHost
			}
		case 17:
			if equalFold(name, "x-forwarded-proto") {
				return KindXForwardedProto
			}
		}
	}
	return KindOther
}
