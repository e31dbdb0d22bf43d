package config

import (
	"fmt"
	"time"
)

// bounds is the accepted range of a numeric key, in the unit the file uses.
type bounds struct {
	min, max int64
	unit     string // "seconds", "bytes" or ""
}

func (b bounds) contains(v int64) bool { return v >= b.min && v <= b.max }

// msg is the text of an out-of-range error; got is the offending value as
// the user wrote it (or as code set it).
func (b bounds) msg(got string) string {
	u := ""
	if b.unit != "" {
		u = " " + b.unit
	}
	return fmt.Sprintf("must be between %d and %d%s, got %s", b.min, b.max, u, got)
}

// limits is the range of every numeric key, by TOML key. The decoder checks
// file values against it; Validate checks structs built in code against it.
// A key whose range depends on another key (backend_max_connections) holds
// its widest range here and the narrower one is checked in validate.go.
var limits = map[string]bounds{
	// Listener timeouts (DESIGN.md 3.6). Every one is finite: no key turns a
	// timeout off, so no connection can be immortal.
	"front_timeout":                         {1, 86400, "seconds"},
	"request_timeout":                       {1, 3600, "seconds"},
	"back_timeout":                          {1, 86400, "seconds"},
	"connect_timeout":                       {1, 300, "seconds"},
	"h2_stream_idle_timeout_seconds":        {1, 86400, "seconds"},
	"h2_graceful_shutdown_deadline_seconds": {0, 86400, "seconds"},
	"h2_settings_ack_timeout_seconds":       {1, 300, "seconds"},

	"max_header_bytes":       {1024, 1 << 20, "bytes"},
	"max_header_count":       {1, 1024, ""},
	"max_connections":        {1, 10_000_000, ""},
	"max_connections_per_ip": {0, 10_000_000, ""},

	// RFC 9113 6.5.2: MAX_CONCURRENT_STREAMS is any uint32, but 0 would
	// refuse every stream; 10000 bounds per-connection memory.
	"h2_max_concurrent_streams": {1, 10000, ""},
	// RFC 9113 6.5.2 / 6.9.2: the window may not exceed 2^31-1; below the
	// protocol default of 65535 would only slow every upload down.
	"h2_initial_window_size": {65535, 1<<31 - 1, "bytes"},

	// Flood limits (DESIGN.md 3.7). Each must be at least 1: a limit of 0
	// would end every connection at its first frame of that kind.
	"h2_max_rst_stream_per_window":            {1, 100_000, ""},
	"h2_max_rst_stream_lifetime":              {1, 10_000_000, ""},
	"h2_max_rst_stream_abusive_lifetime":      {1, 1_000_000, ""},
	"h2_max_rst_stream_emitted_lifetime":      {1, 1_000_000, ""},
	"h2_max_pending_rst_streams":              {1, 100_000, ""},
	"h2_max_ping_per_window":                  {1, 100_000, ""},
	"h2_max_ping_lifetime":                    {1, 10_000_000, ""},
	"h2_max_settings_per_window":              {1, 100_000, ""},
	"h2_max_settings_lifetime":                {1, 10_000_000, ""},
	"h2_max_empty_data_per_window":            {1, 100_000, ""},
	"h2_max_window_update_stream0_per_window": {1, 100_000, ""},
	"h2_max_continuation_frames":              {1, 1000, ""},
	"h2_max_header_list_size":                 {1024, 16 << 20, "bytes"},
	"h2_max_header_fields":                    {1, 1024, ""},
	// RFC 9113 6.5.2: a peer may use a 4096-byte table before it has seen
	// our SETTINGS, so advertising less only invites COMPRESSION_ERROR races.
	"h2_max_header_table_size":         {4096, 1 << 20, "bytes"},
	"h2_max_glitch_count":              {1, 1_000_000, ""},
	"h2_refused_streams_before_shrink": {1, 1_000_000, ""},
	// A client's first SETTINGS legitimately carries every parameter it
	// knows (seven in RFC 9113 and its extensions).
	"h2_max_settings_entries": {8, 10_000, ""},
	"h2_max_priority_entries": {1, 1_000_000, ""},

	// Clusters.
	"backend_max_connections":      {0, 100_000, ""},
	"max_idle_connections":         {1, 10_000, ""},
	"idle_connection_timeout":      {1, 86400, "seconds"},
	"connect_retries":              {0, 100, ""},
	"retry_buffer_bytes":           {0, 16 << 20, "bytes"},
	"health_backoff_min":           {1, 3600, "seconds"},
	"backend_h2_read_idle_timeout": {1, 3600, "seconds"},
	"backend_h2_ping_timeout":      {1, 300, "seconds"},
	"health_backoff_max":           {1, 3600, "seconds"},

	// Backends.
	"weight": {0, 1000, ""},
}

// durationOK checks a duration built in code. Code may use sub-second
// durations (tests do), so a minimum of one second only means "positive";
// the file, whose unit is whole seconds, is held to the exact range by the
// decoder.
func durationOK(b bounds, d time.Duration) bool {
	if d > time.Duration(b.max)*time.Second {
		return false
	}
	if b.min > 0 {
		return d > 0
	}
	return d >= 0
}

// seconds renders a duration as the file would spell it.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprint(int64(d / time.Second))
	}
	return d.String()
}
