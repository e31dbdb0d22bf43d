package hpackx

import "golang.org/x/net/http2/hpack"

// MaxEncoderTableSize caps the dynamic table our encoders use, in octets,
// whatever larger SETTINGS_HEADER_TABLE_SIZE a peer advertises: the table
// is memory we hold per connection, and gains past a few KiB are small.
const MaxEncoderTableSize = 64 << 10

// sensitiveCookieLen: cookies shorter than this are encoded never-indexed,
// since short secrets are the ones an attacker can guess through
// compression ratios (RFC 7541 7.1.3; nghttp2 uses the same threshold).
const sensitiveCookieLen = 20

// Encoder encodes the header blocks we send on one connection.
type Encoder struct {
	enc *hpack.Encoder
	out sink
	// pending is set by SetPeerMaxTableSize and cleared by the next field
	// x/net encodes: x/net emits the dynamic table size update (RFC 7541
	// 6.3) in front of that field, which must therefore be the first of
	// the next block and go through x/net.
	pending bool
	cache   internCache
	// scratch holds a copy of a field x/net will not index, so the string
	// x/net reads aliases our memory, not the caller's: the caller's
	// slices then do not escape, and a stack buffer (say, digits from
	// strconv.AppendInt) stays on the stack.
	scratch []byte
}

// maxScratch bounds the scratch buffer kept between calls; a rare larger
// field gets a one-off buffer.
const maxScratch = 16 << 10

// sink collects x/net's output into the caller's slice.
type sink struct{ buf []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// NewEncoder returns an encoder using the initial table size of 4096
// octets (RFC 9113 6.5.2) until SetPeerMaxTableSize says otherwise.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = hpack.NewEncoder(&e.out)
	e.enc.SetMaxDynamicTableSizeLimit(MaxEncoderTableSize)
	e.cache.budget = 2 * InitialTableSize
	return e
}

// SetPeerMaxTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE,
// capped at MaxEncoderTableSize. Call it between header blocks: the size
// update it causes is emitted at the start of the next block, as RFC 7541
// 4.2 requires.
func (e *Encoder) SetPeerMaxTableSize(n uint32) {
	n = min(n, MaxEncoderTableSize)
	if n == e.enc.MaxDynamicTableSize() {
		return
	}
	e.enc.SetMaxDynamicTableSize(n)
	e.pending = true
	e.cache.budget = 2 * max(int(n), InitialTableSize)
}

// AppendField appends the encoding of one field to dst (the engine frames
// the result into HEADERS/CONTINUATION). name and value are not retained.
// sensitive selects a never-indexed literal (RFC 7541 6.2.3), which a
// proxy must preserve for fields that arrived that way (RFC 7541 7.1.3);
// credentials are made sensitive here even when the caller does not ask.
func (e *Encoder) AppendField(dst []byte, name, value []byte, sensitive bool) []byte {
	sensitive = sensitive || isSensitive(name, value)
	if !sensitive && !e.pending {
		if idx, ok := noIndexNames[string(name)]; ok {
			return appendNoIndex(dst, idx, value)
		}
	}
	var f hpack.HeaderField
	if sensitive || len(name)+len(value)+entryOverhead > int(e.enc.MaxDynamicTableSize()) {
		// x/net will not index this field (it is never-indexed, or
		// larger than the whole table), so it keeps neither string and
		// a view of scratch is enough.
		e.scratch = append(append(e.scratch[:0], name...), value...)
		both := unsafeString(e.scratch)
		f = hpack.HeaderField{Name: both[:len(name)], Value: both[len(name):], Sensitive: sensitive}
	} else {
		f = hpack.HeaderField{Name: e.cache.get(name), Value: e.cache.get(value)}
	}
	e.out.buf = dst
	_ = e.enc.WriteField(f) // sink.Write never fails
	dst = e.out.buf
	e.out.buf = nil
	e.pending = false
	if cap(e.scratch) > maxScratch {
		e.scratch = nil
	}
	return dst
}

// isSensitive reports fields that carry credentials and so must never be
// indexed, here or by any intermediary downstream (RFC 7541 7.1.3).
func isSensitive(name, value []byte) bool {
	switch string(name) {
	case "authorization", "proxy-authorization":
		return true
	case "cookie":
		return len(value) < sensitiveCookieLen
	}
	return false
}
