package h1

import (
	"encoding/binary"
	"math/bits"
)

// maxLeadingEmptyLines bounds the empty lines skipped before a start line.
// RFC 9112 2.2 asks a server to ignore "at least one" (clients used to send
// a stray CRLF after a POST body); more than a few is not a client bug but a
// way to keep a connection busy, so it is an error.
const maxLeadingEmptyLines = 8

// locateHead finds the head at the start of buf: it skips leading empty
// lines and returns the offset of the start line and the end of the head
// (just past its empty line). The scan looks for line feeds only; whether
// every line ends in CRLF is checked by the validating pass, so that a head
// with bare LFs is rejected as such rather than waited on forever.
func locateHead(buf []byte, maxHead int) (start, end int, err error) {
	start, err = skipEmptyLines(buf)
	if err == nil {
		scan := buf
		if len(scan) > maxHead {
			scan = scan[:maxHead]
		}
		if start < len(scan) {
			if end = findHeadEnd(scan, start); end > 0 {
				return start, end, nil
			}
		}
		err = ErrIncomplete
	}
	if err == ErrIncomplete && len(buf) >= maxHead {
		// Whatever follows, the head would exceed the limit (RFC 9112 2.3
		// leaves it to the server; 431 is RFC 6585 5).
		return 0, 0, errHeadTooLarge
	}
	return 0, 0, err
}

// skipEmptyLines returns the offset of the first byte after the CRLFs that
// may precede a start line (RFC 9112 2.2).
func skipEmptyLines(buf []byte) (int, error) {
	i := 0
	for n := 0; ; n++ {
		if i >= len(buf) {
			return 0, ErrIncomplete
		}
		switch buf[i] {
		case '\n':
			// RFC 9112 2.2 lets a recipient accept a bare LF as a line
			// terminator; a proxy must not, or it frames differently from
			// a stricter server behind it.
			return 0, errBareLF
		case '\r':
			if i+1 >= len(buf) {
				return 0, ErrIncomplete
			}
			if buf[i+1] != '\n' {
				return 0, errControlChar // bare CR (RFC 9112 2.2)
			}
			if n == maxLeadingEmptyLines {
				return 0, errEmptyLines
			}
			i += 2
		default:
			return i, nil
		}
	}
}

// findHeadEnd returns the offset just past the first empty line at or after
// pos, where pos begins a line, or -1 if buf holds no empty line yet. A bare
// "\n" counts as an empty line here so that the validating pass sees (and
// rejects) heads that use bare LFs instead of waiting on them until the
// size limit.
//
// It looks for line feeds eight bytes at a time: a head has a dozen or so
// lines, and one call of bytes.IndexByte per line costs more than this.
func findHeadEnd(buf []byte, pos int) int {
	if pos >= len(buf) {
		return -1
	}
	if buf[pos] == '\n' {
		return pos + 1
	}
	if buf[pos] == '\r' && pos+1 < len(buf) && buf[pos+1] == '\n' {
		// An empty line right at pos (an empty trailer section): without
		// this check the scan below would run on into whatever follows
		// (a pipelined request) and end the head there.
		return pos + 2
	}
	i := pos
	for {
		i = indexLF(buf, i)
		if i < 0 {
			return -1
		}
		i++ // the line after this LF starts at i
		if i < len(buf) {
			switch buf[i] {
			case '\n':
				return i + 1
			case '\r':
				if i+1 < len(buf) && buf[i+1] == '\n' {
					return i + 2
				}
			}
		}
	}
}

// indexLF returns the offset of the first '\n' at or after i, or -1.
func indexLF(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		x := binary.LittleEndian.Uint64(buf[i:]) ^ (lsbs * '\n')
		// The lowest flagged byte of this zero-byte test is exact (false
		// positives only appear above a true zero byte).
		if m := (x - lsbs) &^ x & msbs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(buf); i++ {
		if buf[i] == '\n' {
			return i
		}
	}
	return -1
}

// parseFields parses the field lines of a located head from pos to the
// empty line that ends it, appending to fields. head ends with that empty
// line, so every scan below stops inside it; the bounds checks are for
// the reader's and the fuzzer's peace of mind.
func parseFields(head []byte, pos int, fields []Field, maxFields int) ([]Field, error) {
	for pos < len(head) {
		switch c := head[pos]; c {
		case '\r':
			if pos+1 < len(head) && head[pos+1] == '\n' {
				if pos+2 != len(head) {
					// locateHead and this walk disagree on where the head
					// ends: that is a framing bug, never a peer mistake.
					panic("h1: internal error: empty line inside a located head")
				}
				return fields, nil
			}
			return fields, errControlChar
		case '\n':
			return fields, errBareLF
		case ' ', '\t':
			// RFC 9112 5.2: obs-fold is rejected (a server MAY, a proxy in
			// front of servers that unfold differently must). The same
			// check rejects whitespace between the start line and the first
			// field (RFC 9112 2.2).
			return fields, errObsFold
		}
		if len(fields) >= maxFields {
			return fields, errTooManyFields
		}
		// Parse in place: returning a Field by value and appending it
		// costs more than the parse of a short line.
		fields = append(fields, Field{})
		next, err := parseField(head, pos, &fields[len(fields)-1])
		if err != nil {
			return fields[:len(fields)-1], err
		}
		pos = next
	}
	panic("h1: internal error: located head has no empty line")
}

// parseField parses one field line starting at b[i] (RFC 9112 5:
// field-line = field-name ":" OWS field-value OWS, then CRLF) and returns
// the offset of the next line.
func parseField(b []byte, i int, f *Field) (int, error) {
	start := i
	for i < len(b) && isTchar[b[i]] {
		i++
	}
	if i >= len(b) || b[i] != ':' || i == start {
		return 0, fieldNameError(b, i)
	}
	name := b[start:i]
	i++
	for i < len(b) && isOWS(b[i]) {
		i++
	}
	vs := i
	i = skipFieldVchars(b, i)
	if i+1 >= len(b) || b[i] != '\r' || b[i+1] != '\n' {
		if i < len(b) && b[i] == '\n' {
			return 0, errBareLF
		}
		// RFC 9110 5.5: CR, LF and NUL are invalid in a field value; so is
		// any other control but HTAB.
		return 0, errControlChar
	}
	value := b[vs:i]
	for len(value) > 0 && isOWS(value[len(value)-1]) {
		value = value[:len(value)-1]
	}
	f.Name, f.Value, f.Kind = name, value, ClassifyName(name)
	return i + 2, nil
}

// fieldNameError explains why the field name ending at b[i] is bad.
func fieldNameError(b []byte, i int) error {
	if i >= len(b) {
		return errBadFieldName
	}
	switch c := b[i]; {
	case c == ':':
		return errBadFieldName // empty name
	case isOWS(c):
		// RFC 9112 5.1: no whitespace is allowed between the field name
		// and the colon; a server MUST reject such a message with 400
		// because proxies that accept it disagree on the name.
		for i < len(b) && isOWS(b[i]) {
			i++
		}
		if i < len(b) && b[i] == ':' {
			return errSpaceBefore
		}
		return errBadFieldName
	case c == '\n':
		return errBareLF
	case c == '\r':
		if i+1 < len(b) && b[i+1] == '\n' {
			return errBadFieldName // a line without a colon
		}
		return errControlChar
	case isCtl(c):
		return errControlChar
	}
	return errBadFieldName
}
