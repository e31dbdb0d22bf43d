package hpackx

// Defaults for Limits (DESIGN.md 3.2 and 3.7).
const (
	// DefaultMaxFields is the most fields accepted in one header block.
	DefaultMaxFields = 128
	// DefaultMaxListSize is the largest header list accepted, in octets
	// counted as name + value + 32 per field (RFC 9113 6.5.2).
	DefaultMaxListSize = 64 << 10
	// DefaultMaxTableSize caps the dynamic table size, in octets, that we
	// let a peer's encoder use (and so advertise as
	// SETTINGS_HEADER_TABLE_SIZE).
	DefaultMaxTableSize = 64 << 10
	// InitialTableSize is the dynamic table size both sides assume until
	// SETTINGS say otherwise (RFC 9113 6.5.2 SETTINGS_HEADER_TABLE_SIZE
	// initial value).
	InitialTableSize = 4096
	// entryOverhead is the per-field accounting overhead of RFC 7541 4.1,
	// reused by RFC 9113 6.5.2 for the header list size.
	entryOverhead = 32
)

// Limits bound what one peer can make a Decoder hold. Zero fields take the
// defaults, so the zero Limits is the production configuration and no
// limit is ever infinite.
type Limits struct {
	// MaxFields is the most fields per header block (default 128). Fields
	// past it are decoded but not stored; End reports LimitFields.
	MaxFields int
	// MaxListSize is the largest header list per block in octets, name +
	// value + 32 per field (default 64 KiB). Past it, fields are decoded
	// but not stored; End reports LimitListSize.
	MaxListSize int
	// MaxTableSize caps what SetMaxTableSize accepts, in octets (default
	// 64 KiB). The dynamic table is the only HPACK state that outlives a
	// block, so this is the per-connection memory the peer controls.
	MaxTableSize uint32
}

func (l Limits) withDefaults() Limits {
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxListSize <= 0 {
		l.MaxListSize = DefaultMaxListSize
	}
	if l.MaxTableSize == 0 {
		l.MaxTableSize = DefaultMaxTableSize
	}
	return l
}

// LimitKind says which per-block limit a header block went over.
type LimitKind uint8

// Limit kinds reported by Decoder.End.
const (
	// LimitNone: the block is within every limit.
	LimitNone LimitKind = iota
	// LimitFields: the block had more than Limits.MaxFields fields.
	LimitFields
	// LimitListSize: the block's header list exceeded Limits.MaxListSize.
	LimitListSize
)

// String returns a stable snake_case token for metrics and logs.
func (k LimitKind) String() string {
	switch k {
	case LimitNone:
		return "none"
	case LimitFields:
		return "max_fields"
	case LimitListSize:
		return "max_list_size"
	}
	return "unknown"
}
