package frame

import (
	"fmt"
	"testing"
)

func TestStreamID(t *testing.T) {
	tests := []struct {
		id     StreamID
		client bool
		str    string
	}{
		{0, false, "0"},
		{1, true, "1"},
		{2, false, "2"},
		{MaxStreamID, true, "2147483647"},
	}
	for _, tt := range tests {
		if got := tt.id.IsClient(); got != tt.client {
			t.Errorf("StreamID(%d).IsClient() = %v, want %v", tt.id, got, tt.client)
		}
		if got := tt.id.String(); got != tt.str {
			t.Errorf("StreamID(%d).String() = %q, want %q", tt.id, got, tt.str)
		}
	}
}

func TestFrameTypeStringKnown(t *testing.T) {
	want := map[FrameType]string{
		TypeData: "DATA", TypeHeaders: "HEADERS", TypePriority: "PRIORITY",
		TypeRSTStream: "RST_STREAM", TypeSettings: "SETTINGS", TypePushPromise: "PUSH_PROMISE",
		TypePing: "PING", TypeGoAway: "GOAWAY", TypeWindowUpdate: "WINDOW_UPDATE",
		TypeContinuation: "CONTINUATION", TypePriorityUpdate: "PRIORITY_UPDATE",
	}
	for i := range 256 {
		ft := FrameType(i)
		name, known := want[ft]
		if ft.Known() != known {
			t.Errorf("%#x.Known() = %v, want %v", i, ft.Known(), known)
		}
		if !known {
			name = fmt.Sprintf("unknown_0x%x", i)
		}
		if got := ft.String(); got != name {
			t.Errorf("FrameType(%#x).String() = %q, want %q", i, got, name)
		}
	}
}

func TestErrCodeString(t *testing.T) {
	want := []string{
		"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
		"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
		"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
		"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
	}
	for i, name := range want {
		if got := ErrCode(i).String(); got != name {
			t.Errorf("ErrCode(%d).String() = %q, want %q", i, got, name)
		}
	}
	if got := ErrCode(0xe).String(); got != "unknown_0xe" {
		t.Errorf("ErrCode(0xe) = %q", got)
	}
	if got := ErrCode(0xdeadbeef).String(); got != "unknown_0xdeadbeef" {
		t.Errorf("ErrCode(0xdeadbeef) = %q", got)
	}
}

func TestSettingIDString(t *testing.T) {
	tests := []struct {
		id   SettingID
		want string
	}{
		{SettingHeaderTableSize, "SETTINGS_HEADER_TABLE_SIZE"},
		{SettingEnablePush, "SETTINGS_ENABLE_PUSH"},
		{SettingMaxConcurrentStreams, "SETTINGS_MAX_CONCURRENT_STREAMS"},
		{SettingInitialWindowSize, "SETTINGS_INITIAL_WINDOW_SIZE"},
		{SettingMaxFrameSize, "SETTINGS_MAX_FRAME_SIZE"},
		{SettingMaxHeaderListSize, "SETTINGS_MAX_HEADER_LIST_SIZE"},
		{SettingEnableConnectProtocol, "SETTINGS_ENABLE_CONNECT_PROTOCOL"},
		{SettingNoRFC7540Priorities, "SETTINGS_NO_RFC7540_PRIORITIES"},
		{7, "unknown_0x7"},
		{0xffff, "unknown_0xffff"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("SettingID(%d).String() = %q, want %q", tt.id, got, tt.want)
		}
	}
	if got := (Setting{SettingMaxFrameSize, 16384}).String(); got != "SETTINGS_MAX_FRAME_SIZE=16384" {
		t.Errorf("Setting.String() = %q", got)
	}
}

func TestFlagsHas(t *testing.T) {
	f := FlagEndStream | FlagEndHeaders
	if !f.Has(FlagEndStream) || !f.Has(FlagEndHeaders) || !f.Has(FlagEndStream|FlagEndHeaders) {
		t.Error("Has misses set bits")
	}
	if f.Has(FlagPadded) || f.Has(FlagEndStream|FlagPadded) {
		t.Error("Has reports unset bits")
	}
}

func TestErrorStrings(t *testing.T) {
	ce := &ConnError{Code: ProtocolError, Reason: "data_stream_zero"}
	if got, want := ce.Error(), "http2: connection error PROTOCOL_ERROR: data_stream_zero"; got != want {
		t.Errorf("ConnError.Error() = %q, want %q", got, want)
	}
	se := &StreamError{StreamID: 3, Code: FrameSizeError, Reason: "priority_bad_length"}
	if got, want := se.Error(), "http2: stream error on stream 3 FRAME_SIZE_ERROR: priority_bad_length"; got != want {
		t.Errorf("StreamError.Error() = %q, want %q", got, want)
	}
}
