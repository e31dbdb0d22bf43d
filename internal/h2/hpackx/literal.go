package hpackx

import "golang.org/x/net/http2/hpack"

// Fields whose values are nearly unique per message are never added to the
// dynamic table: indexing them costs an owned copy (an allocation) and
// evicts entries that would have been reused, for almost no compression
// gain. This is the set nghttp2's deflater excludes. The values are the
// names' indexes in the static table (RFC 7541 Appendix A), so the name
// still costs one or two octets.
var noIndexNames = map[string]uint64{
	":path":             4,
	"age":               21,
	"content-length":    28,
	"etag":              34,
	"if-modified-since": 40,
	"if-none-match":     41,
	"location":          46,
	"set-cookie":        55,
}

// Static table entries (RFC 7541 Appendix A) for :path values, which a
// fully indexed representation can send in one octet.
const (
	staticPathRoot  = 4 // ":path: /"
	staticPathIndex = 5 // ":path: /index.html"
)

// appendNoIndex encodes a literal field without indexing and with an
// indexed name (RFC 7541 6.2.2), or an indexed field (6.1) when the
// static table has the exact pair. Literal without indexing leaves the
// dynamic table unchanged, so x/net's Encoder state stays valid.
func appendNoIndex(dst []byte, nameIdx uint64, value []byte) []byte {
	if nameIdx == staticPathRoot {
		switch string(value) {
		case "/":
			return appendVarInt(dst, 7, 0x80, staticPathRoot)
		case "/index.html":
			return appendVarInt(dst, 7, 0x80, staticPathIndex)
		}
	}
	dst = appendVarInt(dst, 4, 0x00, nameIdx)
	return appendString(dst, value)
}

// appendString encodes a string literal (RFC 7541 5.2), Huffman-coded
// when that is shorter, as x/net does.
func appendString(dst []byte, v []byte) []byte {
	s := unsafeString(v) // read only during the call
	if n := hpack.HuffmanEncodeLength(s); n < uint64(len(s)) {
		dst = appendVarInt(dst, 7, 0x80, n)
		return hpack.AppendHuffmanString(dst, s)
	}
	dst = appendVarInt(dst, 7, 0x00, uint64(len(v)))
	return append(dst, v...)
}

// appendVarInt encodes v as an HPACK integer with an n-bit prefix (RFC
// 7541 5.1); first carries the representation's pattern bits above the
// prefix.
func appendVarInt(dst []byte, n uint8, first byte, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(limit))
	v -= limit
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}
