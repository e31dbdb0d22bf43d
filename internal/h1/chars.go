package h1

import "encoding/binary"

// Byte classes, as [256]bool tables so that validation is one load per byte.

const tcharSymbols = "!#$%&'*+-.^_`|~"

// isTchar: token = 1*tchar (RFC 9110 5.6.2). Methods, field names,
// transfer codings and connection options are tokens.
var isTchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for i := 0; i < len(tcharSymbols); i++ {
		t[tcharSymbols[i]] = true
	}
	return t
}()

// isFieldVchar: field-value bytes (RFC 9110 5.5): VCHAR, obs-text, SP and
// HTAB. CR, LF, NUL, the other C0 controls and DEL are not; RFC 9110 5.5
// lets a recipient replace them with SP, but a proxy that did so would
// forward something the sender never sent, so they are rejected.
var isFieldVchar = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] = true
	}
	t['\t'] = true
	return t
}()

// isTargetChar: bytes allowed in a request-target. RFC 3986 is stricter,
// but real clients send unescaped `"`, `{`, `|` and friends, which no server
// reads differently from their escaped form. Controls, SP, DEL and non-ASCII
// are refused (they are what request splitting and path confusion use), and
// so is '#': a fragment is never part of a request-target (RFC 9112 3.2).
var isTargetChar = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	t['#'] = false
	return t
}()

// isRegNameChar: reg-name = *( unreserved / pct-encoded / sub-delims )
// (RFC 3986 3.2.2); '%' is checked for its two hex digits separately.
var isRegNameChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-._~!$&'()*+,;=%" {
		t[c] = true
	}
	return t
}()

// hexVal maps a hex digit to its value and every other byte to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// lower folds ASCII upper case; field names and tokens are compared
// case-insensitively (RFC 9110 5.1) without allocating a lowered copy.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c - 'A' + 'a')
	}
	return t
}()

// isCtl reports the bytes a field name or value must never contain, so the
// rejection can say control_char rather than a vaguer reason.
func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// isOWS: OWS = *( SP / HTAB ) (RFC 9110 5.6.3).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[b[i]] != s[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes reports whether a and b are equal ignoring ASCII case.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

// trimOWS removes leading and trailing OWS.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isToken reports whether b is a non-empty token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTchar[c] {
			return false
		}
	}
	return true
}

// SWAR (SIMD within a register) constants: every byte 0x01 / every byte 0x80.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// skipFieldVchars returns the offset of the first byte at or after i that
// is not a field-value byte (see isFieldVchar). Header values are most of a
// head's bytes, so it checks eight bytes per step: a word passes when no
// byte is below 0x20 and none is DEL. A word holding HTAB (or any stopper)
// falls back to the table for its bytes.
func skipFieldVchars(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		del := w ^ (lsbs * 0x7f) // bytes equal to DEL become zero
		if ((w-lsbs*0x20)&^w|(del-lsbs)&^del)&msbs != 0 {
			break
		}
	}
	for i < len(b) && isFieldVchar[b[i]] {
		i++
	}
	return i
}

// skipTargetChars is skipFieldVchars for request-target bytes (see
// isTargetChar): no byte at or below SP, none at or above DEL, no '#'.
func skipTargetChars(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		del := w ^ (lsbs * 0x7f)
		hash := w ^ (lsbs * '#')
		if ((w-lsbs*0x21)&^w|(del-lsbs)&^del|(hash-lsbs)&^hash|w)&msbs != 0 {
			break
		}
	}
	for i < len(b) && isTargetChar[b[i]] {
		i++
	}
	return i
}

// AppendLower appends b to dst with ASCII letters lowercased: field names
// as HTTP/2 requires them (RFC 9113 8.2.1).
func AppendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
