package h1

// Limits bounds what a parser accepts. Both bounds are finite by default:
// an unbounded head is a memory exhaustion attack (slow loris with a
// never-ending header section), and a huge field count is a CPU attack on
// everything downstream that iterates fields.
type Limits struct {
	// MaxHeadBytes bounds the start line, all field lines and the final
	// CRLF, plus any empty lines skipped before a request-line, in bytes.
	// For a ChunkedDecoder it bounds the trailer section. 0 means 16384.
	MaxHeadBytes int
	// MaxFields bounds the number of field lines (or trailer fields).
	// 0 means 100.
	MaxFields int
}

// Default limits; see Limits.
const (
	DefaultMaxHeadBytes = 16384
	DefaultMaxFields    = 100
)

func (l Limits) maxHead() int {
	if l.MaxHeadBytes <= 0 {
		return DefaultMaxHeadBytes
	}
	return l.MaxHeadBytes
}

func (l Limits) maxFields() int {
	if l.MaxFields <= 0 {
		return DefaultMaxFields
	}
	return l.MaxFields
}
