package config

import (
	"sort"
	"strings"
	"time"
)

// Defaults of the keys whose default is not derived from another key.
const (
	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultAccessLog       = AccessLogStdout
	defaultAccessLogFormat = "json"

	defaultFrontTimeout           = 60 * time.Second
	defaultRequestTimeout         = 10 * time.Second
	defaultBackTimeout            = 30 * time.Second
	defaultConnectTimeout         = 3 * time.Second
	defaultMaxHeaderBytes         = 16384
	defaultMaxHeaderCount         = 100
	defaultMaxConnections         = 10000
	defaultH2MaxConcurrentStreams = 100
	defaultH2InitialWindowSize    = 1 << 20
	minH2StreamIdleTimeout        = 30 * time.Second
	defaultH2ShutdownDeadline     = 5 * time.Second
	defaultH2SettingsAckTimeout   = 5 * time.Second

	defaultBackendMaxConnsMux    = 4 // h2c and h2: a few multiplexed connections carry many streams
	defaultMaxIdleConnections    = 1024
	defaultIdleConnectionTimeout = 60 * time.Second
	defaultConnectRetries        = 3
	defaultRetryBufferBytes      = 65536
	defaultHealthBackoffMin      = 1 * time.Second
	defaultH2ReadIdleTimeout     = 10 * time.Second
	defaultH2PingTimeout         = 5 * time.Second
	minDefaultHealthBackoffMax   = 30 * time.Second
	defaultWeight                = 100
	defaultPath                  = "/"
	defaultBackendProtocol       = BackendHTTP1
	defaultLoadBalancing         = LBRoundRobin
	defaultPathType              = PathPrefix
	defaultH2C                   = true
	defaultBackendTLSVerify      = true
)

func defaultTLSVersions() []string { return []string{TLS12, TLS13} }
func defaultALPN() []string        { return []string{ALPNH2, ALPNHTTP1} }

// DefaultFloodLimits returns the HTTP/2 abuse limits of DESIGN.md 3.7.
func DefaultFloodLimits() FloodLimits {
	return FloodLimits{
		RSTStreamPerWindow:         100,
		RSTStreamLifetime:          10000,
		RSTStreamAbusiveLifetime:   50,
		RSTStreamEmittedLifetime:   500,
		PendingRSTStreams:          200,
		PingPerWindow:              100,
		PingLifetime:               10000,
		SettingsPerWindow:          50,
		SettingsLifetime:           10000,
		EmptyDataPerWindow:         100,
		WindowUpdateZeroPerWindow:  100,
		ContinuationFrames:         20,
		HeaderListSize:             65536,
		HeaderFields:               128,
		HeaderTableSize:            65536,
		GlitchCount:                100,
		RefusedStreamsBeforeShrink: 50,
		SettingsEntries:            64,
		PriorityEntries:            4096,
	}
}

// NewListener returns a listener with every default applied, as if the file
// held a [[listeners]] table with only address and protocol. Its
// H2StreamIdleTimeout is derived from BackTimeout now; set both if you
// change BackTimeout.
func NewListener(address, protocol string) *Listener {
	l := &Listener{Address: address, Protocol: protocol}
	presetListener(l)
	if protocol != ProtocolHTTP {
		l.H2C = false
	}
	applyListenerDefaults(l)
	return l
}

// NewCluster returns a cluster with every default applied and no frontends
// or backends.
func NewCluster(id string) *Cluster {
	c := &Cluster{ID: id}
	presetCluster(c)
	applyClusterDefaults(c)
	return c
}

// NewFrontend returns a route from a listener address and hostname with
// every default applied (path "/", path_type "prefix").
func NewFrontend(address, hostname string) *Frontend {
	f := &Frontend{Address: address, Hostname: hostname}
	applyFrontendDefaults(f)
	return f
}

// NewBackend returns a backend with every default applied (id = address,
// weight 100).
func NewBackend(address string) *Backend {
	b := &Backend{Address: address}
	presetBackend(b)
	applyBackendDefaults(b)
	return b
}

// presetListener sets the defaults of the listener keys whose zero value is
// a valid setting, so they cannot be filled in by looking for zero fields.
func presetListener(l *Listener) {
	l.H2C = defaultH2C
	l.H2GracefulShutdownDeadline = defaultH2ShutdownDeadline
}

// presetCluster: see presetListener.
func presetCluster(c *Cluster) {
	c.BackendTLSVerify = defaultBackendTLSVerify
	c.ConnectRetries = defaultConnectRetries
	c.RetryBufferBytes = defaultRetryBufferBytes
}

// presetBackend: see presetListener.
func presetBackend(b *Backend) {
	b.Weight = defaultWeight
}

// ApplyDefaults fills every zero field that has a default, normalises
// addresses (canonical host:port) and hostnames (lowercase, no trailing
// dot), and sorts Clusters by ID. It is idempotent.
//
// Fields whose zero value is a valid setting are left alone, because a zero
// there may be deliberate: Listener.H2C, Listener.H2GracefulShutdownDeadline,
// Cluster.BackendTLSVerify, Cluster.ConnectRetries, Cluster.RetryBufferBytes
// and Backend.Weight. Build listeners, clusters and backends with
// NewListener, NewCluster and NewBackend to get their defaults.
func ApplyDefaults(c *Config) {
	if c.LogLevel == "" {
		c.LogLevel = defaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = defaultLogFormat
	}
	if c.AccessLog == "" {
		c.AccessLog = defaultAccessLog
	}
	if c.AccessLogFormat == "" {
		c.AccessLogFormat = defaultAccessLogFormat
	}
	if a, err := canonicalListenAddr(c.MetricsAddress); err == nil {
		c.MetricsAddress = a
	}
	for _, l := range c.Listeners {
		if l != nil {
			applyListenerDefaults(l)
		}
	}
	for _, cl := range c.Clusters {
		if cl != nil {
			applyClusterDefaults(cl)
		}
	}
	sort.SliceStable(c.Clusters, func(i, j int) bool {
		a, b := c.Clusters[i], c.Clusters[j]
		return a != nil && (b == nil || a.ID < b.ID)
	})
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func setInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

func applyListenerDefaults(l *Listener) {
	if a, err := canonicalListenAddr(l.Address); err == nil {
		l.Address = a
	}
	setDur(&l.FrontTimeout, defaultFrontTimeout)
	setDur(&l.RequestTimeout, defaultRequestTimeout)
	setDur(&l.BackTimeout, defaultBackTimeout)
	setDur(&l.ConnectTimeout, defaultConnectTimeout)
	setInt(&l.MaxHeaderBytes, defaultMaxHeaderBytes)
	setInt(&l.MaxHeaderCount, defaultMaxHeaderCount)
	setInt(&l.MaxConnections, defaultMaxConnections)
	if l.H2MaxConcurrentStreams == 0 {
		l.H2MaxConcurrentStreams = defaultH2MaxConcurrentStreams
	}
	if l.H2InitialWindowSize == 0 {
		l.H2InitialWindowSize = defaultH2InitialWindowSize
	}
	// DESIGN.md 3.6: a stream must not be reaped for idleness while its
	// backend is still allowed to think, so the default follows back_timeout.
	setDur(&l.H2StreamIdleTimeout, max(minH2StreamIdleTimeout, l.BackTimeout))
	setDur(&l.H2SettingsAckTimeout, defaultH2SettingsAckTimeout)
	if l.H2Scheduler == "" {
		l.H2Scheduler = H2SchedulerRFC9218
	}

	def := DefaultFloodLimits()
	f := &l.Flood
	setInt(&f.RSTStreamPerWindow, def.RSTStreamPerWindow)
	setInt(&f.RSTStreamLifetime, def.RSTStreamLifetime)
	setInt(&f.RSTStreamAbusiveLifetime, def.RSTStreamAbusiveLifetime)
	setInt(&f.RSTStreamEmittedLifetime, def.RSTStreamEmittedLifetime)
	setInt(&f.PendingRSTStreams, def.PendingRSTStreams)
	setInt(&f.PingPerWindow, def.PingPerWindow)
	setInt(&f.PingLifetime, def.PingLifetime)
	setInt(&f.SettingsPerWindow, def.SettingsPerWindow)
	setInt(&f.SettingsLifetime, def.SettingsLifetime)
	setInt(&f.EmptyDataPerWindow, def.EmptyDataPerWindow)
	setInt(&f.WindowUpdateZeroPerWindow, def.WindowUpdateZeroPerWindow)
	setInt(&f.ContinuationFrames, def.ContinuationFrames)
	setInt(&f.HeaderListSize, def.HeaderListSize)
	setInt(&f.HeaderFields, def.HeaderFields)
	setInt(&f.HeaderTableSize, def.HeaderTableSize)
	setInt(&f.GlitchCount, def.GlitchCount)
	setInt(&f.RefusedStreamsBeforeShrink, def.RefusedStreamsBeforeShrink)
	setInt(&f.SettingsEntries, def.SettingsEntries)
	setInt(&f.PriorityEntries, def.PriorityEntries)

	// TLS keys only have defaults where they apply; on an http listener they
	// stay empty so that Validate can tell a misplaced key. nil is "unset";
	// an empty, non-nil list came from the file ("= []") and is an error.
	if l.Protocol == ProtocolHTTPS {
		if l.TLSVersions == nil {
			l.TLSVersions = defaultTLSVersions()
		}
		if l.ALPNProtocols == nil {
			l.ALPNProtocols = defaultALPN()
		}
	}
}

func applyClusterDefaults(c *Cluster) {
	if c.LoadBalancing == "" {
		c.LoadBalancing = defaultLoadBalancing
	}
	if c.BackendProtocol == "" {
		c.BackendProtocol = defaultBackendProtocol
	}
	// 0 means "unlimited" only for http1; multiplexed protocols need a
	// finite pool, so there 0 is not a valid setting and means "unset".
	if c.BackendMaxConnections == 0 && isMultiplexed(c.BackendProtocol) {
		c.BackendMaxConnections = defaultBackendMaxConnsMux
	}
	setInt(&c.MaxIdleConnections, defaultMaxIdleConnections)
	setDur(&c.IdleConnectionTimeout, defaultIdleConnectionTimeout)
	setDur(&c.HealthBackoffMin, defaultHealthBackoffMin)
	setDur(&c.BackendH2ReadIdleTimeout, defaultH2ReadIdleTimeout)
	setDur(&c.BackendH2PingTimeout, defaultH2PingTimeout)
	setDur(&c.HealthBackoffMax, max(minDefaultHealthBackoffMax, c.HealthBackoffMin))
	for _, f := range c.Frontends {
		if f != nil {
			applyFrontendDefaults(f)
		}
	}
	for _, b := range c.Backends {
		if b != nil {
			applyBackendDefaults(b)
		}
	}
}

func applyFrontendDefaults(f *Frontend) {
	if a, err := canonicalListenAddr(f.Address); err == nil {
		f.Address = a
	}
	f.Hostname = normalizeHostname(f.Hostname)
	if f.Path == "" {
		f.Path = defaultPath
	}
	if f.PathType == "" {
		f.PathType = defaultPathType
	}
}

func applyBackendDefaults(b *Backend) {
	if a, err := canonicalBackendAddr(b.Address); err == nil {
		b.Address = a
	}
	if b.ID == "" {
		b.ID = b.Address
	}
}

// normalizeHostname lowercases a hostname and drops one trailing dot, the
// same normalisation the router applies to request hosts.
func normalizeHostname(h string) string {
	h = strings.ToLower(h)
	if n := len(h); n > 1 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}
