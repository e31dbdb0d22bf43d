package h2

// A minimal RFC 8941 (Structured Field Values, updated by RFC 9651)
// Dictionary parser: enough to read a Priority field value without
// allocating. It validates the whole grammar, since a value that does not
// parse must be ignored as a whole (RFC 8941 4.2), but keeps only the
// type and, for Integers, Dates and Booleans, the value of each member.

type sfKind uint8

const (
	sfInteger sfKind = iota + 1
	sfDecimal
	sfString
	sfToken
	sfByteSeq
	sfBoolean
	sfDate          // RFC 9651 3.3.7
	sfDisplayString // RFC 9651 3.3.8
	sfInnerList
)

// sfItem is a parsed member value: its type and, for Integer and Date,
// the number; for Boolean, 0 or 1.
type sfItem struct {
	kind sfKind
	num  int64
}

type sfParser struct {
	b []byte
	i int
}

func (p *sfParser) more() bool { return p.i < len(p.b) }

func (p *sfParser) at(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

func (p *sfParser) skipSP() {
	for p.at(' ') {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.more() && (p.b[p.i] == ' ' || p.b[p.i] == '\t') {
		p.i++
	}
}

// dictionary parses a whole field value as a Dictionary (RFC 8941 4.2,
// 4.2.2), calling member for each member in order. An empty value is an
// empty Dictionary.
func (p *sfParser) dictionary(member func(key []byte, it sfItem)) bool {
	p.skipSP()
	if !p.more() {
		return true
	}
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		var it sfItem
		if p.at('=') {
			p.i++
			if p.at('(') {
				if !p.innerList() {
					return false
				}
				it.kind = sfInnerList
			} else if !p.item(&it) {
				return false
			}
		} else {
			// A member without a value is the Boolean true.
			it = sfItem{kind: sfBoolean, num: 1}
			if !p.parameters() {
				return false
			}
		}
		member(key, it)
		p.skipOWS()
		if !p.more() {
			return true
		}
		if p.b[p.i] != ',' {
			return false
		}
		p.i++
		p.skipOWS()
		if !p.more() {
			return false // a trailing comma
		}
	}
}

// key parses a key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *sfParser) key() ([]byte, bool) {
	start := p.i
	if !p.more() || !(isLower(p.b[p.i]) || p.b[p.i] == '*') {
		return nil, false
	}
	p.i++
	for p.more() {
		c := p.b[p.i]
		if !isLower(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
		p.i++
	}
	return p.b[start:p.i], true
}

// item parses a bare item and its parameters.
func (p *sfParser) item(it *sfItem) bool {
	return p.bareItem(it) && p.parameters()
}

// parameters parses *( ";" *SP key [ "=" bare-item ] ); they are ignored.
func (p *sfParser) parameters() bool {
	for p.at(';') {
		p.i++
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.at('=') {
			p.i++
			var it sfItem
			if !p.bareItem(&it) {
				return false
			}
		}
	}
	return true
}

// innerList parses "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters.
func (p *sfParser) innerList() bool {
	p.i++ // "("
	for p.more() {
		p.skipSP()
		if p.at(')') {
			p.i++
			return p.parameters()
		}
		var it sfItem
		if !p.item(&it) {
			return false
		}
		if !p.at(' ') && !p.at(')') {
			return false
		}
	}
	return false
}

func (p *sfParser) bareItem(it *sfItem) bool {
	if !p.more() {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '-' || isDigit(c):
		return p.number(it)
	case c == '"':
		it.kind = sfString
		return p.str()
	case c == '*' || isAlpha(c):
		it.kind = sfToken
		p.i++
		for p.more() && (isTChar(p.b[p.i]) || p.b[p.i] == ':' || p.b[p.i] == '/') {
			p.i++
		}
		return true
	case c == ':':
		it.kind = sfByteSeq
		return p.byteSeq()
	case c == '?':
		p.i++
		if p.at('0') || p.at('1') {
			it.kind, it.num = sfBoolean, int64(p.b[p.i]-'0')
			p.i++
			return true
		}
		return false
	case c == '@':
		p.i++
		if !p.number(it) || it.kind != sfInteger {
			return false
		}
		it.kind = sfDate
		return true
	case c == '%':
		it.kind = sfDisplayString
		return p.displayString()
	}
	return false
}

// number parses an Integer or a Decimal (RFC 8941 4.2.4): at most 15
// integer digits; a Decimal has at most 12 before the dot and 1 to 3
// after it.
func (p *sfParser) number(it *sfItem) bool {
	neg := p.at('-')
	if neg {
		p.i++
	}
	if !p.more() || !isDigit(p.b[p.i]) {
		return false
	}
	start, dot := p.i, -1
	var n int64
	for p.more() {
		c := p.b[p.i]
		switch {
		case isDigit(c):
			if dot < 0 {
				n = n*10 + int64(c-'0')
			}
		case c == '.' && dot < 0:
			if p.i-start > 12 {
				return false
			}
			dot = p.i
		default:
			goto done
		}
		p.i++
		if dot < 0 && p.i-start > 15 || dot >= 0 && p.i-start > 16 {
			return false
		}
	}
done:
	if dot >= 0 {
		if frac := p.i - dot - 1; frac < 1 || frac > 3 {
			return false
		}
		it.kind = sfDecimal
		return true
	}
	if neg {
		n = -n
	}
	it.kind, it.num = sfInteger, n
	return true
}

// str parses a String: DQUOTE *( %x20-21 / %x23-5B / %x5D-7E / "\" ( DQUOTE / "\" ) ) DQUOTE.
func (p *sfParser) str() bool {
	p.i++ // DQUOTE
	for p.more() {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '\\':
			if !p.at('"') && !p.at('\\') {
				return false
			}
			p.i++
		case c == '"':
			return true
		case c < 0x20 || c > 0x7e:
			return false
		}
	}
	return false
}

// byteSeq parses ":" *( base64 ) ":".
func (p *sfParser) byteSeq() bool {
	p.i++ // ":"
	for p.more() {
		c := p.b[p.i]
		p.i++
		if c == ':' {
			return true
		}
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return false
		}
	}
	return false
}

// displayString parses "%" DQUOTE *( unescaped / "\" / pct-encoded ) DQUOTE
// (RFC 9651 4.2.10), percent-escapes in lowercase hex.
func (p *sfParser) displayString() bool {
	p.i++ // "%"
	if !p.at('"') {
		return false
	}
	p.i++
	for p.more() {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '%':
			if p.i+2 > len(p.b) || !isLowerHex(p.b[p.i]) || !isLowerHex(p.b[p.i+1]) {
				return false
			}
			p.i += 2
		case c == '"':
			return true
		case c < 0x20 || c > 0x7e:
			return false
		}
	}
	return false
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isLower(c byte) bool    { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool    { return isLower(c) || 'A' <= c && c <= 'Z' }
func isLowerHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' }

// isTChar: RFC 9110 5.6.2 token characters.
func isTChar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
