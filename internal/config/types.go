package config

import "time"

// Config is a whole configuration file. After [Parse] or [ApplyDefaults]
// every field that has a default holds it, so consumers never have to
// interpret a zero value.
type Config struct {
	// File is the path the configuration was loaded from; "" when it was
	// built in code or embedded. Relative paths inside the file were
	// resolved against its directory.
	File string

	// LogLevel is log_level: "debug", "info", "warn" or "error".
	// Default "info".
	LogLevel string
	// LogFormat is log_format: "text" or "json". Default "text".
	LogFormat string
	// AccessLog is access_log: "stdout", "stderr", "off" or a file path
	// (relative to the config file's directory). Default "stdout".
	AccessLog string
	// AccessLogFormat is access_log_format: "json" or "text".
	// Default "json".
	AccessLogFormat string
	// AdminSocket is admin_socket: the unix socket path of the admin API,
	// relative to the config file's directory. Default "" (no admin API).
	// At most 107 bytes, the size of sun_path minus its NUL.
	AdminSocket string
	// MetricsAddress is metrics_address: host:port where GET /metrics is
	// served (host an IP literal or "localhost"). Default "" (no metrics
	// listener). Must differ from every listener address.
	MetricsAddress string
	// AdminAllowedUIDs is admin_allowed_uids: user ids, besides the one
	// sluice runs as, whose processes may use the admin API. The socket is
	// created with mode 0600 when the list is empty and 0666 otherwise (the
	// peer's uid, read from the socket, is then the only gate). Each
	// 0..4294967294, no repeats; requires admin_socket. Default empty.
	AdminAllowedUIDs []int
	// SavedState is saved_state: a file the live state is saved to and
	// restored from, relative to the config file's directory.
	// Default "" (none). See docs/operations.md for what it holds.
	SavedState string

	// Listeners are the [[listeners]] tables in file order.
	Listeners []*Listener
	// Clusters are the [clusters.ID] tables sorted by ID.
	Clusters []*Cluster
}

// Listener is one [[listeners]] table: a socket sluice accepts client
// connections on, and the limits that apply to them.
type Listener struct {
	// Line is the line of the [[listeners]] header (0 when built in code).
	Line int

	// Address is address: "host:port" where host is an IP literal or
	// "localhost" and port is 1..65535. Required; unique among listeners.
	// Stored in canonical form (net.JoinHostPort of the parsed IP and the
	// decimal port).
	Address string
	// Protocol is protocol: "http" (HTTP/1.1, plus h2c prior knowledge when
	// H2C) or "https" (TLS with ALPN h2 and http/1.1). Required.
	Protocol string
	// H2C is h2c: serve HTTP/2 to clients that open with the prior-knowledge
	// preface. Default true on http listeners; always false on https ones
	// (setting it there is an error).
	H2C bool

	// FrontTimeout is front_timeout (seconds): how long a client connection
	// may stay without application activity (HEADERS, DATA). Default 60s,
	// range 1..86400.
	FrontTimeout time.Duration
	// RequestTimeout is request_timeout (seconds): how long a client has,
	// from connecting, to send its first complete request head. Default 10s,
	// range 1..3600.
	RequestTimeout time.Duration
	// BackTimeout is back_timeout (seconds): how long a backend may take to
	// start, and then continue, its response. Default 30s, range 1..86400.
	BackTimeout time.Duration
	// ConnectTimeout is connect_timeout (seconds): how long connecting to a
	// backend may take. Default 3s, range 1..300.
	ConnectTimeout time.Duration

	// MaxHeaderBytes is max_header_bytes: the HTTP/1.1 request line plus
	// header block, in bytes. Default 16384, range 1024..1048576.
	MaxHeaderBytes int
	// MaxHeaderCount is max_header_count: header fields per HTTP/1.1
	// request. Default 100, range 1..1024.
	MaxHeaderCount int
	// MaxConnections is max_connections: open client connections on this
	// listener; connections beyond it are closed at accept. Default 10000,
	// range 1..10000000.
	MaxConnections int
	// MaxConnectionsPerIP is max_connections_per_ip: open client connections
	// from one IP address. Default 0 (no per-IP limit), range
	// 0..max_connections.
	MaxConnectionsPerIP int

	// H2MaxConcurrentStreams is h2_max_concurrent_streams: the
	// SETTINGS_MAX_CONCURRENT_STREAMS we advertise (RFC 9113 6.5.2).
	// Default 100, range 1..10000.
	H2MaxConcurrentStreams uint32
	// H2InitialWindowSize is h2_initial_window_size: the per-stream receive
	// window we advertise in SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 6.9.2).
	// Default 1048576, range 65535..2147483647.
	H2InitialWindowSize uint32
	// H2StreamIdleTimeout is h2_stream_idle_timeout_seconds: a stream with
	// no traffic either way, or stalled on a closed send window, is reset
	// after it (DESIGN.md 3.6). Default max(30s, BackTimeout), range
	// 1..86400.
	H2StreamIdleTimeout time.Duration
	// H2GracefulShutdownDeadline is h2_graceful_shutdown_deadline_seconds:
	// how long a draining connection waits for its streams before it is
	// closed (DESIGN.md 3.9). Default 5s, range 0..86400; 0 waits forever.
	H2GracefulShutdownDeadline time.Duration
	// H2SettingsAckTimeout is h2_settings_ack_timeout_seconds: how long the
	// client has to acknowledge our SETTINGS before GOAWAY SETTINGS_TIMEOUT
	// (RFC 9113 6.5.3). Default 5s, range 1..300.
	H2SettingsAckTimeout time.Duration
	// H2Scheduler is h2_scheduler: how responses share a connection.
	// "rfc9218" (default) follows the client's RFC 9218 priorities
	// (DESIGN.md 3.8); "fair" ignores them and round-robins every stream
	// one DATA frame at a time.
	H2Scheduler string

	// Flood holds the per-connection HTTP/2 abuse limits (DESIGN.md 3.7).
	Flood FloodLimits

	// TLSVersions is tls_versions (https only): the protocol versions
	// offered, a non-empty subset of "TLS1.2" and "TLS1.3". Default both.
	TLSVersions []string
	// CipherSuites is cipher_suites (https only): the TLS 1.2 cipher suites
	// allowed, by their crypto/tls names (tls.CipherSuiteName). Default nil,
	// which means Go's secure default list. TLS 1.3 suites are not
	// configurable in Go, and insecure suites are refused.
	CipherSuites []string
	// ALPNProtocols is alpn_protocols (https only): the ALPN protocols
	// offered, in order of preference, a non-empty subset of "h2" and
	// "http/1.1". Default ["h2", "http/1.1"].
	ALPNProtocols []string
	// Certificate is certificate (https only): PEM file of the certificate
	// served when no SNI name matches. Optional; requires Key.
	Certificate string
	// Key is key (https only): PEM file of Certificate's private key.
	Key string
	// CertificateChain is certificate_chain (https only): PEM file of the
	// intermediate certificates sent after Certificate. Optional.
	CertificateChain string
	// Certificates is certificates (https only): more certificates the
	// listener offers, chosen by SNI like frontend certificates but tied
	// to no frontend; the admin API adds certificates here. Optional.
	Certificates []*CertificateFiles
}

// CertificateFiles is one element of a listener's certificates array: the
// PEM files of one certificate.
type CertificateFiles struct {
	// Line is the line of the element's inline table (0 when built in
	// code).
	Line int
	// Certificate is certificate: PEM file of the certificate (leaf
	// first). Required.
	Certificate string
	// Key is key: PEM file of its private key. Required.
	Key string
	// CertificateChain is certificate_chain: PEM file of the intermediate
	// certificates sent after Certificate. Optional.
	CertificateChain string
}

// FloodLimits are the per-connection HTTP/2 abuse limits of a listener
// (DESIGN.md 3.7). A "window" is one second. Exceeding a limit ends the
// connection with GOAWAY (ENHANCE_YOUR_CALM unless noted by the consumer).
type FloodLimits struct {
	// RSTStreamPerWindow is h2_max_rst_stream_per_window: RST_STREAM frames
	// received per window (Rapid Reset, CVE-2023-44487). Default 100,
	// range 1..100000.
	RSTStreamPerWindow int
	// RSTStreamLifetime is h2_max_rst_stream_lifetime: RST_STREAM frames
	// received over the connection's life. Default 10000,
	// range 1..10000000.
	RSTStreamLifetime int
	// RSTStreamAbusiveLifetime is h2_max_rst_stream_abusive_lifetime:
	// RST_STREAM frames received for streams whose response had not
	// started. Default 50, range 1..1000000.
	RSTStreamAbusiveLifetime int
	// RSTStreamEmittedLifetime is h2_max_rst_stream_emitted_lifetime:
	// RST_STREAM frames we send (other than NO_ERROR) over the connection's
	// life (MadeYouReset, CVE-2025-8671). Default 500, range 1..1000000.
	RSTStreamEmittedLifetime int
	// PendingRSTStreams is h2_max_pending_rst_streams: RST_STREAM frames we
	// queued but could not write yet. Default 200, range 1..100000.
	PendingRSTStreams int
	// PingPerWindow is h2_max_ping_per_window: PING frames received per
	// window (CVE-2019-9512). Default 100, range 1..100000.
	PingPerWindow int
	// PingLifetime is h2_max_ping_lifetime: PING frames received over the
	// connection's life. Default 10000, range 1..10000000.
	PingLifetime int
	// SettingsPerWindow is h2_max_settings_per_window: SETTINGS frames
	// received per window (CVE-2019-9515). Default 50, range 1..100000.
	SettingsPerWindow int
	// SettingsLifetime is h2_max_settings_lifetime: SETTINGS frames
	// received over the connection's life. Default 10000,
	// range 1..10000000.
	SettingsLifetime int
	// EmptyDataPerWindow is h2_max_empty_data_per_window: zero-length DATA
	// frames without END_STREAM per window (CVE-2019-9518). Default 100,
	// range 1..100000.
	EmptyDataPerWindow int
	// WindowUpdateZeroPerWindow is h2_max_window_update_stream0_per_window:
	// WINDOW_UPDATE frames on stream 0 per window. Default 100,
	// range 1..100000.
	WindowUpdateZeroPerWindow int
	// ContinuationFrames is h2_max_continuation_frames: CONTINUATION frames
	// in one header block (CVE-2024-27316). Default 20, range 1..1000.
	ContinuationFrames int
	// HeaderListSize is h2_max_header_list_size: bytes of a decoded header
	// list, counted as name + value + 32 per field (RFC 9113 6.5.2), and of
	// an encoded header block across CONTINUATION frames. Default 65536,
	// range 1024..16777216.
	HeaderListSize int
	// HeaderFields is h2_max_header_fields: fields in one header block.
	// Default 128, range 1..1024.
	HeaderFields int
	// HeaderTableSize is h2_max_header_table_size: the largest HPACK dynamic
	// table we let the peer's encoder use (SETTINGS_HEADER_TABLE_SIZE).
	// Default 65536, range 4096..1048576; 4096 is the size a peer may use
	// before it has seen our SETTINGS (RFC 9113 6.5.2).
	HeaderTableSize int
	// GlitchCount is h2_max_glitch_count: other protocol mistakes tolerated
	// per connection. Default 100, range 1..1000000.
	GlitchCount int
	// RefusedStreamsBeforeShrink is h2_refused_streams_before_shrink:
	// streams refused (REFUSED_STREAM) within 60 s after which the
	// connection advertises half its MAX_CONCURRENT_STREAMS. Default 50,
	// range 1..1000000.
	RefusedStreamsBeforeShrink int
	// SettingsEntries is h2_max_settings_entries: parameters in one SETTINGS
	// frame (each one costs a pass over the open streams when it changes
	// the initial window, CVE-2019-9515). Default 64, range 8..10000.
	SettingsEntries int
	// PriorityEntries is h2_max_priority_entries: RFC 9218 priority signals
	// (PRIORITY_UPDATE) remembered for streams not yet open; further ones
	// are dropped, so a PRIORITY_UPDATE flood cannot grow memory. Default
	// 4096, range 1..1000000.
	PriorityEntries int
}

// Cluster is one [clusters.ID] table: a set of backends, how to reach and
// balance them, and the frontends (routes) that lead to them.
type Cluster struct {
	// Line is the line of the [clusters.ID] header (0 when built in code).
	Line int

	// ID is the ID in [clusters.ID]: one or more of A-Z a-z 0-9 _ . -
	// (quote it in TOML when it contains a dot: [clusters."a.b"]).
	ID string
	// LoadBalancing is load_balancing: "round_robin", "random",
	// "least_loaded" or "power_of_two". Default "round_robin".
	LoadBalancing string
	// BackendProtocol is backend_protocol: "http1", "h2c" (HTTP/2 prior
	// knowledge over TCP) or "h2" (HTTP/2 over TLS). Default "http1".
	BackendProtocol string
	// BackendTLSVerify is backend_tls_verify: verify the backend's
	// certificate. Default true. Used only with backend_protocol "h2".
	BackendTLSVerify bool
	// BackendTLSCA is backend_tls_ca: PEM file of the CAs trusted for
	// backend certificates, relative to the config file's directory.
	// Default "" (the system roots). Used only with "h2".
	BackendTLSCA string
	// BackendTLSServerName is backend_tls_server_name: the SNI name sent to
	// backends and checked in their certificate. Default "" (the host of
	// each backend's address). Used only with "h2".
	BackendTLSServerName string
	// BackendMaxConnections is backend_max_connections: connections open to
	// each backend. For "http1" default 0 = unlimited, range 0..100000;
	// for "h2c" and "h2" (multiplexed) default 4, range 1..100000.
	BackendMaxConnections int
	// MaxIdleConnections is max_idle_connections: idle keep-alive
	// connections kept per backend. Default 1024, range 1..10000.
	MaxIdleConnections int
	// IdleConnectionTimeout is idle_connection_timeout (seconds): an idle
	// pooled connection is closed after it. Default 60s, range 1..86400.
	IdleConnectionTimeout time.Duration
	// ConnectRetries is connect_retries: other backends tried after a
	// connect failure. Default 3, range 0..100.
	ConnectRetries int
	// RetryBufferBytes is retry_buffer_bytes: request body bytes kept so a
	// request can be replayed on another backend. Default 65536, range
	// 0..16777216; 0 replays only requests without a body.
	RetryBufferBytes int
	// BackendH2ReadIdleTimeout is backend_h2_read_idle_timeout (seconds,
	// h2c/h2 only): an HTTP/2 backend connection from which nothing
	// arrived for this long is sent a PING. Default 10s, range 1..3600.
	BackendH2ReadIdleTimeout time.Duration
	// BackendH2PingTimeout is backend_h2_ping_timeout (seconds, h2c/h2
	// only): a PING unanswered this long marks the connection dead and
	// the backend down, so a black-holed backend cannot swallow requests.
	// Default 5s, range 1..300.
	BackendH2PingTimeout time.Duration
	// HealthBackoffMin is health_backoff_min (seconds): how long a backend
	// is first marked down after a connect failure. Default 1s,
	// range 1..3600.
	HealthBackoffMin time.Duration
	// HealthBackoffMax is health_backoff_max (seconds): the cap of the
	// doubling down-time. Default 30s, range health_backoff_min..3600.
	HealthBackoffMax time.Duration
	// Answers is answers: custom bodies of the default answers, by status
	// code 400..599. In the file each value is the path of an HTML file
	// (relative to the config file's directory, at most 1 MiB); Parse
	// replaces it with the file's contents. Default nil (built-in pages).
	Answers map[int]string
	// AnswerFiles are the paths the answers were read from (resolved), by
	// status code; they let the live state be written back as a config
	// file. Nil when the answers were set in code.
	AnswerFiles map[int]string

	// Frontends are the routes to this cluster, in file order.
	Frontends []*Frontend
	// Backends are the servers of this cluster, in file order.
	Backends []*Backend
}

// Frontend is one element of a cluster's frontends array: a route from a
// listener, hostname and path to the cluster.
type Frontend struct {
	// Line is the line of the frontend's inline table or [[...frontends]]
	// header (0 when built in code).
	Line int

	// Address is address: the address of a declared listener. Required.
	// Stored in canonical form, like Listener.Address.
	Address string
	// Hostname is hostname: the request host (without port) this route
	// matches, an exact name or "*.example.com" (exactly one extra label).
	// Required; stored lowercased without a trailing dot.
	Hostname string
	// Path is path: the request path to match. Default "/". For "prefix"
	// and "equals" it starts with "/".
	Path string
	// PathType is path_type: "prefix", "equals" or "regex" (Go RE2 syntax,
	// unanchored: write ^ and $ to anchor). Default "prefix".
	PathType string
	// Certificate is certificate: PEM file of a certificate for this
	// hostname (frontends of https listeners only), relative to the config
	// file's directory. Optional; requires Key.
	Certificate string
	// Key is key: PEM file of Certificate's private key.
	Key string
	// CertificateChain is certificate_chain: PEM file of the intermediate
	// certificates sent after Certificate. Optional.
	CertificateChain string
}

// Backend is one element of a cluster's backends array.
type Backend struct {
	// Line is the line of the backend's inline table or [[...backends]]
	// header (0 when built in code).
	Line int

	// Address is address: "host:port" of the server, host an IP literal or
	// a DNS name, port 1..65535. Required; unique within the cluster.
	Address string
	// ID is id: a name for logs, metrics and the admin API; printable ASCII
	// without spaces, at most 255 bytes. Default: the address. Unique
	// within the cluster.
	ID string
	// Weight is weight: the backend's share of new requests relative to
	// the others. Default 100, range 0..1000; 0 takes no new requests.
	Weight int
}
