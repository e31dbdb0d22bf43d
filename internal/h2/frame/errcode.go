package frame

import "strconv"

// ErrCode is an HTTP/2 error code carried by RST_STREAM and GOAWAY
// (RFC 9113 section 7). Unknown codes must not trigger special behaviour;
// RFC 9113 7 says they may be treated as INTERNAL_ERROR.
type ErrCode uint32

// Error codes registered by RFC 9113 section 7.
const (
	NoError            ErrCode = 0x0
	ProtocolError      ErrCode = 0x1
	InternalError      ErrCode = 0x2
	FlowControlError   ErrCode = 0x3
	SettingsTimeout    ErrCode = 0x4
	StreamClosed       ErrCode = 0x5
	FrameSizeError     ErrCode = 0x6
	RefusedStream      ErrCode = 0x7
	Cancel             ErrCode = 0x8
	CompressionError   ErrCode = 0x9
	ConnectError       ErrCode = 0xa
	EnhanceYourCalm    ErrCode = 0xb
	InadequateSecurity ErrCode = 0xc
	HTTP11Required     ErrCode = 0xd
)

// String returns the RFC 9113 name of the code (e.g. "PROTOCOL_ERROR"), or
// unknown_0xNN for codes outside the registry.
func (c ErrCode) String() string {
	switch c {
	case NoError:
		return "NO_ERROR"
	case ProtocolError:
		return "PROTOCOL_ERROR"
	case InternalError:
		return "INTERNAL_ERROR"
	case FlowControlError:
		return "FLOW_CONTROL_ERROR"
	case SettingsTimeout:
		return "SETTINGS_TIMEOUT"
	case StreamClosed:
		return "STREAM_CLOSED"
	case FrameSizeError:
		return "FRAME_SIZE_ERROR"
	case RefusedStream:
		return "REFUSED_STREAM"
	case Cancel:
		return "CANCEL"
	case CompressionError:
		return "COMPRESSION_ERROR"
	case ConnectError:
		return "CONNECT_ERROR"
	case EnhanceYourCalm:
		return "ENHANCE_YOUR_CALM"
	case InadequateSecurity:
		return "INADEQUATE_SECURITY"
	case HTTP11Required:
		return "HTTP_1_1_REQUIRED"
	}
	return "unknown_0x" + strconv.FormatUint(uint64(c), 16)
}
