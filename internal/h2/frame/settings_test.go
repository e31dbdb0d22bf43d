package frame

import (
	"bytes"
	"errors"
	"testing"
)

func TestSettingsRoundTrip(t *testing.T) {
	all := []Setting{
		{SettingHeaderTableSize, 65536},
		{SettingEnablePush, 0},
		{SettingMaxConcurrentStreams, 100},
		{SettingInitialWindowSize, MaxWindowSize},
		{SettingMaxFrameSize, MaxMaxFrameSize},
		{SettingMaxHeaderListSize, 65536},
		{SettingEnableConnectProtocol, 1},
		{SettingNoRFC7540Priorities, 1},
		{0xabcd, 0xffffffff}, // unknown: ignored, not an error (RFC 9113 6.5.2)
	}
	tests := []struct {
		name string
		wire []byte
		ack  bool
		want []Setting
	}{
		{"empty", AppendSettings(nil), false, nil},
		{"ack", AppendSettingsAck(nil), true, nil},
		{"one", AppendSettings(nil, Setting{SettingMaxFrameSize, DefaultMaxFrameSize}), false, []Setting{{SettingMaxFrameSize, DefaultMaxFrameSize}}},
		{"all", AppendSettings(nil, all...), false, all},
		// RFC 9113 6.5.3: duplicates are processed in order, last wins.
		{"duplicates", AppendSettings(nil, Setting{SettingEnablePush, 1}, Setting{SettingEnablePush, 0}), false,
			[]Setting{{SettingEnablePush, 1}, {SettingEnablePush, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, p := parseOne(t, tt.wire)
			s, err := ParseSettings(h, p)
			if err != nil {
				t.Fatal(err)
			}
			if s.Ack != tt.ack || s.NumSettings() != len(tt.want) {
				t.Fatalf("ack=%v n=%d, want ack=%v n=%d", s.Ack, s.NumSettings(), tt.ack, len(tt.want))
			}
			var seen []Setting
			if err := s.ForEach(func(x Setting) error { seen = append(seen, x); return nil }); err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if s.Setting(i) != w || seen[i] != w {
					t.Fatalf("setting %d = %v / %v, want %v", i, s.Setting(i), seen[i], w)
				}
			}
			if again := s.Append(nil); !bytes.Equal(again, tt.wire) {
				t.Fatalf("re-encoded %x, want %x", again, tt.wire)
			}
		})
	}
	want := []byte{0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100}
	if got := AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 100}); !bytes.Equal(got, want) {
		t.Fatalf("wire %x, want %x", got, want)
	}
	if got := AppendSettingsAck(nil); !bytes.Equal(got, []byte{0, 0, 0, 4, 1, 0, 0, 0, 0}) {
		t.Fatalf("ack wire %x", got)
	}
}

func TestSettingsForEachStops(t *testing.T) {
	h, p := parseOne(t, AppendSettings(nil, Setting{1, 1}, Setting{2, 0}, Setting{3, 3}))
	s, _ := ParseSettings(h, p)
	stop := errors.New("stop")
	calls := 0
	err := s.ForEach(func(Setting) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("ForEach returned %v after %d calls", err, calls)
	}
}

func TestSettingValid(t *testing.T) {
	tests := []struct {
		s      Setting
		code   ErrCode // 0 with empty reason: valid
		reason string
	}{
		{Setting{SettingHeaderTableSize, 0xffffffff}, 0, ""},
		{Setting{SettingEnablePush, 0}, 0, ""},
		{Setting{SettingEnablePush, 1}, 0, ""},
		{Setting{SettingEnablePush, 2}, ProtocolError, "settings_enable_push_invalid"},
		{Setting{SettingMaxConcurrentStreams, 0}, 0, ""},
		{Setting{SettingInitialWindowSize, MaxWindowSize}, 0, ""},
		{Setting{SettingInitialWindowSize, MaxWindowSize + 1}, FlowControlError, "settings_initial_window_size_too_large"},
		{Setting{SettingMaxFrameSize, DefaultMaxFrameSize - 1}, ProtocolError, "settings_max_frame_size_invalid"},
		{Setting{SettingMaxFrameSize, DefaultMaxFrameSize}, 0, ""},
		{Setting{SettingMaxFrameSize, MaxMaxFrameSize}, 0, ""},
		{Setting{SettingMaxFrameSize, MaxMaxFrameSize + 1}, ProtocolError, "settings_max_frame_size_invalid"},
		{Setting{SettingMaxHeaderListSize, 0}, 0, ""},
		{Setting{SettingEnableConnectProtocol, 2}, ProtocolError, "settings_enable_connect_protocol_invalid"},
		{Setting{SettingNoRFC7540Priorities, 2}, ProtocolError, "settings_no_rfc7540_priorities_invalid"},
		{Setting{0x7, 0xffffffff}, 0, ""},
	}
	for _, tt := range tests {
		err := tt.s.Valid()
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%v: unexpected %v", tt.s, err)
			}
			continue
		}
		wantConnErr(t, err, tt.code, tt.reason)
		// ParseSettings rejects the whole frame for one bad value.
		h, p := parseOne(t, AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 10}, tt.s))
		_, err = ParseSettings(h, p)
		wantConnErr(t, err, tt.code, tt.reason)
	}
}

func TestSettingsErrors(t *testing.T) {
	six := make([]byte, 6)
	tests := []struct {
		name   string
		h      Header
		p      []byte
		code   ErrCode
		reason string
	}{
		// RFC 9113 6.5
		{"nonzero_stream", Header{Type: TypeSettings, StreamID: 1}, nil, ProtocolError, "settings_nonzero_stream"},
		{"ack_with_payload", Header{Type: TypeSettings, Flags: FlagAck}, six, FrameSizeError, "settings_ack_with_payload"},
		{"bad_length", Header{Type: TypeSettings}, make([]byte, 7), FrameSizeError, "settings_bad_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.h.Length = uint32(len(tt.p))
			_, err := ParseSettings(tt.h, tt.p)
			wantConnErr(t, err, tt.code, tt.reason)
		})
	}
}

func TestSettingsTruncated(t *testing.T) {
	wire := AppendSettings(nil, Setting{SettingHeaderTableSize, 4096}, Setting{SettingMaxConcurrentStreams, 100})
	for k, err := range truncations(t, wire) {
		if k%6 == 0 {
			if err != nil {
				t.Fatalf("length %d: %v", k, err)
			}
			continue
		}
		wantConnErr(t, err, FrameSizeError, "settings_bad_length")
	}
}
