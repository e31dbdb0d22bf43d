package h2

import (
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// FloodKind names a flood defence; it is the `kind` label of
// sluice_h2_flood_violations_total.
type FloodKind string

// Flood kinds (DESIGN.md 3.7).
const (
	FloodRSTWindow        FloodKind = "rst_stream_window"   // Rapid Reset, CVE-2023-44487
	FloodRSTLifetime      FloodKind = "rst_stream_lifetime" // Rapid Reset, slow and steady
	FloodRSTAbusive       FloodKind = "rst_stream_abusive"  // resets before the response started
	FloodRSTEmitted       FloodKind = "rst_stream_emitted"  // MadeYouReset, CVE-2025-8671
	FloodRSTPending       FloodKind = "rst_stream_pending"  // our resets piling up unwritten
	FloodPingWindow       FloodKind = "ping_window"         // CVE-2019-9512
	FloodPingLifetime     FloodKind = "ping_lifetime"
	FloodSettingsWindow   FloodKind = "settings_window" // CVE-2019-9515
	FloodSettingsLifetime FloodKind = "settings_lifetime"
	FloodSettingsEntries  FloodKind = "settings_entries"
	FloodEmptyData        FloodKind = "empty_data"          // CVE-2019-9518
	FloodWindowUpdateZero FloodKind = "window_update_conn"  // stream-0 WINDOW_UPDATE
	FloodContinuation     FloodKind = "continuation_frames" // CVE-2024-27316
	FloodHeaderBlock      FloodKind = "header_block_bytes"
	FloodGlitches         FloodKind = "glitches"
	FloodSlowHeaders      FloodKind = "slow_headers" // a field block trickled past HeaderBlockTimeout (slow loris)
)

// window is a per-1 s counter that halves on each roll instead of
// resetting: an attacker who pauses between bursts keeps half its score,
// so steady abuse converges on the limit rather than dodging it.
type window struct {
	count int
	start time.Time
}

const floodWindow = time.Second

// add counts one event at now and returns the count in the window.
func (w *window) add(now time.Time) int {
	if w.start.IsZero() {
		w.start = now
	}
	for elapsed := now.Sub(w.start); elapsed >= floodWindow && w.count > 0; elapsed -= floodWindow {
		w.count /= 2
		w.start = w.start.Add(floodWindow)
	}
	if now.Sub(w.start) >= floodWindow {
		w.start = now
	}
	w.count++
	return w.count
}

// floodState is one connection's abuse counters.
type floodState struct {
	rstWindow      window
	rstLifetime    int
	rstAbusive     int
	rstEmitted     int
	rstPending     int
	pingWindow     window
	pingLifetime   int
	settingsWindow window
	settingsLife   int
	emptyData      window
	wuZero         window
	wuReturned     int64 // DATA octets whose connection credit came back (stream-0 WINDOW_UPDATE)
	glitches       int

	// Refusal back-pressure: refusals within refuseSpan halve the MCS we
	// advertise (DESIGN.md 3.2).
	refusals     int
	refusedSince time.Time
}

const refuseSpan = 60 * time.Second

// errFlood builds the GOAWAY(ENHANCE_YOUR_CALM) a flood earns.
func errFlood(kind FloodKind) error {
	return &floodError{kind: kind}
}

// floodError is a connection error caused by a flood limit; it carries the
// kind for the metric.
type floodError struct{ kind FloodKind }

func (e *floodError) Error() string { return "http2: flood limit exceeded: " + string(e.kind) }

func (e *floodError) connError() *frame.ConnError {
	return &frame.ConnError{Code: frame.EnhanceYourCalm, Reason: "flood_" + string(e.kind)}
}

// glitch counts a protocol oddity that is legal alone but abusive in bulk
// (frames on closed streams, unknown settings, unsolicited ACKs, ...).
func (c *Conn) glitch(reason string) error {
	c.flood.glitches++
	c.stats.Glitches++
	if c.flood.glitches > c.cfg.Flood.GlitchCount {
		return errFlood(FloodGlitches)
	}
	return nil
}
