package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// oneHTTP is an http listener on lines 1-3; listenersHTTP adds an https
// listener on lines 4-6. Many cases start with one of them.
const (
	oneHTTP       = "[[listeners]]\naddress = \"127.0.0.1:8080\"\nprotocol = \"http\"\n"
	listenersHTTP = oneHTTP + "[[listeners]]\naddress = \"127.0.0.1:8443\"\nprotocol = \"https\"\n"
)

// TestParseErrors is one case per kind of error: each asserts the complete
// list of errors, with their line, key and a part of the message.
func TestParseErrors(t *testing.T) {
	dir := certDir(t)
	file := filepath.Join(dir, "sluice.toml")
	long := strings.Repeat("s", 120)

	cases := []struct {
		name string
		src  string
		want []wantErr
	}{
		// TOML itself.
		{"syntax", "log_level = \"info\"\n[[listeners]\n", []wantErr{{2, "", "invalid TOML"}}},
		{"syntax unterminated string", "\n\nlog_level = \"info\n", []wantErr{{3, "", "invalid TOML"}}},
		{"duplicate key", "log_level = \"info\"\nlog_level = \"warn\"\n", []wantErr{{2, "", "already defined"}}},
		{"table twice", "[clusters.a]\n[clusters.a]\n", []wantErr{{2, "", "invalid TOML"}}},
		{"integer overflow", "\nlog_level = 99999999999999999999\n", []wantErr{{2, "", "invalid TOML"}}},

		// Unknown keys, at every level.
		{"unknown top-level", "log_level = \"info\"\ncolour = \"red\"\n", []wantErr{{2, "colour", "unknown key"}}},
		{"unknown with suggestion", "log_levle = \"info\"\n", []wantErr{{1, "log_levle", `unknown key (did you mean "log_level"?)`}}},
		{"unknown listener key", listenersHTTP + "fronttimeout = 5\n",
			[]wantErr{{7, "listeners[1].fronttimeout", `did you mean "front_timeout"`}}},
		{"unknown cluster key", "[clusters.app]\n\nbalance = \"random\"\n", []wantErr{{3, "clusters.app.balance", "unknown key"}}},
		{"unknown sub-table", "[clusters.app.extra]\nx = 1\n", []wantErr{{1, "clusters.app.extra", "unknown key"}}},
		{"unknown frontend key", listenersHTTP + "[clusters.app]\nfrontends = [\n  { address = \"127.0.0.1:8080\", hostname = \"a.b\", hostnme = \"x\" },\n]\n",
			[]wantErr{{9, "clusters.app.frontends[0].hostnme", `unknown key (did you mean "hostname"?)`}}},
		{"unknown backend key", "[clusters.app]\nbackends = [{ address = \"127.0.0.1:1\" }, { address = \"127.0.0.1:2\", wieght = 3 }]\n",
			[]wantErr{{2, "clusters.app.backends[1].wieght", `did you mean "weight"`}}},
		{"unknown dotted", "listeners.x = 1\n", []wantErr{{1, "listeners", "must be an array of tables"}}},

		// Wrong types.
		{"string not integer", "log_level = 1\n", []wantErr{{1, "log_level", "must be a string, not an integer"}}},
		{"integer written as string", listenersHTTP + "front_timeout = \"60\"\n",
			[]wantErr{{7, "listeners[1].front_timeout", `must be an integer, not a string (write "60" without quotes)`}}},
		{"float", listenersHTTP + "front_timeout = 1.5\n", []wantErr{{7, "listeners[1].front_timeout", "must be an integer, not a float"}}},
		{"date-time", "log_level = 1979-05-27\n", []wantErr{{1, "log_level", "not a date-time"}}},
		{"boolean", oneHTTP + "h2c = \"yes\"\n", []wantErr{{4, "listeners[0].h2c", "must be a boolean"}}},
		{"listeners not array", "listeners = 5\n", []wantErr{{1, "listeners", "must be an array of tables ([[listeners]])"}}},
		{"listeners as table", "[listeners]\naddress = \"127.0.0.1:1\"\n", []wantErr{{1, "listeners", "must be an array of tables"}}},
		{"listeners element", "listeners = [\n  { address = \"127.0.0.1:1\", protocol = \"http\" },\n  \"x\",\n]\n",
			[]wantErr{{3, "listeners[1]", "must be a table, not a string"}}},
		{"indexes follow the file", "listeners = [\n  1,\n  { address = \"127.0.0.1:1\" },\n]\n",
			[]wantErr{{2, "listeners[0]", "must be a table, not an integer"}, {3, "listeners[1].protocol", "is required"}}},
		{"frontend indexes follow the file", oneHTTP + "[clusters.a]\nfrontends = [\n  \"x\",\n  { address = \"127.0.0.1:8080\" },\n]\n",
			[]wantErr{{6, "clusters.a.frontends[0]", "must be a table"}, {7, "clusters.a.frontends[1].hostname", "is required"}}},
		{"clusters not table", "clusters = 1\n", []wantErr{{1, "clusters", "must be a table of clusters"}}},
		{"cluster not table", "[clusters]\napp = 1\n", []wantErr{{2, "clusters.app", "must be a table"}}},
		{"list not array", listenersHTTP + "tls_versions = \"TLS1.2\"\n", []wantErr{{7, "listeners[1].tls_versions", "must be an array of strings"}}},
		{"list element type", listenersHTTP + "tls_versions = [\n  \"TLS1.2\",\n  3,\n]\n",
			[]wantErr{{9, "listeners[1].tls_versions[1]", "must be a string, not an integer"}}},
		{"frontends not array", "[clusters.app]\nfrontends = { address = \"x\" }\n", []wantErr{{2, "clusters.app.frontends", "must be an array of tables"}}},
		{"frontend element", "[clusters.app]\nfrontends = [\n 1,\n]\n", []wantErr{{3, "clusters.app.frontends[0]", "must be a table, not an integer"}}},
		{"type error does not cascade", "[[listeners]]\naddress = \"127.0.0.1:1\"\nprotocol = 5\n",
			[]wantErr{{3, "listeners[0].protocol", "must be a string"}}},

		// Required keys and empty values.
		{"listener without address and protocol", "log_level = \"info\"\n[[listeners]]\nh2c = true\n",
			[]wantErr{{2, "listeners[0].address", "is required"}, {2, "listeners[0].protocol", `is required: one of "http", "https"`}}},
		{"empty enum", "log_format = \"\"\n", []wantErr{{1, "log_format", "must not be empty"}}},
		{"empty protocol", "[[listeners]]\naddress = \"127.0.0.1:1\"\nprotocol = \"\"\n", []wantErr{{3, "listeners[0].protocol", "must not be empty"}}},
		{"frontend without hostname", listenersHTTP + "[clusters.app]\nfrontends = [\n  { address = \"127.0.0.1:8080\" },\n]\n",
			[]wantErr{{9, "clusters.app.frontends[0].hostname", "is required"}}},
		{"frontend without address", listenersHTTP + "[clusters.app]\nfrontends = [{ hostname = \"a\" }]\n",
			[]wantErr{{8, "clusters.app.frontends[0].address", "is required"}}},
		{"backend without address", "[clusters.app]\nbackends = [\n\n  { id = \"x\" },\n]\n",
			[]wantErr{{4, "clusters.app.backends[0].address", "is required"}}},
		{"empty access_log", "access_log = \"\"\n", []wantErr{{1, "access_log", "must not be empty"}}},

		// Addresses.
		{"address without port", "[[listeners]]\naddress = \"127.0.0.1\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", `"127.0.0.1" is not host:port (missing port in address)`}}},
		{"port zero", "[[listeners]]\naddress = \"127.0.0.1:0\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", "port must be a number from 1 to 65535"}}},
		{"port too big", "[[listeners]]\naddress = \"127.0.0.1:65536\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", "port must be a number from 1 to 65535"}}},
		{"service name port", "[[listeners]]\naddress = \"127.0.0.1:http\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", "port must be a number"}}},
		{"listener host name", "[[listeners]]\naddress = \"example.com:80\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", "host must be an IP address or localhost"}}},
		{"listener empty host", "[[listeners]]\naddress = \":80\"\nprotocol = \"http\"\n",
			[]wantErr{{2, "listeners[0].address", "use 0.0.0.0 or [::]"}}},
		{"backend bad host", "[clusters.app]\nbackends = [{ address = \"bad_host!:80\" }]\n",
			[]wantErr{{2, "clusters.app.backends[0].address", `contains '!'`}}},
		{"metrics address", "metrics_address = \"9100\"\n", []wantErr{{1, "metrics_address", "not host:port"}}},
		{"unknown table", listenersHTTP + "\n[metrics]\n", []wantErr{{8, "metrics", "unknown key"}}},
		{"metrics address is a listener", "metrics_address = \"127.0.0.1:8080\"\n" + listenersHTTP,
			[]wantErr{{1, "metrics_address", "is the address of listeners[0].address (line 3)"}}},

		// Listener uniqueness and frontend references.
		{"duplicate listener", listenersHTTP + "[[listeners]]\naddress = \"127.0.0.1:8080\"\nprotocol = \"https\"\n",
			[]wantErr{{8, "listeners[2].address", "duplicates listeners[0].address (line 2)"}}},
		{"duplicate listener canonical", "[[listeners]]\naddress = \"[::1]:80\"\nprotocol = \"http\"\n[[listeners]]\naddress = \"[0:0::1]:080\"\nprotocol = \"http\"\n",
			[]wantErr{{5, "listeners[1].address", "duplicates listeners[0].address (line 2): two listeners cannot bind [::1]:80"}}},
		{"frontend names no listener", listenersHTTP + "[clusters.app]\nfrontends = [\n  { address = \"127.0.0.1:8081\", hostname = \"a.localhost\" },\n]\n",
			[]wantErr{{9, "clusters.app.frontends[0].address", "127.0.0.1:8081 is not the address of any listener (declared: 127.0.0.1:8080, 127.0.0.1:8443)"}}},
		{"frontend bad address", listenersHTTP + "[clusters.app]\nfrontends = [{ address = \"nope\", hostname = \"a\" }]\n",
			[]wantErr{{8, "clusters.app.frontends[0].address", "not host:port"}}},
		{"frontend names invalid listener once", "[[listeners]]\naddress = \"127.0.0.1:99999\"\nprotocol = \"http\"\n[clusters.a]\nfrontends = [{ address = \"127.0.0.1:99999\", hostname = \"a\" }]\n",
			[]wantErr{{2, "listeners[0].address", "port must be"}}},
		{"duplicate route", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"x.com\" }]\n[clusters.b]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"X.com\", path = \"/\" }]\n",
			[]wantErr{{10, "clusters.b.frontends[0]", "duplicates clusters.a.frontends[0] (line 8)"}}},

		// Hostnames and paths.
		{"hostname with port", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a.com:80\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].hostname", "must not contain a port"}}},
		{"hostname wildcard", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a.*.com\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].hostname", "a wildcard must be the whole left-most label"}}},
		{"hostname empty label", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a..com\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].hostname", "empty label"}}},
		{"regex", listenersHTTP + "[clusters.a]\nfrontends = [\n  { address = \"127.0.0.1:8080\", hostname = \"a\",\n    path = \"/(x\", path_type = \"regex\" },\n]\n",
			[]wantErr{{10, "clusters.a.frontends[0].path", "is not a valid regular expression"}}},
		{"prefix path without slash", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a\", path = \"api\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].path", `"api" must start with /`}}},
		{"path with query", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a\", path = \"/a?b\", path_type = \"equals\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].path", "the query and fragment are not part"}}},

		// Enumerated values.
		{"enum log_level", "log_level = \"verbose\"\n", []wantErr{{1, "log_level", `must be one of "debug", "info", "warn", "error", got "verbose"`}}},
		{"enum log_level case", "log_level = \"INFO\"\n", []wantErr{{1, "log_level", `(did you mean "info"?)`}}},
		{"enum log_format", "log_format = \"xml\"\n", []wantErr{{1, "log_format", `must be one of "text", "json"`}}},
		{"enum access_log_format", "access_log_format = \"csv\"\n", []wantErr{{1, "access_log_format", `must be one of "json", "text"`}}},
		{"enum protocol", "[[listeners]]\naddress = \"127.0.0.1:1\"\nprotocol = \"h2\"\n", []wantErr{{3, "listeners[0].protocol", `must be one of "http", "https", got "h2"`}}},
		{"enum load_balancing", "[clusters.a]\nload_balancing = \"rr\"\n", []wantErr{{2, "clusters.a.load_balancing", `"round_robin", "random", "least_loaded", "power_of_two"`}}},
		{"enum backend_protocol", "[clusters.a]\nbackend_protocol = \"http2\"\n", []wantErr{{2, "clusters.a.backend_protocol", `"http1", "h2c", "h2"`}}},
		{"enum h2_scheduler", "[[listeners]]\naddress = \"127.0.0.1:1\"\nprotocol = \"http\"\nh2_scheduler = \"RFC9218\"\n",
			[]wantErr{{4, "listeners[0].h2_scheduler", `must be one of "rfc9218", "fair", got "RFC9218" (did you mean "rfc9218"?)`}}},
		{"enum path_type", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a\", path_type = \"exact\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].path_type", `must be one of "prefix", "equals", "regex", got "exact"`}}},
		{"enum tls_versions", listenersHTTP + "tls_versions = [\n  \"TLS1.2\",\n  \"tls1.3\",\n  \"TLS1.2\",\n]\n",
			[]wantErr{{9, "listeners[1].tls_versions[1]", `got "tls1.3" (did you mean "TLS1.3"?)`}, {10, "listeners[1].tls_versions[2]", `"TLS1.2" is listed twice`}}},
		{"empty tls_versions", listenersHTTP + "tls_versions = []\n", []wantErr{{7, "listeners[1].tls_versions", "must list at least one of"}}},
		{"enum alpn_protocols", listenersHTTP + "alpn_protocols = [\"h3\"]\n", []wantErr{{7, "listeners[1].alpn_protocols[0]", `must be one of "h2", "http/1.1", got "h3"`}}},

		// Numbers out of range.
		{"range zero", listenersHTTP + "h2_max_concurrent_streams = 0\n", []wantErr{{7, "listeners[1].h2_max_concurrent_streams", "must be between 1 and 10000, got 0"}}},
		{"range seconds", listenersHTTP + "front_timeout = 0\n", []wantErr{{7, "listeners[1].front_timeout", "must be between 1 and 86400 seconds, got 0"}}},
		{"range huge seconds", listenersHTTP + "back_timeout = 99999999999999\n", []wantErr{{7, "listeners[1].back_timeout", "got 99999999999999"}}},
		{"range negative", listenersHTTP + "max_connections = -1\n", []wantErr{{7, "listeners[1].max_connections", "must be between 1 and 10000000, got -1"}}},
		{"range uint32 overflow", listenersHTTP + "h2_initial_window_size = 4294967296\n",
			[]wantErr{{7, "listeners[1].h2_initial_window_size", "must be between 65535 and 2147483647 bytes, got 4294967296"}}},
		{"range window", listenersHTTP + "h2_initial_window_size = 65534\n", []wantErr{{7, "listeners[1].h2_initial_window_size", "got 65534"}}},
		{"range header bytes", listenersHTTP + "max_header_bytes = 100\n", []wantErr{{7, "listeners[1].max_header_bytes", "must be between 1024 and 1048576 bytes"}}},
		{"range flood", listenersHTTP + "h2_max_rst_stream_per_window = 0\nh2_max_header_table_size = 100\n",
			[]wantErr{{7, "listeners[1].h2_max_rst_stream_per_window", "must be between 1 and 100000"}, {8, "listeners[1].h2_max_header_table_size", "between 4096 and"}}},
		{"range weight", "[clusters.a]\nbackends = [{ address = \"127.0.0.1:1\", weight = 1001 }]\n", []wantErr{{2, "clusters.a.backends[0].weight", "must be between 0 and 1000, got 1001"}}},
		{"range deadline", listenersHTTP + "h2_graceful_shutdown_deadline_seconds = -1\n",
			[]wantErr{{7, "listeners[1].h2_graceful_shutdown_deadline_seconds", "must be between 0 and 86400 seconds"}}},
		{"per-ip over max", listenersHTTP + "max_connections = 10\nmax_connections_per_ip = 11\n",
			[]wantErr{{8, "listeners[1].max_connections_per_ip", "more than max_connections (10)"}}},
		{"mux backend unlimited", "[clusters.a]\nbackend_protocol = \"h2\"\nbackend_max_connections = 0\n",
			[]wantErr{{3, "clusters.a.backend_max_connections", `must be at least 1 with backend_protocol = "h2"`}}},
		{"backoff order", "[clusters.a]\nhealth_backoff_min = 10\nhealth_backoff_max = 5\n",
			[]wantErr{{3, "clusters.a.health_backoff_max", "is 5, less than health_backoff_min (10)"}}},

		// Keys in the wrong kind of listener.
		{"tls key on http", oneHTTP + "tls_versions = [\"TLS1.3\"]\ncertificate = \"app.pem\"\nkey = \"app.key\"\n",
			[]wantErr{{4, "listeners[0].tls_versions", `applies only to protocol = "https" listeners`},
				{5, "listeners[0].certificate", "applies only to"}, {6, "listeners[0].key", "applies only to"}}},
		{"h2c on https", listenersHTTP + "h2c = true\n", []wantErr{{7, "listeners[1].h2c", `applies only to protocol = "http" listeners`}}},
		{"frontend cert on http", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"app.localhost\", certificate = \"app.pem\", key = \"app.key\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].certificate", "applies only to frontends of https listeners; 127.0.0.1:8080 is http"},
				{8, "clusters.a.frontends[0].key", "applies only to"}}},

		// Cipher suites.
		{"cipher suites", listenersHTTP + "cipher_suites = [\n  \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\",\n  \"TLS_RSA_WITH_RC4_128_SHA\",\n  \"TLS_AES_128_GCM_SHA256\",\n  \"NOPE\",\n  \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\",\n]\n",
			[]wantErr{{9, "listeners[1].cipher_suites[1]", "is insecure"}, {10, "listeners[1].cipher_suites[2]", "is a TLS 1.3 suite"},
				{11, "listeners[1].cipher_suites[3]", "not a cipher suite name"}, {12, "listeners[1].cipher_suites[4]", "is listed twice"}}},
		{"cipher suites without TLS 1.2", listenersHTTP + "tls_versions = [\"TLS1.3\"]\ncipher_suites = [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n",
			[]wantErr{{8, "listeners[1].cipher_suites", "has no effect"}}},
		{"empty cipher suites", listenersHTTP + "cipher_suites = []\n", []wantErr{{7, "listeners[1].cipher_suites", "must not be empty"}}},

		// Certificates.
		{"listener cert without key", listenersHTTP + "certificate = \"app.pem\"\n", []wantErr{{7, "listeners[1].certificate", "requires key"}}},
		{"listener key without cert", listenersHTTP + "key = \"app.key\"\ncertificate_chain = \"app.pem\"\n",
			[]wantErr{{7, "listeners[1].key", "requires certificate"}, {8, "listeners[1].certificate_chain", "requires certificate"}}},
		{"listener key mismatch", listenersHTTP + "certificate = \"app.pem\"\nkey = \"other.key\"\n",
			[]wantErr{{8, "listeners[1].key", "does not hold the private key of " + filepath.Join(dir, "app.pem")}}},
		{"frontend cert unreadable", listenersHTTP + "[clusters.a]\nfrontends = [\n  { address = \"127.0.0.1:8443\", hostname = \"app.localhost\",\n    certificate = \"missing.pem\", key = \"app.key\" },\n]\n",
			[]wantErr{{10, "clusters.a.frontends[0].certificate", "cannot read " + filepath.Join(dir, "missing.pem") + ": no such file or directory"}}},
		{"frontend key mismatch", listenersHTTP + "[clusters.a]\nfrontends = [\n  { address = \"127.0.0.1:8443\", hostname = \"app.localhost\",\n    certificate = \"app.pem\",\n    key = \"default.key\" },\n]\n",
			[]wantErr{{11, "clusters.a.frontends[0].key", "does not hold the private key"}}},
		{"frontend cert is a key", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8443\", hostname = \"a\", certificate = \"app.key\", key = \"app.key\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].certificate", "no PEM certificate found"}}},
		{"frontend cert without key", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8443\", hostname = \"a\", certificate = \"app.pem\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].certificate", "requires key"}}},
		{"frontend chain unreadable", listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8443\", hostname = \"a\", certificate = \"app.pem\", key = \"app.key\", certificate_chain = \".\" }]\n",
			[]wantErr{{8, "clusters.a.frontends[0].certificate_chain", "not a regular file"}}},
		{"backend CA", "[clusters.a]\nbackend_protocol = \"h2\"\nbackend_tls_ca = \"app.key\"\n",
			[]wantErr{{3, "clusters.a.backend_tls_ca", "no PEM certificate found"}}},
		{"backend server name", "[clusters.a]\nbackend_tls_server_name = \"bad name\"\n",
			[]wantErr{{2, "clusters.a.backend_tls_server_name", "not allowed in a host name"}}},

		// Backends.
		{"duplicate backend address", "[clusters.a]\nbackends = [\n  { address = \"127.0.0.1:9001\" },\n  { address = \"127.0.0.1:9001\" },\n]\n",
			[]wantErr{{4, "clusters.a.backends[1].address", "duplicates clusters.a.backends[0].address (line 3)"}}},
		{"duplicate backend id", "[clusters.a]\nbackends = [\n  { address = \"127.0.0.1:9001\", id = \"x\" },\n  { address = \"127.0.0.1:9002\", id = \"x\" },\n]\n",
			[]wantErr{{4, "clusters.a.backends[1].id", `"x" duplicates clusters.a.backends[0].id (line 3)`}}},
		{"duplicate backend address across clusters is fine", "[clusters.a]\nbackends = [{ address = \"127.0.0.1:9001\" }]\n[clusters.b]\nbackends = [{ address = \"127.0.0.1:9001\" }]\nlog_level = 3\n",
			[]wantErr{{5, "clusters.b.log_level", "unknown key"}}},
		{"backend id spaces", "[clusters.a]\nbackends = [{ address = \"127.0.0.1:9001\", id = \"a b\" }]\n",
			[]wantErr{{2, "clusters.a.backends[0].id", "printable ASCII without spaces"}}},

		// Clusters.
		{"cluster id", "[clusters.\"bad id\"]\n", []wantErr{{1, `clusters."bad id"`, "must be one or more of"}}},
		{"answers code", "[clusters.a]\nanswers = { \"200\" = \"x.html\", \"5xx\" = \"y.html\" }\n",
			[]wantErr{{2, `clusters.a.answers.200`, "from 400 to 599"}, {2, `clusters.a.answers.5xx`, "from 400 to 599"}}},
		{"answers unreadable", "[clusters.a]\n[clusters.a.answers]\n503 = \"nope.html\"\n",
			[]wantErr{{3, "clusters.a.answers.503", "cannot read " + filepath.Join(dir, "nope.html")}}},
		{"answers not table", "[clusters.a]\nanswers = [\"x\"]\n", []wantErr{{2, "clusters.a.answers", "must be a table"}}},

		// Files sluice will create.
		{"admin socket too long", "admin_socket = \"/tmp/" + long + "\"\n", []wantErr{{1, "admin_socket", "longer than the 107 bytes"}}},
		{"admin socket directory", "admin_socket = \"no/such/dir/s.sock\"\n", []wantErr{{1, "admin_socket", "no such file or directory"}}},
		{"access log directory", "\naccess_log = \"nodir/access.log\"\n", []wantErr{{2, "access_log", "no such file or directory"}}},
		{"saved state directory", "saved_state = \"app.pem/state.json\"\n", []wantErr{{1, "saved_state", "is not a directory"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadIn(t, dir, tc.src)
			checkErrors(t, file, err, tc.want)
		})
	}
}

// TestParseAllErrorsReported: one file with many problems yields all of
// them, in line order, as one error with one line per problem.
func TestParseAllErrorsReported(t *testing.T) {
	src := `log_level = "verbose"
log_formt = "json"

[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"
front_timeout = "60"

[[listeners]]
address = "127.0.0.1:8080"
protocol = "htps"
h2_max_concurrent_streams = 0

[clusters.app]
load_balancing = "rr"
frontends = [
  { address = "127.0.0.1:8081", hostname = "app.localhost" },
  { address = "127.0.0.1:8080", hostname = "*.x.*", path = "(", path_type = "regex" },
]
backends = [
  { address = "127.0.0.1:9001", id = "a" },
  { address = "127.0.0.1:9001" },
  { address = "127.0.0.1:9002", id = "a", weight = 2000 },
]
`
	_, err := Parse("sluice.toml", []byte(src))
	want := []wantErr{
		{1, "log_level", "must be one of"},
		{2, "log_formt", "unknown key"},
		{7, "listeners[0].front_timeout", "must be an integer"},
		{10, "listeners[1].address", "duplicates listeners[0].address (line 5)"},
		{11, "listeners[1].protocol", "must be one of"},
		{12, "listeners[1].h2_max_concurrent_streams", "must be between"},
		{15, "clusters.app.load_balancing", "must be one of"},
		{17, "clusters.app.frontends[0].address", "is not the address of any listener"},
		{18, "clusters.app.frontends[1].hostname", "wildcard"},
		{18, "clusters.app.frontends[1].path", "regular expression"},
		{22, "clusters.app.backends[1].address", "duplicates clusters.app.backends[0].address (line 21)"},
		{23, "clusters.app.backends[2].weight", "must be between 0 and 1000"},
		{23, "clusters.app.backends[2].id", `"a" duplicates clusters.app.backends[0].id (line 21)`},
	}
	checkErrors(t, "sluice.toml", err, want)
	if n := strings.Count(err.Error(), "\n"); n != len(want)-1 {
		t.Errorf("Error() has %d lines, want one per problem (%d)", n+1, len(want))
	}
}
