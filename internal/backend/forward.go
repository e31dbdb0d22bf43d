package backend

import (
	"strconv"

	"github.com/sluice-proxy/sluice/internal/h1"
)

// appendRequestHead serializes the HTTP/1.1 request head sluice sends to a
// backend: the request line, Host, the client's end-to-end fields (hop-by-hop
// ones dropped, RFC 9110 7.6.1), cookies joined into one field (RFC 9113
// 8.2.3 when the client spoke HTTP/2), the X-Forwarded-* and Forwarded
// (RFC 7239) fields extended with this hop, and the body framing sluice
// chose. The client's own framing fields are never forwarded: sluice
// re-frames every body, which is what makes smuggling through it impossible.
func appendRequestHead(dst []byte, r *Request) []byte {
	dst = h1.AppendRequestLine(dst, r.Method, r.Path)
	dst = h1.AppendField(dst, hdrHost, r.Authority)

	cookies, xff, fwd := 0, 0, 0
	for i := range r.Fields {
		f := &r.Fields[i]
		switch f.Kind {
		case h1.KindHost, h1.KindContentLength, h1.KindXForwardedProto, h1.KindXForwardedHost:
			continue
		case h1.KindCookie:
			cookies++
			continue
		case h1.KindXForwardedFor:
			xff++
			continue
		case h1.KindForwarded:
			fwd++
			continue
		}
		if f.Kind.IsHopByHop() {
			continue
		}
		dst = h1.AppendField(dst, f.Name, f.Value)
	}
	if cookies > 0 {
		dst = append(dst, "Cookie: "...)
		dst = appendJoined(dst, r.Fields, h1.KindCookie, "; ")
		dst = append(dst, '\r', '\n')
	}

	dst = append(dst, "X-Forwarded-For: "...)
	if xff > 0 {
		dst = appendJoined(dst, r.Fields, h1.KindXForwardedFor, ", ")
		dst = append(dst, ", "...)
	}
	dst = append(dst, r.ClientIP...)
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	dst = append(dst, r.Scheme...)
	dst = append(dst, "\r\nX-Forwarded-Host: "...)
	dst = append(dst, r.Authority...)
	dst = append(dst, "\r\nForwarded: "...)
	if fwd > 0 {
		dst = appendJoined(dst, r.Fields, h1.KindForwarded, ", ")
		dst = append(dst, ", "...)
	}
	dst = appendForwarded(dst, r)
	dst = append(dst, '\r', '\n')

	switch {
	case r.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, '\r', '\n')
	case r.HasBody:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	if r.Upgrade != nil {
		dst = append(dst, "Connection: upgrade\r\nUpgrade: "...)
		dst = append(dst, r.Upgrade...)
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '\r', '\n')
}

var hdrHost = []byte("Host")

func appendJoined(dst []byte, fields []h1.Field, kind h1.FieldKind, sep string) []byte {
	first := true
	for i := range fields {
		if fields[i].Kind != kind {
			continue
		}
		if !first {
			dst = append(dst, sep...)
		}
		first = false
		dst = append(dst, fields[i].Value...)
	}
	return dst
}

func isIPv6(ip []byte) bool {
	for _, c := range ip {
		if c == ':' {
			return true
		}
	}
	return false
}

// appendForwarded appends this hop's element of a Forwarded field (RFC
// 7239). Values that are not tokens (IPv6 literals, host:port) must be
// quoted (4); quoting every value is always valid.
func appendForwarded(dst []byte, r *Request) []byte {
	dst = append(dst, `for="`...)
	if isIPv6(r.ClientIP) {
		dst = append(dst, '[')
		dst = append(dst, r.ClientIP...)
		dst = append(dst, ']')
	} else {
		dst = append(dst, r.ClientIP...)
	}
	dst = append(dst, `";proto=`...)
	dst = append(dst, r.Scheme...)
	dst = append(dst, `;host="`...)
	dst = append(dst, r.Authority...)
	return append(dst, '"')
}
