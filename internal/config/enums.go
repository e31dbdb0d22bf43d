package config

// Listener protocols (protocol).
const (
	ProtocolHTTP  = "http"
	ProtocolHTTPS = "https"
)

// Load-balancing policies (load_balancing).
const (
	LBRoundRobin  = "round_robin"
	LBRandom      = "random"
	LBLeastLoaded = "least_loaded"
	LBPowerOfTwo  = "power_of_two"
)

// Backend protocols (backend_protocol).
const (
	BackendHTTP1 = "http1"
	BackendH2C   = "h2c"
	BackendH2    = "h2"
)

// HTTP/2 write schedulers (h2_scheduler).
const (
	H2SchedulerRFC9218 = "rfc9218"
	H2SchedulerFair    = "fair"
)

// Path match types (path_type).
const (
	PathPrefix = "prefix"
	PathEquals = "equals"
	PathRegex  = "regex"
)

// Special access_log values; any other value is a file path.
const (
	AccessLogStdout = "stdout"
	AccessLogStderr = "stderr"
	AccessLogOff    = "off"
)

// TLS version names (tls_versions) and ALPN protocol names (alpn_protocols).
const (
	TLS12     = "TLS1.2"
	TLS13     = "TLS1.3"
	ALPNH2    = "h2"
	ALPNHTTP1 = "http/1.1"
)

// The allowed values of each enumerated key, in the order error messages
// list them.
var (
	logLevels        = []string{"debug", "info", "warn", "error"}
	logFormats       = []string{"text", "json"}
	accessLogFormats = []string{"json", "text"}
	protocols        = []string{ProtocolHTTP, ProtocolHTTPS}
	lbPolicies       = []string{LBRoundRobin, LBRandom, LBLeastLoaded, LBPowerOfTwo}
	backendProtocols = []string{BackendHTTP1, BackendH2C, BackendH2}
	h2Schedulers     = []string{H2SchedulerRFC9218, H2SchedulerFair}
	pathTypes        = []string{PathPrefix, PathEquals, PathRegex}
	tlsVersionNames  = []string{TLS12, TLS13}
	alpnNames        = []string{ALPNH2, ALPNHTTP1}
)

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}
