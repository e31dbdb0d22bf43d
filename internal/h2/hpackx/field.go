package hpackx

// Field is one decoded header field. Name and Value alias decoder-owned
// storage: they are valid until the next Decoder.Begin, and the engine
// copies what it keeps.
type Field struct {
	Name, Value []byte
	// Sensitive reports a never-indexed literal (RFC 7541 6.2.3). A proxy
	// must forward such a field with the same representation (RFC 7541
	// 7.1.3), so pass it to Encoder.AppendField as sensitive.
	Sensitive bool
}

// Size is the field's contribution to the header list size, name + value
// + 32 octets (RFC 9113 6.5.2).
func (f Field) Size() int { return len(f.Name) + len(f.Value) + entryOverhead }

// IsPseudo reports whether the field is a pseudo-header (":path", ...).
func (f Field) IsPseudo() bool { return len(f.Name) > 0 && f.Name[0] == ':' }

// String renders "name: value" for tests and debugging. Never log real
// header values (STYLE.md 12).
func (f Field) String() string { return string(f.Name) + ": " + string(f.Value) }
