package state

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Document is a configuration in the config file's shape: the same keys,
// the same nesting, every value spelled as in the file (durations in whole
// seconds, paths as file paths). It is what the admin API shows as the
// live state (JSON) and what the saved state holds (TOML, readable by
// config.Load), so one set of names serves the file, the API and the
// saved state.
//
// Every key is present, defaults included, except the optional ones that
// are unset (omitempty): two processes with the same live state produce
// byte-identical documents.
type Document struct {
	LogLevel         string                 `json:"log_level" toml:"log_level"`
	LogFormat        string                 `json:"log_format" toml:"log_format"`
	AccessLog        string                 `json:"access_log" toml:"access_log"`
	AccessLogFormat  string                 `json:"access_log_format" toml:"access_log_format"`
	AdminSocket      string                 `json:"admin_socket,omitempty" toml:"admin_socket,omitempty"`
	AdminAllowedUIDs []int                  `json:"admin_allowed_uids,omitempty" toml:"admin_allowed_uids,omitempty"`
	MetricsAddress   string                 `json:"metrics_address,omitempty" toml:"metrics_address,omitempty"`
	SavedState       string                 `json:"saved_state,omitempty" toml:"saved_state,omitempty"`
	Listeners        []*ListenerDoc         `json:"listeners" toml:"listeners"`
	Clusters         map[string]*ClusterDoc `json:"clusters" toml:"clusters"`
}

// ListenerDoc is one [[listeners]] table.
type ListenerDoc struct {
	Address        string `json:"address" toml:"address"`
	Protocol       string `json:"protocol" toml:"protocol"`
	H2C            bool   `json:"h2c" toml:"h2c"`
	FrontTimeout   int64  `json:"front_timeout" toml:"front_timeout"`
	RequestTimeout int64  `json:"request_timeout" toml:"request_timeout"`
	BackTimeout    int64  `json:"back_timeout" toml:"back_timeout"`
	ConnectTimeout int64  `json:"connect_timeout" toml:"connect_timeout"`

	MaxHeaderBytes      int `json:"max_header_bytes" toml:"max_header_bytes"`
	MaxHeaderCount      int `json:"max_header_count" toml:"max_header_count"`
	MaxConnections      int `json:"max_connections" toml:"max_connections"`
	MaxConnectionsPerIP int `json:"max_connections_per_ip" toml:"max_connections_per_ip"`

	H2MaxConcurrentStreams     uint32 `json:"h2_max_concurrent_streams" toml:"h2_max_concurrent_streams"`
	H2InitialWindowSize        uint32 `json:"h2_initial_window_size" toml:"h2_initial_window_size"`
	H2StreamIdleTimeout        int64  `json:"h2_stream_idle_timeout_seconds" toml:"h2_stream_idle_timeout_seconds"`
	H2GracefulShutdownDeadline int64  `json:"h2_graceful_shutdown_deadline_seconds" toml:"h2_graceful_shutdown_deadline_seconds"`
	H2SettingsAckTimeout       int64  `json:"h2_settings_ack_timeout_seconds" toml:"h2_settings_ack_timeout_seconds"`
	H2Scheduler                string `json:"h2_scheduler,omitempty" toml:"h2_scheduler,omitempty"`

	RSTStreamPerWindow         int `json:"h2_max_rst_stream_per_window" toml:"h2_max_rst_stream_per_window"`
	RSTStreamLifetime          int `json:"h2_max_rst_stream_lifetime" toml:"h2_max_rst_stream_lifetime"`
	RSTStreamAbusiveLifetime   int `json:"h2_max_rst_stream_abusive_lifetime" toml:"h2_max_rst_stream_abusive_lifetime"`
	RSTStreamEmittedLifetime   int `json:"h2_max_rst_stream_emitted_lifetime" toml:"h2_max_rst_stream_emitted_lifetime"`
	PendingRSTStreams          int `json:"h2_max_pending_rst_streams" toml:"h2_max_pending_rst_streams"`
	PingPerWindow              int `json:"h2_max_ping_per_window" toml:"h2_max_ping_per_window"`
	PingLifetime               int `json:"h2_max_ping_lifetime" toml:"h2_max_ping_lifetime"`
	SettingsPerWindow          int `json:"h2_max_settings_per_window" toml:"h2_max_settings_per_window"`
	SettingsLifetime           int `json:"h2_max_settings_lifetime" toml:"h2_max_settings_lifetime"`
	EmptyDataPerWindow         int `json:"h2_max_empty_data_per_window" toml:"h2_max_empty_data_per_window"`
	WindowUpdateZeroPerWindow  int `json:"h2_max_window_update_stream0_per_window" toml:"h2_max_window_update_stream0_per_window"`
	ContinuationFrames         int `json:"h2_max_continuation_frames" toml:"h2_max_continuation_frames"`
	HeaderListSize             int `json:"h2_max_header_list_size" toml:"h2_max_header_list_size"`
	HeaderFields               int `json:"h2_max_header_fields" toml:"h2_max_header_fields"`
	HeaderTableSize            int `json:"h2_max_header_table_size" toml:"h2_max_header_table_size"`
	GlitchCount                int `json:"h2_max_glitch_count" toml:"h2_max_glitch_count"`
	RefusedStreamsBeforeShrink int `json:"h2_refused_streams_before_shrink" toml:"h2_refused_streams_before_shrink"`
	SettingsEntries            int `json:"h2_max_settings_entries" toml:"h2_max_settings_entries"`
	PriorityEntries            int `json:"h2_max_priority_entries" toml:"h2_max_priority_entries"`

	TLSVersions      []string          `json:"tls_versions,omitempty" toml:"tls_versions,omitempty"`
	CipherSuites     []string          `json:"cipher_suites,omitempty" toml:"cipher_suites,omitempty"`
	ALPNProtocols    []string          `json:"alpn_protocols,omitempty" toml:"alpn_protocols,omitempty"`
	Certificate      string            `json:"certificate,omitempty" toml:"certificate,omitempty"`
	Key              string            `json:"key,omitempty" toml:"key,omitempty"`
	CertificateChain string            `json:"certificate_chain,omitempty" toml:"certificate_chain,omitempty"`
	Certificates     []*CertificateDoc `json:"certificates,omitempty" toml:"certificates,omitempty,inline"`
}

// CertificateDoc is one element of a listener's certificates array.
type CertificateDoc struct {
	Certificate      string `json:"certificate" toml:"certificate"`
	Key              string `json:"key" toml:"key"`
	CertificateChain string `json:"certificate_chain,omitempty" toml:"certificate_chain,omitempty"`
}

// ClusterDoc is one [clusters.ID] table (the ID is its key in
// Document.Clusters).
type ClusterDoc struct {
	LoadBalancing            string            `json:"load_balancing" toml:"load_balancing"`
	BackendProtocol          string            `json:"backend_protocol" toml:"backend_protocol"`
	BackendTLSVerify         bool              `json:"backend_tls_verify" toml:"backend_tls_verify"`
	BackendTLSCA             string            `json:"backend_tls_ca,omitempty" toml:"backend_tls_ca,omitempty"`
	BackendTLSServerName     string            `json:"backend_tls_server_name,omitempty" toml:"backend_tls_server_name,omitempty"`
	BackendMaxConnections    int               `json:"backend_max_connections" toml:"backend_max_connections"`
	MaxIdleConnections       int               `json:"max_idle_connections" toml:"max_idle_connections"`
	IdleConnectionTimeout    int64             `json:"idle_connection_timeout" toml:"idle_connection_timeout"`
	ConnectRetries           int               `json:"connect_retries" toml:"connect_retries"`
	RetryBufferBytes         int               `json:"retry_buffer_bytes" toml:"retry_buffer_bytes"`
	BackendH2ReadIdleTimeout int64             `json:"backend_h2_read_idle_timeout" toml:"backend_h2_read_idle_timeout"`
	BackendH2PingTimeout     int64             `json:"backend_h2_ping_timeout" toml:"backend_h2_ping_timeout"`
	HealthBackoffMin         int64             `json:"health_backoff_min" toml:"health_backoff_min"`
	HealthBackoffMax         int64             `json:"health_backoff_max" toml:"health_backoff_max"`
	Answers                  map[string]string `json:"answers,omitempty" toml:"answers,omitempty"`
	Frontends                []*FrontendDoc    `json:"frontends" toml:"frontends,inline"`
	Backends                 []*BackendDoc     `json:"backends" toml:"backends,inline"`
}

// FrontendDoc is one element of a cluster's frontends array.
type FrontendDoc struct {
	Address          string `json:"address" toml:"address"`
	Hostname         string `json:"hostname" toml:"hostname"`
	Path             string `json:"path" toml:"path"`
	PathType         string `json:"path_type" toml:"path_type"`
	Certificate      string `json:"certificate,omitempty" toml:"certificate,omitempty"`
	Key              string `json:"key,omitempty" toml:"key,omitempty"`
	CertificateChain string `json:"certificate_chain,omitempty" toml:"certificate_chain,omitempty"`
}

// BackendDoc is one element of a cluster's backends array.
type BackendDoc struct {
	Address string `json:"address" toml:"address"`
	ID      string `json:"id" toml:"id"`
	Weight  int    `json:"weight" toml:"weight"`
}

// secs spells a duration as the file does: whole seconds. A duration
// built in code may be finer; it is rounded up so that a positive value
// never becomes 0 (which means "off" or "forever" for some keys).
func secs(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}

func dur(s int64) time.Duration { return time.Duration(s) * time.Second }

// NewDocument spells c in the config file's shape.
func NewDocument(c *config.Config) *Document {
	d := &Document{
		LogLevel:         c.LogLevel,
		LogFormat:        c.LogFormat,
		AccessLog:        c.AccessLog,
		AccessLogFormat:  c.AccessLogFormat,
		AdminSocket:      c.AdminSocket,
		AdminAllowedUIDs: slices.Clone(c.AdminAllowedUIDs),
		MetricsAddress:   c.MetricsAddress,
		SavedState:       c.SavedState,
		Listeners:        make([]*ListenerDoc, 0, len(c.Listeners)),
		Clusters:         make(map[string]*ClusterDoc, len(c.Clusters)),
	}
	for _, l := range c.Listeners {
		d.Listeners = append(d.Listeners, ListenerDocOf(l))
	}
	for _, cl := range c.Clusters {
		d.Clusters[cl.ID] = ClusterDocOf(cl)
	}
	return d
}

// ListenerDocOf spells one listener in the file's shape.
func ListenerDocOf(l *config.Listener) *ListenerDoc {
	f := &l.Flood
	d := &ListenerDoc{
		Address: l.Address, Protocol: l.Protocol, H2C: l.H2C,
		FrontTimeout: secs(l.FrontTimeout), RequestTimeout: secs(l.RequestTimeout),
		BackTimeout: secs(l.BackTimeout), ConnectTimeout: secs(l.ConnectTimeout),
		MaxHeaderBytes: l.MaxHeaderBytes, MaxHeaderCount: l.MaxHeaderCount,
		MaxConnections: l.MaxConnections, MaxConnectionsPerIP: l.MaxConnectionsPerIP,
		H2MaxConcurrentStreams:     l.H2MaxConcurrentStreams,
		H2InitialWindowSize:        l.H2InitialWindowSize,
		H2StreamIdleTimeout:        secs(l.H2StreamIdleTimeout),
		H2GracefulShutdownDeadline: secs(l.H2GracefulShutdownDeadline),
		H2SettingsAckTimeout:       secs(l.H2SettingsAckTimeout),
		H2Scheduler:                l.H2Scheduler,
		RSTStreamPerWindow:         f.RSTStreamPerWindow,
		RSTStreamLifetime:          f.RSTStreamLifetime,
		RSTStreamAbusiveLifetime:   f.RSTStreamAbusiveLifetime,
		RSTStreamEmittedLifetime:   f.RSTStreamEmittedLifetime,
		PendingRSTStreams:          f.PendingRSTStreams,
		PingPerWindow:              f.PingPerWindow,
		PingLifetime:               f.PingLifetime,
		SettingsPerWindow:          f.SettingsPerWindow,
		SettingsLifetime:           f.SettingsLifetime,
		EmptyDataPerWindow:         f.EmptyDataPerWindow,
		WindowUpdateZeroPerWindow:  f.WindowUpdateZeroPerWindow,
		ContinuationFrames:         f.ContinuationFrames,
		HeaderListSize:             f.HeaderListSize,
		HeaderFields:               f.HeaderFields,
		HeaderTableSize:            f.HeaderTableSize,
		GlitchCount:                f.GlitchCount,
		RefusedStreamsBeforeShrink: f.RefusedStreamsBeforeShrink,
		SettingsEntries:            f.SettingsEntries,
		PriorityEntries:            f.PriorityEntries,
		TLSVersions:                slices.Clone(l.TLSVersions),
		CipherSuites:               slices.Clone(l.CipherSuites),
		ALPNProtocols:              slices.Clone(l.ALPNProtocols),
		Certificate:                l.Certificate,
		Key:                        l.Key,
		CertificateChain:           l.CertificateChain,
	}
	for _, c := range l.Certificates {
		d.Certificates = append(d.Certificates, &CertificateDoc{Certificate: c.Certificate, Key: c.Key, CertificateChain: c.CertificateChain})
	}
	return d
}

// Listener converts the document back to a config listener (defaults are
// not applied: every key is in the document).
func (d *ListenerDoc) Listener() *config.Listener {
	l := &config.Listener{
		Address: d.Address, Protocol: d.Protocol, H2C: d.H2C,
		FrontTimeout: dur(d.FrontTimeout), RequestTimeout: dur(d.RequestTimeout),
		BackTimeout: dur(d.BackTimeout), ConnectTimeout: dur(d.ConnectTimeout),
		MaxHeaderBytes: d.MaxHeaderBytes, MaxHeaderCount: d.MaxHeaderCount,
		MaxConnections: d.MaxConnections, MaxConnectionsPerIP: d.MaxConnectionsPerIP,
		H2MaxConcurrentStreams:     d.H2MaxConcurrentStreams,
		H2InitialWindowSize:        d.H2InitialWindowSize,
		H2StreamIdleTimeout:        dur(d.H2StreamIdleTimeout),
		H2GracefulShutdownDeadline: dur(d.H2GracefulShutdownDeadline),
		H2SettingsAckTimeout:       dur(d.H2SettingsAckTimeout),
		H2Scheduler:                d.H2Scheduler,
		Flood: config.FloodLimits{
			RSTStreamPerWindow:         d.RSTStreamPerWindow,
			RSTStreamLifetime:          d.RSTStreamLifetime,
			RSTStreamAbusiveLifetime:   d.RSTStreamAbusiveLifetime,
			RSTStreamEmittedLifetime:   d.RSTStreamEmittedLifetime,
			PendingRSTStreams:          d.PendingRSTStreams,
			PingPerWindow:              d.PingPerWindow,
			PingLifetime:               d.PingLifetime,
			SettingsPerWindow:          d.SettingsPerWindow,
			SettingsLifetime:           d.SettingsLifetime,
			EmptyDataPerWindow:         d.EmptyDataPerWindow,
			WindowUpdateZeroPerWindow:  d.WindowUpdateZeroPerWindow,
			ContinuationFrames:         d.ContinuationFrames,
			HeaderListSize:             d.HeaderListSize,
			HeaderFields:               d.HeaderFields,
			HeaderTableSize:            d.HeaderTableSize,
			GlitchCount:                d.GlitchCount,
			RefusedStreamsBeforeShrink: d.RefusedStreamsBeforeShrink,
			SettingsEntries:            d.SettingsEntries,
			PriorityEntries:            d.PriorityEntries,
		},
		TLSVersions:      slices.Clone(d.TLSVersions),
		CipherSuites:     slices.Clone(d.CipherSuites),
		ALPNProtocols:    slices.Clone(d.ALPNProtocols),
		Certificate:      d.Certificate,
		Key:              d.Key,
		CertificateChain: d.CertificateChain,
	}
	for _, c := range d.Certificates {
		l.Certificates = append(l.Certificates, &config.CertificateFiles{Certificate: c.Certificate, Key: c.Key, CertificateChain: c.CertificateChain})
	}
	return l
}

// ClusterDocOf spells one cluster in the file's shape. Custom answers are
// spelled by the files they were read from.
func ClusterDocOf(c *config.Cluster) *ClusterDoc {
	d := &ClusterDoc{
		LoadBalancing:            c.LoadBalancing,
		BackendProtocol:          c.BackendProtocol,
		BackendTLSVerify:         c.BackendTLSVerify,
		BackendTLSCA:             c.BackendTLSCA,
		BackendTLSServerName:     c.BackendTLSServerName,
		BackendMaxConnections:    c.BackendMaxConnections,
		MaxIdleConnections:       c.MaxIdleConnections,
		IdleConnectionTimeout:    secs(c.IdleConnectionTimeout),
		ConnectRetries:           c.ConnectRetries,
		RetryBufferBytes:         c.RetryBufferBytes,
		BackendH2ReadIdleTimeout: secs(c.BackendH2ReadIdleTimeout),
		BackendH2PingTimeout:     secs(c.BackendH2PingTimeout),
		HealthBackoffMin:         secs(c.HealthBackoffMin),
		HealthBackoffMax:         secs(c.HealthBackoffMax),
		Frontends:                make([]*FrontendDoc, 0, len(c.Frontends)),
		Backends:                 make([]*BackendDoc, 0, len(c.Backends)),
	}
	for code, file := range c.AnswerFiles {
		if d.Answers == nil {
			d.Answers = map[string]string{}
		}
		d.Answers[strconv.Itoa(code)] = file
	}
	for _, f := range c.Frontends {
		d.Frontends = append(d.Frontends, FrontendDocOf(f))
	}
	for _, b := range c.Backends {
		d.Backends = append(d.Backends, &BackendDoc{Address: b.Address, ID: b.ID, Weight: b.Weight})
	}
	return d
}

// FrontendDocOf spells one frontend in the file's shape.
func FrontendDocOf(f *config.Frontend) *FrontendDoc {
	return &FrontendDoc{
		Address: f.Address, Hostname: f.Hostname, Path: f.Path, PathType: f.PathType,
		Certificate: f.Certificate, Key: f.Key, CertificateChain: f.CertificateChain,
	}
}

// Cluster converts the document back to a config cluster named id. The
// answer files are read (as config.Parse does); a missing or oversized
// file is an error naming the answer.
func (d *ClusterDoc) Cluster(id string) (*config.Cluster, error) {
	c := &config.Cluster{
		ID:                       id,
		LoadBalancing:            d.LoadBalancing,
		BackendProtocol:          d.BackendProtocol,
		BackendTLSVerify:         d.BackendTLSVerify,
		BackendTLSCA:             d.BackendTLSCA,
		BackendTLSServerName:     d.BackendTLSServerName,
		BackendMaxConnections:    d.BackendMaxConnections,
		MaxIdleConnections:       d.MaxIdleConnections,
		IdleConnectionTimeout:    dur(d.IdleConnectionTimeout),
		ConnectRetries:           d.ConnectRetries,
		RetryBufferBytes:         d.RetryBufferBytes,
		BackendH2ReadIdleTimeout: dur(d.BackendH2ReadIdleTimeout),
		BackendH2PingTimeout:     dur(d.BackendH2PingTimeout),
		HealthBackoffMin:         dur(d.HealthBackoffMin),
		HealthBackoffMax:         dur(d.HealthBackoffMax),
	}
	for _, code := range slices.Sorted(maps.Keys(d.Answers)) {
		n, err := strconv.Atoi(code)
		if err != nil || strconv.Itoa(n) != code || n < 400 || n > 599 {
			return nil, fmt.Errorf("answers.%s: must be an HTTP status code from 400 to 599", code)
		}
		body, err := readAnswer(d.Answers[code])
		if err != nil {
			return nil, fmt.Errorf("answers.%s: %w", code, err)
		}
		if c.Answers == nil {
			c.Answers, c.AnswerFiles = map[int]string{}, map[int]string{}
		}
		c.Answers[n] = body
		c.AnswerFiles[n] = d.Answers[code]
	}
	for _, f := range d.Frontends {
		c.Frontends = append(c.Frontends, f.Frontend())
	}
	for _, b := range d.Backends {
		c.Backends = append(c.Backends, b.Backend())
	}
	return c, nil
}

// Frontend converts the document back to a config frontend.
func (d *FrontendDoc) Frontend() *config.Frontend {
	return &config.Frontend{
		Address: d.Address, Hostname: d.Hostname, Path: d.Path, PathType: d.PathType,
		Certificate: d.Certificate, Key: d.Key, CertificateChain: d.CertificateChain,
	}
}

// Backend converts the document back to a config backend.
func (d *BackendDoc) Backend() *config.Backend {
	return &config.Backend{Address: d.Address, ID: d.ID, Weight: d.Weight}
}
