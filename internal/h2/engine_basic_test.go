package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

func TestGreet(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.wantNoFrame()
	if st.err != nil {
		t.Fatal(st.err)
	}
	if len(st.c.settingsSentAt) != 0 {
		t.Fatalf("our SETTINGS still unacknowledged after the ACK")
	}
}

// TestGreetSettingsValues: the SETTINGS we open with advertise the
// configured values (DESIGN.md 3.2) and the WINDOW_UPDATE enlarges the
// connection window to ConnWindowSize.
func TestGreetSettingsValues(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.MaxConcurrentStreams = 7; c.InitialWindowSize = 1000 })
	s := st.wantSettings()
	want := map[frame.SettingID]uint32{
		frame.SettingMaxConcurrentStreams: 7,
		frame.SettingInitialWindowSize:    1000,
		frame.SettingMaxFrameSize:         16384,
		frame.SettingHeaderTableSize:      4096,
		frame.SettingMaxHeaderListSize:    64 << 10,
		frame.SettingEnablePush:           0,
		frame.SettingNoRFC7540Priorities:  1,
	}
	got := map[frame.SettingID]uint32{}
	for i := range s.NumSettings() {
		got[s.Setting(i).ID] = s.Setting(i).Val
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%v = %d, want %d", id, got[id], v)
		}
	}
	if inc := st.wantWindowUpdate(0); inc != 1<<20-65535 {
		t.Errorf("connection WINDOW_UPDATE %d, want %d", inc, 1<<20-65535)
	}
}

func TestSimpleRequestResponse(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, true, reqFields("user-agent", "test"))
	r := st.h.request(1)
	if r.method != "GET" || r.path != "/" || r.authority != "example.com" || r.scheme != "https" || !r.endStream {
		t.Fatalf("request %+v", r)
	}
	if !contains(r.fields, "user-agent: test") {
		t.Fatalf("fields %v", r.fields)
	}
	st.respond(1, 200, false, "content-type", "text/plain")
	fields := st.wantStatus(1, "200", false)
	if !contains(fields, "content-type: text/plain") {
		t.Fatalf("head %v", fields)
	}
	st.queue(1, []byte("hello"))
	st.endStream(1)
	if d := st.wantData(1, false); string(d) != "hello" {
		t.Fatalf("data %q", d)
	}
	// The END_STREAM queued separately goes out as an empty DATA frame.
	if d := st.wantData(1, true); len(d) != 0 {
		t.Fatalf("data %q", d)
	}
	st.wantClosed(1, frame.NoError)
	st.wantNoFrame()
	if st.c.ActiveStreams() != 0 {
		t.Fatalf("%d streams left", st.c.ActiveStreams())
	}
}
