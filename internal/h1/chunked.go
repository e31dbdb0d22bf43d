package h1

import (
	"bytes"
	"math"
	"strconv"
)

// MaxChunkLine bounds a chunk-size line, extensions and CRLF included, in
// bytes. RFC 9112 7.1.1 lets a recipient limit extensions; without a bound
// a peer can make the decoder buffer (or re-scan) an endless line.
const MaxChunkLine = 4096

// chunkState is where a ChunkedDecoder is in chunked-body =
// *chunk last-chunk trailer-section CRLF (RFC 9112 7.1).
type chunkState uint8

const (
	stSize    chunkState = iota // expecting a chunk-size line
	stData                      // inside chunk data; remaining bytes to go
	stDataEnd                   // expecting the CRLF that ends chunk data
	stTrailer                   // after last-chunk: trailer section and final CRLF
	stDone                      // body complete
	stFailed                    // a framing error was returned; it is returned again
)

func (s chunkState) String() string {
	switch s {
	case stSize:
		return "size"
	case stData:
		return "data"
	case stDataEnd:
		return "data-end"
	case stTrailer:
		return "trailer"
	case stDone:
		return "done"
	case stFailed:
		return "failed"
	}
	return "chunkState(" + strconv.Itoa(int(s)) + ")"
}

// ChunkedDecoder is a sans-I/O decoder of the chunked transfer coding
// (RFC 9112 7.1). The zero value is ready; Reset readies it for another
// body and keeps its limits and trailer storage. It is not safe for
// concurrent use: one body, one owner.
type ChunkedDecoder struct {
	state     chunkState
	remaining int64 // stData: bytes of the current chunk not yet returned
	err       error // stFailed: the error to repeat
	lim       Limits
	trailers  []Field
}

// SetLimits bounds the trailer section: MaxHeadBytes its size (trailer
// lines and final CRLF), MaxFields its field count. Zero values mean the
// defaults, as for heads. Reset keeps the limits.
func (d *ChunkedDecoder) SetLimits(lim Limits) { d.lim = lim }

// Reset readies the decoder for a new body.
func (d *ChunkedDecoder) Reset() {
	d.state, d.remaining, d.err = stSize, 0, nil
	d.trailers = d.trailers[:0]
}

// Trailers returns the trailer fields once Next has reported done. They
// alias the input given to that Next call and are valid until the caller
// reuses it. Fields that must not be in a trailer section (RFC 9110 6.5.1:
// framing, routing, ...) are returned as sent, classified by Kind; a
// forwarder drops them (AppendLastChunk does).
func (d *ChunkedDecoder) Trailers() []Field {
	if d.state != stDone {
		return nil
	}
	return d.trailers
}

// Next decodes from in. consumed is how many bytes of in were used. data,
// when non-nil, is chunk payload (a subslice of in) to forward; Next
// returns after each piece of data so the caller can forward it. When the
// last chunk and the trailer section have been consumed, done is true and
// Trailers returns the trailer fields. When in holds no complete unit (a
// chunk-size line, the CRLF after data, or the whole trailer section must
// be complete before they are consumed), Next returns what it could and
// the caller reads more. After an error the body is unusable: Next repeats
// the error until Reset.
func (d *ChunkedDecoder) Next(in []byte) (consumed int, data []byte, done bool, err error) {
	for {
		rest := in[consumed:]
		switch d.state {
		case stSize:
			n, size, err := parseChunkLine(rest)
			if err != nil {
				return consumed, nil, false, d.fail(err)
			}
			if n == 0 {
				return consumed, nil, false, nil
			}
			consumed += n
			if size == 0 {
				d.state = stTrailer // last-chunk
			} else {
				d.state, d.remaining = stData, size
			}
		case stData:
			if len(rest) == 0 {
				return consumed, nil, false, nil
			}
			n := len(rest)
			if int64(n) > d.remaining {
				n = int(d.remaining)
			}
			d.remaining -= int64(n)
			if d.remaining == 0 {
				d.state = stDataEnd
			}
			return consumed + n, rest[:n], false, nil
		case stDataEnd:
			// chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: data of
			// the wrong length is caught here, not silently resynchronised.
			if len(rest) == 0 {
				return consumed, nil, false, nil
			}
			if rest[0] != '\r' {
				if rest[0] == '\n' {
					return consumed, nil, false, d.fail(errBareLF)
				}
				return consumed, nil, false, d.fail(errBadChunkTerminator)
			}
			if len(rest) < 2 {
				return consumed, nil, false, nil
			}
			if rest[1] != '\n' {
				return consumed, nil, false, d.fail(errBadChunkTerminator)
			}
			consumed += 2
			d.state = stSize
		case stTrailer:
			n, err := d.parseTrailers(rest)
			if err != nil {
				return consumed, nil, false, d.fail(err)
			}
			if n == 0 {
				return consumed, nil, false, nil
			}
			d.state = stDone
			return consumed + n, nil, true, nil
		case stDone:
			return consumed, nil, true, nil
		case stFailed:
			return consumed, nil, false, d.err
		default:
			panic("h1: internal error: chunked decoder in state " + d.state.String())
		}
	}
}

// fail makes err sticky: after a framing error nothing that follows in
// the stream can be trusted.
func (d *ChunkedDecoder) fail(err error) error {
	d.state, d.err = stFailed, err
	return err
}

// parseTrailers parses trailer-section CRLF (RFC 9112 7.1.2) once all of
// it is in b, and returns its length, or 0 if it is incomplete.
func (d *ChunkedDecoder) parseTrailers(b []byte) (int, error) {
	max := d.lim.maxHead()
	scan := b
	if len(scan) > max {
		scan = scan[:max]
	}
	end := findHeadEnd(scan, 0)
	if end < 0 {
		if len(b) >= max {
			return 0, errTrailersTooLarge
		}
		return 0, nil
	}
	fields, err := parseFields(b[:end], 0, d.trailers[:0], d.lim.maxFields())
	d.trailers = fields
	if err == errTooManyFields {
		err = errTooManyTrailers
	}
	if err != nil {
		d.trailers = d.trailers[:0]
		return 0, err
	}
	return end, nil
}

// parseChunkLine parses chunk-size [ chunk-ext ] CRLF at the start of b
// and returns the line's length (0 when b does not hold all of it yet) and
// the chunk size.
func parseChunkLine(b []byte) (n int, size int64, err error) {
	scan := b
	if len(scan) > MaxChunkLine {
		scan = scan[:MaxChunkLine]
	}
	lf := bytes.IndexByte(scan, '\n')
	if lf < 0 {
		if len(b) >= MaxChunkLine {
			return 0, 0, errChunkExtTooLong
		}
		return 0, 0, nil
	}
	if lf == 0 || b[lf-1] != '\r' {
		return 0, 0, errBareLF // RFC 9112 7.1: the line ends in CRLF
	}
	line := b[:lf-1]

	// chunk-size = 1*HEXDIG: no sign, no "0x", no leading whitespace;
	// each of those is read as a different size by some implementation.
	i := 0
	for i < len(line) && hexVal[line[i]] != 0xff {
		if size > math.MaxInt64>>4 {
			return 0, 0, errBadChunkSize
		}
		size = size<<4 | int64(hexVal[line[i]])
		i++
	}
	if i == 0 {
		return 0, 0, errBadChunkSize
	}
	if i < len(line) {
		if err := checkChunkExt(line[i:]); err != nil {
			return 0, 0, err
		}
	}
	return lf + 1, size, nil
}

// checkChunkExt validates chunk-ext = *( BWS ";" BWS chunk-ext-name
// [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1). The extensions are
// dropped (they are hop-by-hop), but only after they are known to be well
// formed: a lenient scan is how "5;\n" style line-ending tricks get in.
func checkChunkExt(b []byte) error {
	i := skipOWS(b, 0)
	if i >= len(b) || b[i] != ';' {
		return errBadChunkSize // junk after the size (e.g. "5x", "5 ")
	}
	for i < len(b) {
		if b[i] != ';' {
			return errBadChunkExt
		}
		i = skipOWS(b, i+1)
		s := i
		for i < len(b) && isTchar[b[i]] {
			i++
		}
		if i == s {
			return errBadChunkExt
		}
		i = skipOWS(b, i)
		if i < len(b) && b[i] == '=' {
			i = skipOWS(b, i+1)
			var ok bool
			if i, ok = chunkExtValue(b, i); !ok {
				return errBadChunkExt
			}
			i = skipOWS(b, i)
		}
	}
	return nil
}

// chunkExtValue scans chunk-ext-val = token / quoted-string at b[i] and
// returns the offset after it.
func chunkExtValue(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '"' {
		// quoted-string (RFC 9110 5.6.4)
		for i++; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				return i + 1, true
			case c == '\\':
				if i+1 >= len(b) || !isFieldVchar[b[i+1]] {
					return i, false
				}
				i++
			case !isFieldVchar[c]:
				return i, false
			}
		}
		return i, false
	}
	s := i
	for i < len(b) && isTchar[b[i]] {
		i++
	}
	return i, i > s
}

func skipOWS(b []byte, i int) int {
	for i < len(b) && isOWS(b[i]) {
		i++
	}
	return i
}
