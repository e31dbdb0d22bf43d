package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks a Config after defaults were applied: every value in its
// range, every enumerated key one of its values, listeners unique, frontends
// naming declared listeners, certificates readable and matching their keys.
// It returns nil or an Errors listing every problem.
//
// On a Config built in code, errors carry c.File and the Line fields of the
// structs (both usually zero). Durations built in code may be finer than a
// second; the file's whole-second ranges then only require them positive.
func Validate(c *Config) error {
	v := &validator{file: c.File}
	v.config(c)
	if len(v.errs) == 0 {
		return nil
	}
	v.errs.sortByLine()
	return v.errs
}

// validator collects errors. When it runs inside Parse it knows the line of
// every key the file holds and which keys the decoder already reported.
type validator struct {
	file  string
	lines map[string]int  // nil outside Parse
	bad   map[string]bool // nil outside Parse
	errs  Errors
}

func (v *validator) line(key string, fallback int) int {
	if l, ok := v.lines[key]; ok {
		return l
	}
	return fallback
}

// errorf reports a problem with key; fallback is the line to use when the
// key is not in the file (a missing required key: its table's line).
func (v *validator) errorf(key string, fallback int, format string, args ...any) {
	if v.bad[key] {
		return
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: v.line(key, fallback), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func quoteList(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, ", ")
}

// enum checks a value against its allowed spellings. Case matters: the
// spelling is part of the contract, but a near miss gets a hint.
func (v *validator) enum(key string, fallback int, got string, allowed []string) bool {
	if oneOf(got, allowed) {
		return true
	}
	if got == "" {
		v.errorf(key, fallback, "is required: one of %s", quoteList(allowed))
		return false
	}
	hint := ""
	for _, a := range allowed {
		if strings.EqualFold(a, got) {
			hint = fmt.Sprintf(" (did you mean %q?)", a)
		}
	}
	v.errorf(key, fallback, "must be one of %s, got %q%s", quoteList(allowed), got, hint)
	return false
}

// intRange checks an integer key against its limits entry.
func (v *validator) intRange(key string, fallback int, name string, n int) {
	if b := limits[name]; !b.contains(int64(n)) {
		v.errorf(key, fallback, "%s", b.msg(strconv.Itoa(n)))
	}
}

// durRange checks a duration key against its limits entry (see durationOK).
func (v *validator) durRange(key string, fallback int, name string, d time.Duration) {
	if b := limits[name]; !durationOK(b, d) {
		v.errorf(key, fallback, "%s", b.msg(seconds(d)))
	}
}

// firstUse remembers where a value was first seen, to name it in a
// "duplicates" error.
type firstUse struct {
	key  string
	line int
}

func (f firstUse) String() string {
	if f.line > 0 {
		return fmt.Sprintf("%s (line %d)", f.key, f.line)
	}
	return f.key
}

func (v *validator) config(c *Config) {
	v.enum("log_level", 0, c.LogLevel, logLevels)
	v.enum("log_format", 0, c.LogFormat, logFormats)
	v.enum("access_log_format", 0, c.AccessLogFormat, accessLogFormats)
	switch c.AccessLog {
	case AccessLogStdout, AccessLogStderr, AccessLogOff:
	case "":
		v.errorf("access_log", 0, `must not be empty: "stdout", "stderr", "off" or a file path`)
	default:
		if err := checkParentDir(c.AccessLog); err != nil {
			v.errorf("access_log", 0, "%v", err)
		}
	}
	if c.AdminSocket != "" {
		// sun_path is 108 bytes on Linux, including the terminating NUL.
		if len(c.AdminSocket) > 107 {
			v.errorf("admin_socket", 0, "%s is longer than the 107 bytes a unix socket path may have", c.AdminSocket)
		} else if err := checkParentDir(c.AdminSocket); err != nil {
			v.errorf("admin_socket", 0, "%v", err)
		}
	}
	if len(c.AdminAllowedUIDs) > 0 && c.AdminSocket == "" {
		v.errorf("admin_allowed_uids", 0, "has no effect without admin_socket")
	}
	for i, uid := range c.AdminAllowedUIDs {
		if uid < 0 || uid > maxUID {
			v.errorf(index("admin_allowed_uids", i), 0, "must be a user id from 0 to %d, got %d", maxUID, uid)
		} else if slices.Index(c.AdminAllowedUIDs, uid) < i {
			v.errorf(index("admin_allowed_uids", i), 0, "%d is listed twice", uid)
		}
	}
	if c.SavedState != "" {
		if err := checkParentDir(c.SavedState); err != nil {
			v.errorf("saved_state", 0, "%v", err)
		}
	}

	// Listener addresses, canonical and as written (so that a frontend
	// naming an invalid listener address is not reported a second time).
	listeners := map[string]*Listener{}
	seen := map[string]firstUse{}
	for i, l := range c.Listeners {
		if l == nil {
			continue
		}
		key := index("listeners", i)
		if v.bad[key] {
			continue // not a table in the file: already reported
		}
		v.listener(key, l)
		listeners[l.Address] = l
		if a, err := canonicalListenAddr(l.Address); err == nil {
			listeners[a] = l
			ak := key + ".address"
			if first, dup := seen[a]; dup {
				v.errorf(ak, l.Line, "duplicates %s: two listeners cannot bind %s", first, a)
			} else {
				seen[a] = firstUse{ak, v.line(ak, l.Line)}
			}
		}
	}
	if c.MetricsAddress != "" {
		if a, err := canonicalListenAddr(c.MetricsAddress); err != nil {
			v.errorf("metrics_address", 0, "%v", err)
		} else if first, dup := seen[a]; dup {
			v.errorf("metrics_address", 0, "is the address of %s", first)
		}
	}

	ids := map[string]firstUse{}
	routes := map[string]firstUse{}
	for _, cl := range c.Clusters {
		if cl == nil {
			continue
		}
		key := joinKey("clusters", cl.ID)
		if first, dup := ids[cl.ID]; dup {
			v.errorf(key, cl.Line, "duplicates %s", first)
			continue
		}
		ids[cl.ID] = firstUse{key, cl.Line}
		v.cluster(key, cl, listeners, routes)
	}
}

func (v *validator) listener(key string, l *Listener) {
	k := func(name string) string { return key + "." + name }
	if l.Address == "" {
		v.errorf(k("address"), l.Line, "is required")
	} else if _, err := canonicalListenAddr(l.Address); err != nil {
		v.errorf(k("address"), l.Line, "%v", err)
	}
	validProto := v.enum(k("protocol"), l.Line, l.Protocol, protocols)

	v.durRange(k("front_timeout"), l.Line, "front_timeout", l.FrontTimeout)
	v.durRange(k("request_timeout"), l.Line, "request_timeout", l.RequestTimeout)
	v.durRange(k("back_timeout"), l.Line, "back_timeout", l.BackTimeout)
	v.durRange(k("connect_timeout"), l.Line, "connect_timeout", l.ConnectTimeout)
	v.intRange(k("max_header_bytes"), l.Line, "max_header_bytes", l.MaxHeaderBytes)
	v.intRange(k("max_header_count"), l.Line, "max_header_count", l.MaxHeaderCount)
	v.intRange(k("max_connections"), l.Line, "max_connections", l.MaxConnections)
	v.intRange(k("max_connections_per_ip"), l.Line, "max_connections_per_ip", l.MaxConnectionsPerIP)
	if l.MaxConnectionsPerIP > l.MaxConnections && limits["max_connections"].contains(int64(l.MaxConnections)) {
		v.errorf(k("max_connections_per_ip"), l.Line, "is %d, more than max_connections (%d): it could never apply",
			l.MaxConnectionsPerIP, l.MaxConnections)
	}

	v.intRange(k("h2_max_concurrent_streams"), l.Line, "h2_max_concurrent_streams", int(l.H2MaxConcurrentStreams))
	v.intRange(k("h2_initial_window_size"), l.Line, "h2_initial_window_size", int(l.H2InitialWindowSize))
	v.durRange(k("h2_stream_idle_timeout_seconds"), l.Line, "h2_stream_idle_timeout_seconds", l.H2StreamIdleTimeout)
	v.durRange(k("h2_graceful_shutdown_deadline_seconds"), l.Line, "h2_graceful_shutdown_deadline_seconds", l.H2GracefulShutdownDeadline)
	v.durRange(k("h2_settings_ack_timeout_seconds"), l.Line, "h2_settings_ack_timeout_seconds", l.H2SettingsAckTimeout)
	v.enum(k("h2_scheduler"), l.Line, l.H2Scheduler, h2Schedulers)
	for _, fl := range floodKeys(&l.Flood) {
		v.intRange(k(fl.name), l.Line, fl.name, *fl.val)
	}

	if !validProto {
		return // which keys apply depends on the protocol
	}
	if l.Protocol == ProtocolHTTP {
		misplaced := func(name string, set bool) {
			if set {
				v.errorf(k(name), l.Line, `applies only to protocol = "https" listeners`)
			}
		}
		misplaced("tls_versions", l.TLSVersions != nil)
		misplaced("cipher_suites", l.CipherSuites != nil)
		misplaced("alpn_protocols", l.ALPNProtocols != nil)
		misplaced("certificate", l.Certificate != "")
		misplaced("key", l.Key != "")
		misplaced("certificate_chain", l.CertificateChain != "")
		misplaced("certificates", l.Certificates != nil)
		return
	}

	if l.H2C {
		// h2c is cleartext HTTP/2 (RFC 9113 3.3); over TLS, HTTP/2 is
		// negotiated with ALPN instead (alpn_protocols).
		v.errorf(k("h2c"), l.Line, `applies only to protocol = "http" listeners; on https, HTTP/2 is chosen by alpn_protocols`)
	}
	v.subset(k("tls_versions"), l.Line, l.TLSVersions, tlsVersionNames)
	v.subset(k("alpn_protocols"), l.Line, l.ALPNProtocols, alpnNames)
	if l.CipherSuites != nil {
		ck := k("cipher_suites")
		if len(l.CipherSuites) == 0 {
			v.errorf(ck, l.Line, "must not be empty (leave cipher_suites out to use Go's defaults)")
		}
		for i, s := range l.CipherSuites {
			if p := cipherSuiteProblem(s); p != "" {
				v.errorf(index(ck, i), l.Line, "%q %s", s, p)
			} else if slices.Index(l.CipherSuites, s) < i {
				v.errorf(index(ck, i), l.Line, "%q is listed twice", s)
			}
		}
		if len(l.CipherSuites) > 0 && !slices.Contains(l.TLSVersions, TLS12) {
			v.errorf(ck, l.Line, `has no effect: it configures TLS 1.2, which tls_versions does not include`)
		}
	}
	v.certificate(key, l.Line, l.Certificate, l.Key, l.CertificateChain)
	for i, c := range l.Certificates {
		ck := index(k("certificates"), i)
		if c == nil || v.bad[ck] {
			continue
		}
		if c.Certificate == "" {
			v.errorf(ck+".certificate", c.Line, "is required")
			continue
		}
		v.certificate(ck, c.Line, c.Certificate, c.Key, c.CertificateChain)
	}
}

// subset checks a non-empty list drawn from allowed, without repeats.
func (v *validator) subset(key string, fallback int, list, allowed []string) {
	if len(list) == 0 {
		v.errorf(key, fallback, "must list at least one of %s", quoteList(allowed))
		return
	}
	for i, s := range list {
		ek := index(key, i)
		switch {
		case !oneOf(s, allowed):
			hint := ""
			for _, a := range allowed {
				if strings.EqualFold(a, s) {
					hint = fmt.Sprintf(" (did you mean %q?)", a)
				}
			}
			v.errorf(ek, v.line(key, fallback), "must be one of %s, got %q%s", quoteList(allowed), s, hint)
		case slices.Index(list, s) < i:
			v.errorf(ek, v.line(key, fallback), "%q is listed twice", s)
		}
	}
}

// certificate checks a certificate/key/chain triple of a listener or a
// frontend whose keys live under prefix.
func (v *validator) certificate(prefix string, fallback int, cert, key, chain string) {
	ck, kk, chk := prefix+".certificate", prefix+".key", prefix+".certificate_chain"
	switch {
	case cert == "" && key == "" && chain == "":
		return
	case cert == "":
		if key != "" {
			v.errorf(kk, fallback, "requires certificate")
		}
		if chain != "" {
			v.errorf(chk, fallback, "requires certificate")
		}
		return
	case key == "":
		v.errorf(ck, fallback, "requires key (the PEM file of its private key)")
		return
	}
	p := checkCertificate(cert, key, chain)
	if p.cert != nil {
		v.errorf(ck, fallback, "%v", p.cert)
	}
	if p.key != nil {
		v.errorf(kk, fallback, "%v", p.key)
	}
	if p.chain != nil {
		v.errorf(chk, fallback, "%v", p.chain)
	}
}

// clusterID is the shape of a cluster ID: it appears in metric labels, log
// lines and admin commands.
var clusterID = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (v *validator) cluster(key string, cl *Cluster, listeners map[string]*Listener, routes map[string]firstUse) {
	k := func(name string) string { return key + "." + name }
	if !clusterID.MatchString(cl.ID) {
		v.errorf(key, cl.Line, "cluster ID %q must be one or more of A-Z a-z 0-9 _ . -", cl.ID)
	}
	v.enum(k("load_balancing"), cl.Line, cl.LoadBalancing, lbPolicies)
	validProto := v.enum(k("backend_protocol"), cl.Line, cl.BackendProtocol, backendProtocols)
	if cl.BackendTLSCA != "" {
		if err := checkCAFile(cl.BackendTLSCA); err != nil {
			v.errorf(k("backend_tls_ca"), cl.Line, "%v", err)
		}
	}
	if sn := cl.BackendTLSServerName; sn != "" {
		if err := checkHostname(sn, false); err != nil {
			v.errorf(k("backend_tls_server_name"), cl.Line, "%v", err)
		}
	}
	mk := k("backend_max_connections")
	v.intRange(mk, cl.Line, "backend_max_connections", cl.BackendMaxConnections)
	if validProto && isMultiplexed(cl.BackendProtocol) && cl.BackendMaxConnections == 0 {
		v.errorf(mk, cl.Line, "%s", muxUnlimitedMsg(cl.BackendProtocol))
	}
	v.intRange(k("max_idle_connections"), cl.Line, "max_idle_connections", cl.MaxIdleConnections)
	v.durRange(k("idle_connection_timeout"), cl.Line, "idle_connection_timeout", cl.IdleConnectionTimeout)
	v.intRange(k("connect_retries"), cl.Line, "connect_retries", cl.ConnectRetries)
	v.intRange(k("retry_buffer_bytes"), cl.Line, "retry_buffer_bytes", cl.RetryBufferBytes)
	v.durRange(k("health_backoff_min"), cl.Line, "health_backoff_min", cl.HealthBackoffMin)
	v.durRange(k("backend_h2_read_idle_timeout"), cl.Line, "backend_h2_read_idle_timeout", cl.BackendH2ReadIdleTimeout)
	v.durRange(k("backend_h2_ping_timeout"), cl.Line, "backend_h2_ping_timeout", cl.BackendH2PingTimeout)
	v.durRange(k("health_backoff_max"), cl.Line, "health_backoff_max", cl.HealthBackoffMax)
	if cl.HealthBackoffMax < cl.HealthBackoffMin {
		v.errorf(k("health_backoff_max"), cl.Line, "is %s, less than health_backoff_min (%s)",
			seconds(cl.HealthBackoffMax), seconds(cl.HealthBackoffMin))
	}
	for code := range cl.Answers {
		if code < 400 || code > 599 {
			v.errorf(k("answers."+strconv.Itoa(code)), cl.Line, "must be an HTTP status code from 400 to 599")
		}
	}

	for i, f := range cl.Frontends {
		if fk := index(k("frontends"), i); f != nil && !v.bad[fk] {
			v.frontend(fk, f, listeners, routes)
		}
	}
	addrs := map[string]firstUse{}
	ids := map[string]idUse{}
	for i, b := range cl.Backends {
		if bk := index(k("backends"), i); b != nil && !v.bad[bk] {
			v.backend(bk, b, addrs, ids)
		}
	}
}

func (v *validator) frontend(key string, f *Frontend, listeners map[string]*Listener, routes map[string]firstUse) {
	k := func(name string) string { return key + "." + name }
	var l *Listener
	ak := k("address")
	if f.Address == "" {
		v.errorf(ak, f.Line, "is required: the address of a listener")
	} else if l = listeners[f.Address]; l == nil {
		a, err := canonicalListenAddr(f.Address)
		if err != nil {
			v.errorf(ak, f.Line, "%v", err)
		} else if l = listeners[a]; l == nil {
			v.errorf(ak, f.Line, "%s is not the address of any listener (declared: %s)", a, declared(listeners))
		}
	}

	hk := k("hostname")
	if f.Hostname == "" {
		v.errorf(hk, f.Line, "is required")
	} else if err := checkHostname(f.Hostname, true); err != nil {
		v.errorf(hk, f.Line, "%v", err)
	}

	pk := k("path")
	if v.enum(k("path_type"), f.Line, f.PathType, pathTypes) {
		switch f.PathType {
		case PathRegex:
			if _, err := regexp.Compile(f.Path); err != nil {
				v.errorf(pk, f.Line, "is not a valid regular expression (Go RE2 syntax): %v", err)
			}
		case PathPrefix, PathEquals:
			if err := checkPath(f.Path); err != nil {
				v.errorf(pk, f.Line, "%v", err)
			}
		}
	}

	if l != nil && l.Protocol == ProtocolHTTP {
		for _, kv := range []struct {
			name string
			set  bool
		}{{"certificate", f.Certificate != ""}, {"key", f.Key != ""}, {"certificate_chain", f.CertificateChain != ""}} {
			if kv.set {
				v.errorf(k(kv.name), f.Line, "applies only to frontends of https listeners; %s is http", l.Address)
			}
		}
	} else {
		v.certificate(key, f.Line, f.Certificate, f.Key, f.CertificateChain)
	}

	// Two clusters claiming the same route would leave the router to pick
	// one silently.
	if l != nil {
		route := l.Address + " " + normalizeHostname(f.Hostname) + " " + f.PathType + " " + f.Path
		if first, dup := routes[route]; dup {
			v.errorf(key, f.Line, "duplicates %s: same address, hostname, path and path_type", first)
		} else {
			routes[route] = firstUse{key, v.line(key, f.Line)}
		}
	}
}

func isMultiplexed(backendProtocol string) bool {
	return backendProtocol == BackendH2C || backendProtocol == BackendH2
}

func muxUnlimitedMsg(backendProtocol string) string {
	return fmt.Sprintf(`must be at least 1 with backend_protocol = %q: 0 (unlimited) applies only to "http1"`, backendProtocol)
}

// checkPath checks a prefix or exact path: an absolute path as it appears
// in a request (RFC 9110 4.2.3), without the query, which is never matched.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	for _, c := range []byte(p) {
		switch {
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("%q contains a space or control character", p)
		case c == '?' || c == '#':
			return fmt.Errorf("%q contains %q: the query and fragment are not part of the matched path", p, c)
		}
	}
	return nil
}

func declared(listeners map[string]*Listener) string {
	var out []string
	for a, l := range listeners {
		if a == l.Address {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

// idUse is where a backend ID was first seen, and the address it named.
type idUse struct {
	firstUse
	addr string
}

func (v *validator) backend(key string, b *Backend, addrs map[string]firstUse, ids map[string]idUse) {
	k := func(name string) string { return key + "." + name }
	ak := k("address")
	canon := ""
	if b.Address == "" {
		v.errorf(ak, b.Line, "is required")
	} else if a, err := canonicalBackendAddr(b.Address); err != nil {
		v.errorf(ak, b.Line, "%v", err)
	} else {
		canon = a
		if first, dup := addrs[a]; dup {
			v.errorf(ak, b.Line, "duplicates %s", first)
		} else {
			addrs[a] = firstUse{ak, v.line(ak, b.Line)}
		}
	}

	ik := k("id")
	switch {
	case b.ID == "":
		v.errorf(ik, b.Line, "is required")
	case len(b.ID) > 255:
		v.errorf(ik, b.Line, "is longer than 255 bytes")
	case strings.IndexFunc(b.ID, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		v.errorf(ik, b.Line, "%q must be printable ASCII without spaces", b.ID)
	default:
		if first, dup := ids[b.ID]; dup {
			// Two backends with the same address get the same default ID;
			// the address error already says so.
			if canon == "" || first.addr != canon {
				v.errorf(ik, b.Line, "%q duplicates %s", b.ID, first.firstUse)
			}
		} else {
			ids[b.ID] = idUse{firstUse{ik, v.line(ik, b.Line)}, canon}
		}
	}
	v.intRange(k("weight"), b.Line, "weight", b.Weight)
}

// floodKey pairs a flood-limit key with its field.
type floodKey struct {
	name string
	val  *int
}

func floodKeys(f *FloodLimits) []floodKey {
	return []floodKey{
		{"h2_max_rst_stream_per_window", &f.RSTStreamPerWindow},
		{"h2_max_rst_stream_lifetime", &f.RSTStreamLifetime},
		{"h2_max_rst_stream_abusive_lifetime", &f.RSTStreamAbusiveLifetime},
		{"h2_max_rst_stream_emitted_lifetime", &f.RSTStreamEmittedLifetime},
		{"h2_max_pending_rst_streams", &f.PendingRSTStreams},
		{"h2_max_ping_per_window", &f.PingPerWindow},
		{"h2_max_ping_lifetime", &f.PingLifetime},
		{"h2_max_settings_per_window", &f.SettingsPerWindow},
		{"h2_max_settings_lifetime", &f.SettingsLifetime},
		{"h2_max_empty_data_per_window", &f.EmptyDataPerWindow},
		{"h2_max_window_update_stream0_per_window", &f.WindowUpdateZeroPerWindow},
		{"h2_max_continuation_frames", &f.ContinuationFrames},
		{"h2_max_header_list_size", &f.HeaderListSize},
		{"h2_max_header_fields", &f.HeaderFields},
		{"h2_max_header_table_size", &f.HeaderTableSize},
		{"h2_max_glitch_count", &f.GlitchCount},
		{"h2_refused_streams_before_shrink", &f.RefusedStreamsBeforeShrink},
		{"h2_max_settings_entries", &f.SettingsEntries},
		{"h2_max_priority_entries", &f.PriorityEntries},
	}
}
