package frame

import "strconv"

// SettingID identifies a SETTINGS parameter (RFC 9113 6.5.2).
type SettingID uint16

// Settings parameters: RFC 9113 6.5.2, RFC 8441 3 (ENABLE_CONNECT_PROTOCOL)
// and RFC 9218 2.1 (NO_RFC7540_PRIORITIES).
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8
	SettingNoRFC7540Priorities   SettingID = 0x9
)

// String returns the registered name (e.g. "SETTINGS_MAX_FRAME_SIZE"), or
// unknown_0xNN.
func (id SettingID) String() string {
	switch id {
	case SettingHeaderTableSize:
		return "SETTINGS_HEADER_TABLE_SIZE"
	case SettingEnablePush:
		return "SETTINGS_ENABLE_PUSH"
	case SettingMaxConcurrentStreams:
		return "SETTINGS_MAX_CONCURRENT_STREAMS"
	case SettingInitialWindowSize:
		return "SETTINGS_INITIAL_WINDOW_SIZE"
	case SettingMaxFrameSize:
		return "SETTINGS_MAX_FRAME_SIZE"
	case SettingMaxHeaderListSize:
		return "SETTINGS_MAX_HEADER_LIST_SIZE"
	case SettingEnableConnectProtocol:
		return "SETTINGS_ENABLE_CONNECT_PROTOCOL"
	case SettingNoRFC7540Priorities:
		return "SETTINGS_NO_RFC7540_PRIORITIES"
	}
	return "unknown_0x" + strconv.FormatUint(uint64(id), 16)
}

// Setting is one SETTINGS parameter.
type Setting struct {
	ID  SettingID
	Val uint32
}

// String renders "NAME=value".
func (s Setting) String() string {
	return s.ID.String() + "=" + strconv.FormatUint(uint64(s.Val), 10)
}

// MaxWindowSize is the largest flow-control window (RFC 9113 6.9.1).
const MaxWindowSize = 1<<31 - 1

// Valid checks the value ranges RFC 9113 6.5.2 (and the extensions' RFCs)
// impose. Unknown identifiers are valid: RFC 9113 6.5.2 says they MUST be
// ignored.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush:
		// RFC 9113 6.5.2: any value other than 0 or 1 is a connection
		// PROTOCOL_ERROR.
		if s.Val > 1 {
			return connErr(ProtocolError, "settings_enable_push_invalid")
		}
	case SettingInitialWindowSize:
		// RFC 9113 6.5.2: above 2^31-1 is a connection FLOW_CONTROL_ERROR.
		if s.Val > MaxWindowSize {
			return connErr(FlowControlError, "settings_initial_window_size_too_large")
		}
	case SettingMaxFrameSize:
		// RFC 9113 6.5.2: outside [2^14, 2^24-1] is a connection
		// PROTOCOL_ERROR.
		if s.Val < DefaultMaxFrameSize || s.Val > MaxMaxFrameSize {
			return connErr(ProtocolError, "settings_max_frame_size_invalid")
		}
	case SettingEnableConnectProtocol:
		// RFC 8441 3: a value other than 0 or 1 is a connection
		// PROTOCOL_ERROR.
		if s.Val > 1 {
			return connErr(ProtocolError, "settings_enable_connect_protocol_invalid")
		}
	case SettingNoRFC7540Priorities:
		// RFC 9218 2.1: a value other than 0 or 1 is a connection
		// PROTOCOL_ERROR.
		if s.Val > 1 {
			return connErr(ProtocolError, "settings_no_rfc7540_priorities_invalid")
		}
	}
	return nil
}

// settingLen is the size of one parameter on the wire (RFC 9113 6.5.1).
const settingLen = 6

// Settings is a SETTINGS frame (RFC 9113 6.5). Its parameters stay in the
// frame payload and are decoded on access, so parsing allocates nothing
// whatever the count.
type Settings struct {
	// Ack is the ACK flag; an ACK carries no parameters.
	Ack bool
	raw []byte
}

// NumSettings returns the number of parameters in the frame.
func (s Settings) NumSettings() int { return len(s.raw) / settingLen }

// Setting returns parameter i, 0 <= i < NumSettings(). Parameters are
// returned in wire order; RFC 9113 6.5.3 says they MUST be processed in
// that order (a later duplicate wins).
func (s Settings) Setting(i int) Setting {
	b := s.raw[i*settingLen : i*settingLen+settingLen]
	return Setting{
		ID:  SettingID(uint16(b[0])<<8 | uint16(b[1])),
		Val: readUint32(b[2:]),
	}
}

// ForEach calls fn for each parameter in wire order, stopping at the first
// error, which it returns.
func (s Settings) ForEach(fn func(Setting) error) error {
	for i := range s.NumSettings() {
		if err := fn(s.Setting(i)); err != nil {
			return err
		}
	}
	return nil
}

// ParseSettings decodes a SETTINGS payload and validates every parameter
// with Setting.Valid, so the engine can apply the frame knowing all values
// are in range (RFC 9113 6.5.3 asks for the frame to be applied as a unit).
func ParseSettings(h Header, payload []byte) (Settings, error) {
	// RFC 9113 6.5: SETTINGS always applies to the connection; a non-zero
	// stream identifier is a connection PROTOCOL_ERROR.
	if h.StreamID != 0 {
		return Settings{}, connErr(ProtocolError, "settings_nonzero_stream")
	}
	ack := h.Flags.Has(FlagAck)
	// RFC 9113 6.5: an ACK with a payload is a connection FRAME_SIZE_ERROR.
	if ack && len(payload) != 0 {
		return Settings{}, connErr(FrameSizeError, "settings_ack_with_payload")
	}
	// RFC 9113 6.5: a length that is not a multiple of 6 is a connection
	// FRAME_SIZE_ERROR.
	if len(payload)%settingLen != 0 {
		return Settings{}, connErr(FrameSizeError, "settings_bad_length")
	}
	s := Settings{Ack: ack, raw: payload}
	for i := range s.NumSettings() {
		if err := s.Setting(i).Valid(); err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

// AppendSettings appends a SETTINGS frame carrying settings in order. The
// variadic slice does not escape, so callers passing a literal list do not
// allocate.
func AppendSettings(dst []byte, settings ...Setting) []byte {
	dst = appendFrameHeader(dst, TypeSettings, 0, 0, settingLen*len(settings))
	for _, s := range settings {
		dst = append(dst, byte(s.ID>>8), byte(s.ID))
		dst = appendUint32(dst, s.Val)
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with the ACK flag.
func AppendSettingsAck(dst []byte) []byte {
	return appendFrameHeader(dst, TypeSettings, FlagAck, 0, 0)
}

// Append re-encodes s (always on stream 0).
func (s Settings) Append(dst []byte) []byte {
	dst = appendFrameHeader(dst, TypeSettings, flagIf(s.Ack, FlagAck), 0, len(s.raw))
	return append(dst, s.raw...)
}
