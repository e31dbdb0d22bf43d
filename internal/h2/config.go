package h2

import (
	"sync"
	"time"
)

// Role is the engine's side of the connection.
type Role uint8

// Roles: a Server accepts streams from a client (the frontend); a Client
// opens streams toward a server (a backend connection).
const (
	Server Role = iota
	Client
)

func (r Role) String() string {
	if r == Server {
		return "server"
	}
	return "client"
}

// Config is one connection's settings. Zero fields take the defaults noted.
type Config struct {
	Role Role

	// MaxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS we
	// advertise: streams the peer may open (default 100; a client engine
	// advertises it too, servers cannot push so it does not matter).
	MaxConcurrentStreams uint32
	// InitialWindowSize is the per-stream receive window we advertise
	// (SETTINGS_INITIAL_WINDOW_SIZE, default 1 MiB).
	InitialWindowSize uint32
	// ConnWindowSize is the connection receive window we open right after
	// the preface with a WINDOW_UPDATE (default 1 MiB; RFC 9113 6.9.2 starts
	// it at 65,535, too small for throughput).
	ConnWindowSize uint32
	// MaxFrameSize is the SETTINGS_MAX_FRAME_SIZE we advertise (default
	// 16,384, the RFC's initial value).
	MaxFrameSize uint32
	// HeaderTableSize is the HPACK table our decoder uses and advertises
	// (default 4,096, the RFC's initial value).
	HeaderTableSize uint32
	// SettingsAckTimeout: our SETTINGS unacknowledged after this ends the
	// connection with SETTINGS_TIMEOUT (RFC 9113 6.5.3; default 5 s).
	SettingsAckTimeout time.Duration
	// StreamIdleTimeout is the per-stream reaper deadline: bidirectional
	// silence, or a send window stalled without 16 KiB of progress
	// (DESIGN.md 3.6; default 30 s).
	StreamIdleTimeout time.Duration
	// HeaderBlockTimeout bounds one field block: a HEADERS frame whose
	// CONTINUATION frames do not complete it within this ends the
	// connection (a slow loris trickling its headers; DESIGN.md 3.7 bounds
	// it by the request timeout; default 10 s).
	HeaderBlockTimeout time.Duration

	Flood FloodLimits
}

// FloodLimits bound what one peer may make the engine do (DESIGN.md 3.7).
// Per-window counters use a 1 s window that halves on roll, so an attacker
// cannot reset them by pausing; lifetime counters never decay.
type FloodLimits struct {
	RSTStreamPerWindow         int // Rapid Reset, CVE-2023-44487: 100
	RSTStreamLifetime          int // 10,000
	RSTStreamAbusiveLifetime   int // resets of streams whose response had not started: 50
	RSTStreamEmittedLifetime   int // MadeYouReset, CVE-2025-8671: our non-NO_ERROR resets, 500
	PendingRSTStreams          int // our resets queued and not yet written: 200
	PingPerWindow              int // CVE-2019-9512: 100
	PingLifetime               int // 10,000
	SettingsPerWindow          int // CVE-2019-9515: 50
	SettingsLifetime           int // 10,000
	SettingsEntries            int // entries in one SETTINGS frame: 64
	EmptyDataPerWindow         int // CVE-2019-9518: 100
	WindowUpdateZeroPerWindow  int // stream-0 WINDOW_UPDATE: 100
	ContinuationFrames         int // CVE-2024-27316, per header block: 20
	HeaderBlockBytes           int // per header block across CONTINUATION: 64 KiB
	HeaderListSize             int // name + value + 32 per field: 64 KiB
	HeaderFields               int // per block: 128
	HeaderTableSize            int // HPACK table the peer may make our encoder keep: 64 KiB
	GlitchCount                int // other protocol glitches: 100
	RefusedStreamsBeforeShrink int // refusals in 60 s before MCS is halved: 50
	PriorityEntries            int // remembered priorities for unopened streams: 4,096
}

func (c *Config) setDefaults() {
	u := func(v *uint32, d uint32) {
		if *v == 0 {
			*v = d
		}
	}
	u(&c.MaxConcurrentStreams, 100)
	u(&c.InitialWindowSize, 1<<20)
	u(&c.ConnWindowSize, 1<<20)
	u(&c.MaxFrameSize, 16384)
	u(&c.HeaderTableSize, 4096)
	if c.SettingsAckTimeout <= 0 {
		c.SettingsAckTimeout = 5 * time.Second
	}
	if c.StreamIdleTimeout <= 0 {
		c.StreamIdleTimeout = 30 * time.Second
	}
	if c.HeaderBlockTimeout <= 0 {
		c.HeaderBlockTimeout = 10 * time.Second
	}
	c.Flood.SetDefaults()
}

// SetDefaults fills zero limits with the DESIGN.md 3.7 defaults.
func (f *FloodLimits) SetDefaults() {
	d := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	d(&f.RSTStreamPerWindow, 100)
	d(&f.RSTStreamLifetime, 10000)
	d(&f.RSTStreamAbusiveLifetime, 50)
	d(&f.RSTStreamEmittedLifetime, 500)
	d(&f.PendingRSTStreams, 200)
	d(&f.PingPerWindow, 100)
	d(&f.PingLifetime, 10000)
	d(&f.SettingsPerWindow, 50)
	d(&f.SettingsLifetime, 10000)
	d(&f.SettingsEntries, 64)
	d(&f.EmptyDataPerWindow, 100)
	d(&f.WindowUpdateZeroPerWindow, 100)
	d(&f.ContinuationFrames, 20)
	d(&f.HeaderBlockBytes, 64<<10)
	d(&f.HeaderListSize, 64<<10)
	d(&f.HeaderFields, 128)
	d(&f.HeaderTableSize, 64<<10)
	d(&f.GlitchCount, 100)
	d(&f.RefusedStreamsBeforeShrink, 50)
	d(&f.PriorityEntries, 4096)
}

// Connections with the same settings share one Config: a listener's or a
// backend's thousands of connections would otherwise each carry a copy
// (208 bytes, enough to push Conn into a larger size class). A Config is
// never changed after NewConn.
var configs struct {
	sync.Mutex
	m map[Config]*Config
}

// maxInternedConfigs bounds the set across reloads; when it is full it
// starts afresh (connections keep the Config they hold).
const maxInternedConfigs = 256

// internConfig returns the shared copy of cfg (defaults already applied).
func internConfig(cfg Config) *Config {
	configs.Lock()
	defer configs.Unlock()
	if p, ok := configs.m[cfg]; ok {
		return p
	}
	if configs.m == nil || len(configs.m) >= maxInternedConfigs {
		configs.m = make(map[Config]*Config)
	}
	p := &cfg
	configs.m[cfg] = p
	return p
}
