package hpackx

import (
	"errors"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Per-block scratch of idle decoders (Release), shared by every
// connection: a connection that goes idle between requests reuses it
// instead of growing new slabs each time.
var (
	slabs     = bufpool.Slices[byte]{MaxCap: 64 << 10, Plain: true}
	recLists  = bufpool.Slices[fieldRec]{MaxCap: 1024, Plain: true}
	fieldSets = bufpool.Slices[Field]{MaxCap: 1024}
)

// Decoder decodes the header blocks one peer sends on one connection. Use
// Begin, then Write for the HEADERS (or PUSH_PROMISE) fragment and each
// CONTINUATION fragment, then End.
//
// The engine enforces the per-block byte and CONTINUATION-count limits
// before calling Write; Decoder enforces field count and header list size.
type Decoder struct {
	dec    *hpack.Decoder
	limits Limits

	// Per-block state, reset by Begin. Names and values are appended to
	// slab and located by offsets in recs; the []Field view is built only
	// in End, so slab may grow (and move) while the block is decoded.
	slab     []byte
	recs     []fieldRec
	fields   []Field
	listSize int
	over     LimitKind
	inBlock  bool

	// err is sticky: after a COMPRESSION_ERROR the HPACK state is lost and
	// the connection must close.
	err error
}

// fieldRec locates one field in the slab: name is slab[start:mid], value
// is slab[mid:end].
type fieldRec struct {
	start, mid, end uint32
	sensitive       bool
}

// NewDecoder returns a decoder with the given limits (zero fields take
// the defaults). Until SetMaxTableSize is called the peer may use the
// protocol's initial table size, 4096 octets (RFC 9113 6.5.2).
func NewDecoder(l Limits) *Decoder {
	d := &Decoder{limits: l.withDefaults()}
	d.dec = hpack.NewDecoder(InitialTableSize, d.emit)
	return d
}

// SetMaxTableSize records the SETTINGS_HEADER_TABLE_SIZE we advertised,
// capped at Limits.MaxTableSize: a dynamic table size update from the peer
// above it is then a COMPRESSION_ERROR (RFC 7541 4.2, 6.3). Raising the
// value may be done when the SETTINGS frame is sent; lowering it should
// wait for the peer's SETTINGS ACK (RFC 9113 6.5.3), since until then the
// peer may still use the old size. It returns the value in effect, which
// is what the engine should advertise.
func (d *Decoder) SetMaxTableSize(n uint32) uint32 {
	n = min(n, d.limits.MaxTableSize)
	d.dec.SetAllowedMaxDynamicTableSize(n)
	return n
}

// Begin starts a new header block. Fields returned by the previous End
// become invalid.
func (d *Decoder) Begin() {
	if d.inBlock && d.err == nil {
		// The previous block was abandoned mid-way; its partial input
		// must not leak into this one. The connection is normally
		// already closing in that case.
		_ = d.dec.Close()
	}
	if d.slab == nil {
		d.slab, d.recs, d.fields = slabs.Get(), recLists.Get(), fieldSets.Get()
	}
	d.slab = d.slab[:0]
	d.recs = d.recs[:0]
	clear(d.fields) // drop references into the slab
	d.fields = d.fields[:0]
	d.listSize = 0
	d.over = LimitNone
	d.inBlock = true
	d.dec.SetEmitEnabled(true)
}

// Write decodes one field block fragment. Fragments may split a field
// anywhere; x/net buffers the partial field. Errors are
// *frame.ConnError{COMPRESSION_ERROR} (RFC 9113 4.3: a field block that
// cannot be decoded is a connection error).
func (d *Decoder) Write(fragment []byte) error {
	if !d.inBlock {
		panic("hpackx: internal error: Write outside a header block (missing Begin)")
	}
	if d.err != nil {
		return d.err
	}
	if _, err := d.dec.Write(fragment); err != nil {
		d.err = compressionError(err)
		return d.err
	}
	return nil
}

// End finishes the block. fields holds the decoded fields in order; when
// over is not LimitNone the block broke that limit, fields holds only
// those decoded before it, and the request must not be forwarded (the
// engine answers with a stream error or 431). A truncated block (a field
// split across the end) is a COMPRESSION_ERROR.
func (d *Decoder) End() (fields []Field, over LimitKind, err error) {
	if !d.inBlock {
		panic("hpackx: internal error: End outside a header block (missing Begin)")
	}
	d.inBlock = false
	if d.err != nil {
		return nil, LimitNone, d.err
	}
	if err := d.dec.Close(); err != nil {
		d.err = compressionError(err)
		return nil, LimitNone, d.err
	}
	for _, r := range d.recs {
		d.fields = append(d.fields, Field{
			Name:      d.slab[r.start:r.mid:r.mid],
			Value:     d.slab[r.mid:r.end:r.end],
			Sensitive: r.sensitive,
		})
	}
	return d.fields, d.over, nil
}

// Release gives the per-block buffers back so an idle connection holds
// only the HPACK dynamic table itself; the next block takes some again.
func (d *Decoder) Release() {
	if d.inBlock {
		return // the block's fields live in them
	}
	slabs.Put(d.slab)
	recLists.Put(d.recs)
	fieldSets.Put(d.fields)
	d.slab, d.recs, d.fields = nil, nil, nil
	// x/net keeps an empty slice of the last fragment it parsed, which
	// pins the caller's read buffer; an empty Write drops it.
	d.dec.Write(nil)
}

// emit receives each decoded field from x/net, copies it into the slab
// and enforces the per-block limits. Once a limit is hit, emission is
// switched off: x/net keeps parsing (and updating the dynamic table) but
// skips Huffman-decoding literals it does not need to index.
func (d *Decoder) emit(hf hpack.HeaderField) {
	// RFC 9113 6.5.2 / DESIGN.md 3.7 "HPACK bomb": cap fields per block.
	if len(d.recs) >= d.limits.MaxFields {
		d.stop(LimitFields)
		return
	}
	// RFC 9113 6.5.2: list size is name + value + 32 per field.
	size := len(hf.Name) + len(hf.Value) + entryOverhead
	if d.listSize+size > d.limits.MaxListSize {
		d.stop(LimitListSize)
		return
	}
	d.listSize += size
	start := uint32(len(d.slab))
	d.slab = append(d.slab, hf.Name...)
	mid := uint32(len(d.slab))
	d.slab = append(d.slab, hf.Value...)
	d.recs = append(d.recs, fieldRec{start: start, mid: mid, end: uint32(len(d.slab)), sensitive: hf.Sensitive})
}

func (d *Decoder) stop(k LimitKind) {
	d.over = k
	d.dec.SetEmitEnabled(false)
}

// compressionError maps an x/net decoding failure to the connection
// error the engine sends, with a stable reason for the metric label. x/net
// types only the invalid-index case; the other reasons are told apart by
// its message, and an unrecognised message falls back to hpack_malformed
// (the code, COMPRESSION_ERROR, is what the peer sees either way).
func compressionError(err error) error {
	reason := "hpack_malformed"
	var de hpack.DecodingError
	switch {
	case errors.As(err, &de):
		var idx hpack.InvalidIndexError
		switch {
		case errors.As(de.Err, &idx):
			reason = "hpack_invalid_index"
		case strings.Contains(de.Err.Error(), "table size update too large"):
			reason = "hpack_table_size_update_too_large"
		case strings.Contains(de.Err.Error(), "table size update MUST occur at the beginning"):
			reason = "hpack_table_size_update_misplaced"
		case strings.Contains(de.Err.Error(), "truncated"):
			reason = "hpack_truncated"
		}
	case errors.Is(err, hpack.ErrInvalidHuffman):
		reason = "hpack_invalid_huffman"
	case errors.Is(err, hpack.ErrStringLength):
		reason = "hpack_string_too_long"
	}
	return &frame.ConnError{Code: frame.CompressionError, Reason: reason}
}
