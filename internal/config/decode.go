package config

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// decoder turns the positioned tree into a Config. It reports unknown keys,
// wrong types and numbers out of range, and records the line of every key
// it meets so that validation errors can point at the file too.
type decoder struct {
	file  string
	dir   string // relative paths in the file are resolved against it
	errs  Errors
	lines map[string]int  // display key -> line of its value
	bad   map[string]bool // display keys already reported: no second error
}

func newDecoder(file string) *decoder {
	d := &decoder{file: file, lines: map[string]int{}, bad: map[string]bool{}}
	if file != "" {
		d.dir = filepath.Dir(file)
	}
	return d
}

// fld is one key being decoded.
type fld struct {
	key     string // display key, e.g. listeners[0].protocol
	name    string // the key as written in its table, e.g. protocol
	keyLine int
	v       *value
}

func (d *decoder) field(prefix string, e *entry) fld {
	f := fld{key: joinKey(prefix, e.name), name: e.name, keyLine: e.line, v: e.val}
	d.lines[f.key] = e.val.line
	return f
}

func (d *decoder) fail(key string, line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	d.bad[key] = true
}

func (d *decoder) typeErr(f fld, want string) {
	d.fail(f.key, f.v.line, "must be %s, not %s", want, f.v.kind)
}

// bareKey matches the keys TOML lets one write without quotes.
var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends a key to a display path, quoting it the way TOML would
// need it quoted ([clusters."my.app"]).
func joinKey(prefix, name string) string {
	if !bareKey.MatchString(name) {
		name = strconv.Quote(name)
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func index(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

// setter decodes one key into a T.
type setter[T any] func(d *decoder, f fld, x *T)

// decodeTable decodes every entry of t with the setters of its section and
// reports the entries no setter knows.
func decodeTable[T any](d *decoder, t *table, prefix string, fields map[string]setter[T], x *T) {
	for _, e := range t.entries {
		f := d.field(prefix, e)
		if set, ok := fields[e.name]; ok {
			set(d, f, x)
			continue
		}
		msg := "unknown key"
		if s := suggest(e.name, fields); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.fail(f.key, f.keyLine, "%s", msg)
	}
}

// Scalar decoders. Each leaves *dst untouched when the value is unusable.

func (d *decoder) str(f fld, dst *string) {
	if f.v.kind != kString {
		d.typeErr(f, "a string")
		return
	}
	*dst = f.v.str
}

// text decodes a string that must not be empty: an enumerated value or a
// required one. Writing `key = ""` is a mistake, never a way to ask for the
// default (leave the key out for that).
func (d *decoder) text(f fld, dst *string) {
	if f.v.kind == kString && f.v.str == "" {
		d.fail(f.key, f.v.line, "must not be empty")
		return
	}
	d.str(f, dst)
}

// path decodes a file path, resolved against the config file's directory.
func (d *decoder) path(f fld, dst *string) {
	d.str(f, dst)
	if f.v.kind == kString {
		*dst = d.resolve(*dst)
	}
}

func (d *decoder) resolve(p string) string {
	if p == "" || d.dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

func (d *decoder) boolean(f fld, dst *bool) {
	if f.v.kind != kBool {
		d.typeErr(f, "a boolean (true or false)")
		return
	}
	*dst = f.v.b
}

// number decodes an integer and checks it against limits; ok is false when
// the value was reported.
func (d *decoder) number(f fld) (n int64, ok bool) {
	if f.v.kind != kInteger {
		if f.v.kind == kString {
			d.fail(f.key, f.v.line, "must be an integer, not a string (write %s without quotes)", strconv.Quote(f.v.str))
		} else {
			d.typeErr(f, "an integer")
		}
		return 0, false
	}
	if b, has := limits[f.name]; has && !b.contains(f.v.num) {
		d.fail(f.key, f.v.line, "%s", b.msg(strconv.FormatInt(f.v.num, 10)))
		return 0, false
	}
	return f.v.num, true
}

func (d *decoder) integer(f fld, dst *int) {
	if n, ok := d.number(f); ok && n >= math.MinInt && n <= math.MaxInt {
		*dst = int(n)
	}
}

// uint32Field: every uint32 key has bounds inside the uint32 range.
func (d *decoder) uint32Field(f fld, dst *uint32) {
	if n, ok := d.number(f); ok && n >= 0 && n <= math.MaxUint32 {
		*dst = uint32(n)
	}
}

// secondsField decodes a duration written as whole seconds; every duration
// key has bounds, which keep it far from time.Duration's range.
func (d *decoder) secondsField(f fld, dst *time.Duration) {
	if n, ok := d.number(f); ok {
		*dst = time.Duration(n) * time.Second
	}
}

// strings decodes an array of strings. An empty array gives an empty,
// non-nil slice, which validation tells apart from "unset".
func (d *decoder) strings(f fld, dst *[]string) {
	if f.v.kind != kArray {
		d.typeErr(f, "an array of strings")
		return
	}
	out := make([]string, 0, len(f.v.arr))
	ok := true
	for i, ev := range f.v.arr {
		k := index(f.key, i)
		d.lines[k] = ev.line
		if ev.kind != kString {
			d.fail(k, ev.line, "must be a string, not %s", ev.kind)
			ok = false
			continue
		}
		out = append(out, ev.str)
	}
	if ok {
		*dst = out
	} else {
		d.bad[f.key] = true
	}
}

// tables returns the elements of an array of tables (written either as
// [[name]] headers or as an array of inline tables), reporting the others
// and returning nil in their place. Callers append a placeholder struct for
// a nil, so that index i of the Go slice is element i of the file and the
// validator names the right element; it skips the placeholders, whose key
// is marked bad (and Parse fails anyway).
func (d *decoder) tables(f fld, what string) []*value {
	if f.v.kind != kArray {
		d.typeErr(f, "an array of tables ("+what+")")
		return nil
	}
	var out []*value
	for i, ev := range f.v.arr {
		k := index(f.key, i)
		d.lines[k] = ev.line
		if ev.kind != kTable {
			d.fail(k, ev.line, "must be a table, not %s", ev.kind)
			out = append(out, nil)
			continue
		}
		out = append(out, ev)
	}
	return out
}

var topFields = map[string]setter[Config]{
	"log_level":         func(d *decoder, f fld, c *Config) { d.text(f, &c.LogLevel) },
	"log_format":        func(d *decoder, f fld, c *Config) { d.text(f, &c.LogFormat) },
	"access_log_format": func(d *decoder, f fld, c *Config) { d.text(f, &c.AccessLogFormat) },
	"access_log": func(d *decoder, f fld, c *Config) {
		d.text(f, &c.AccessLog)
		switch c.AccessLog {
		case AccessLogStdout, AccessLogStderr, AccessLogOff, "":
		default:
			c.AccessLog = d.resolve(c.AccessLog)
		}
	},
	"admin_socket":       func(d *decoder, f fld, c *Config) { d.path(f, &c.AdminSocket) },
	"metrics_address":    func(d *decoder, f fld, c *Config) { d.str(f, &c.MetricsAddress) },
	"saved_state":        func(d *decoder, f fld, c *Config) { d.path(f, &c.SavedState) },
	"admin_allowed_uids": func(d *decoder, f fld, c *Config) { d.uids(f, &c.AdminAllowedUIDs) },
	"listeners":          func(d *decoder, f fld, c *Config) { d.listeners(f, c) },
	"clusters":           func(d *decoder, f fld, c *Config) { d.clusters(f, c) },
}

func (d *decoder) config(root *table) *Config {
	c := &Config{File: d.file}
	decodeTable(d, root, "", topFields, c)
	return c
}

func (d *decoder) listeners(f fld, c *Config) {
	for i, ev := range d.tables(f, "[[listeners]]") {
		if ev == nil {
			c.Listeners = append(c.Listeners, &Listener{})
			continue
		}
		l := &Listener{Line: ev.line}
		presetListener(l)
		decodeTable(d, ev.tab, index(f.key, i), listenerFields, l)
		// h2c defaults to true only where it applies.
		if ev.tab.get("h2c") == nil && l.Protocol != ProtocolHTTP {
			l.H2C = false
		}
		c.Listeners = append(c.Listeners, l)
	}
}

func (d *decoder) clusters(f fld, c *Config) {
	if f.v.kind != kTable {
		d.typeErr(f, "a table of clusters ([clusters.ID])")
		return
	}
	for _, e := range f.v.tab.entries {
		cf := d.field(f.key, e)
		if e.val.kind != kTable {
			d.typeErr(cf, "a table ([clusters.ID])")
			continue
		}
		cl := &Cluster{Line: e.val.line, ID: e.name}
		presetCluster(cl)
		decodeTable(d, e.val.tab, cf.key, clusterFields, cl)
		// A written 0 must be reported here: ApplyDefaults reads a 0 on a
		// multiplexed cluster as "unset".
		mk := joinKey(cf.key, "backend_max_connections")
		if e.val.tab.get("backend_max_connections") != nil && !d.bad[mk] && cl.BackendMaxConnections == 0 &&
			isMultiplexed(cl.BackendProtocol) {
			d.fail(mk, d.lines[mk], "%s", muxUnlimitedMsg(cl.BackendProtocol))
		}
		c.Clusters = append(c.Clusters, cl)
	}
	sort.SliceStable(c.Clusters, func(i, j int) bool { return c.Clusters[i].ID < c.Clusters[j].ID })
}

func (d *decoder) frontends(f fld, cl *Cluster) {
	for i, ev := range d.tables(f, "inline tables { address = ..., hostname = ... }") {
		if ev == nil {
			cl.Frontends = append(cl.Frontends, &Frontend{})
			continue
		}
		fe := &Frontend{Line: ev.line}
		decodeTable(d, ev.tab, index(f.key, i), frontendFields, fe)
		cl.Frontends = append(cl.Frontends, fe)
	}
}

func (d *decoder) backends(f fld, cl *Cluster) {
	for i, ev := range d.tables(f, "inline tables { address = ... }") {
		if ev == nil {
			cl.Backends = append(cl.Backends, &Backend{})
			continue
		}
		b := &Backend{Line: ev.line}
		presetBackend(b)
		decodeTable(d, ev.tab, index(f.key, i), backendFields, b)
		cl.Backends = append(cl.Backends, b)
	}
}

// maxAnswerBytes bounds a custom answer file: answers are small pages held
// in memory for every cluster.
const maxAnswerBytes = 1 << 20

func (d *decoder) answers(f fld, cl *Cluster) {
	if f.v.kind != kTable {
		d.typeErr(f, `a table of status = "file" ({ "503" = "maintenance.html" })`)
		return
	}
	for _, e := range f.v.tab.entries {
		af := d.field(f.key, e)
		code, err := strconv.Atoi(e.name)
		if err != nil || strconv.Itoa(code) != e.name || code < 400 || code > 599 {
			d.fail(af.key, af.keyLine, "must be an HTTP status code from 400 to 599")
			continue
		}
		var p string
		d.path(af, &p)
		if af.v.kind != kString {
			continue
		}
		body, err := readFileLimited(p, maxAnswerBytes)
		if err != nil {
			d.fail(af.key, af.v.line, "%v", err)
			continue
		}
		if cl.Answers == nil {
			cl.Answers = map[int]string{}
			cl.AnswerFiles = map[int]string{}
		}
		cl.Answers[code] = string(body)
		cl.AnswerFiles[code] = p
	}
}

var listenerFields = map[string]setter[Listener]{
	"address":         func(d *decoder, f fld, l *Listener) { d.text(f, &l.Address) },
	"protocol":        func(d *decoder, f fld, l *Listener) { d.text(f, &l.Protocol) },
	"h2c":             func(d *decoder, f fld, l *Listener) { d.boolean(f, &l.H2C) },
	"front_timeout":   func(d *decoder, f fld, l *Listener) { d.secondsField(f, &l.FrontTimeout) },
	"request_timeout": func(d *decoder, f fld, l *Listener) { d.secondsField(f, &l.RequestTimeout) },
	"back_timeout":    func(d *decoder, f fld, l *Listener) { d.secondsField(f, &l.BackTimeout) },
	"connect_timeout": func(d *decoder, f fld, l *Listener) { d.secondsField(f, &l.ConnectTimeout) },

	"max_header_bytes":       func(d *decoder, f fld, l *Listener) { d.integer(f, &l.MaxHeaderBytes) },
	"max_header_count":       func(d *decoder, f fld, l *Listener) { d.integer(f, &l.MaxHeaderCount) },
	"max_connections":        func(d *decoder, f fld, l *Listener) { d.integer(f, &l.MaxConnections) },
	"max_connections_per_ip": func(d *decoder, f fld, l *Listener) { d.integer(f, &l.MaxConnectionsPerIP) },

	"h2_max_concurrent_streams": func(d *decoder, f fld, l *Listener) { d.uint32Field(f, &l.H2MaxConcurrentStreams) },
	"h2_initial_window_size":    func(d *decoder, f fld, l *Listener) { d.uint32Field(f, &l.H2InitialWindowSize) },
	"h2_stream_idle_timeout_seconds": func(d *decoder, f fld, l *Listener) {
		d.secondsField(f, &l.H2StreamIdleTimeout)
	},
	"h2_graceful_shutdown_deadline_seconds": func(d *decoder, f fld, l *Listener) {
		d.secondsField(f, &l.H2GracefulShutdownDeadline)
	},
	"h2_settings_ack_timeout_seconds": func(d *decoder, f fld, l *Listener) {
		d.secondsField(f, &l.H2SettingsAckTimeout)
	},
	"h2_scheduler": func(d *decoder, f fld, l *Listener) { d.text(f, &l.H2Scheduler) },

	"tls_versions":      func(d *decoder, f fld, l *Listener) { d.strings(f, &l.TLSVersions) },
	"cipher_suites":     func(d *decoder, f fld, l *Listener) { d.strings(f, &l.CipherSuites) },
	"alpn_protocols":    func(d *decoder, f fld, l *Listener) { d.strings(f, &l.ALPNProtocols) },
	"certificate":       func(d *decoder, f fld, l *Listener) { d.path(f, &l.Certificate) },
	"key":               func(d *decoder, f fld, l *Listener) { d.path(f, &l.Key) },
	"certificate_chain": func(d *decoder, f fld, l *Listener) { d.path(f, &l.CertificateChain) },
	"certificates":      func(d *decoder, f fld, l *Listener) { d.certificates(f, l) },
}

var certificateFields = map[string]setter[CertificateFiles]{
	"certificate":       func(d *decoder, f fld, c *CertificateFiles) { d.path(f, &c.Certificate) },
	"key":               func(d *decoder, f fld, c *CertificateFiles) { d.path(f, &c.Key) },
	"certificate_chain": func(d *decoder, f fld, c *CertificateFiles) { d.path(f, &c.CertificateChain) },
}

func (d *decoder) certificates(f fld, l *Listener) {
	for i, ev := range d.tables(f, "inline tables { certificate = ..., key = ... }") {
		if ev == nil {
			l.Certificates = append(l.Certificates, &CertificateFiles{})
			continue
		}
		c := &CertificateFiles{Line: ev.line}
		decodeTable(d, ev.tab, index(f.key, i), certificateFields, c)
		l.Certificates = append(l.Certificates, c)
	}
}

// maxUID is the largest uid a process can have: (uid_t)-1 is reserved as
// "no change" by setreuid(2) and friends.
const maxUID = 1<<32 - 2

// uids decodes admin_allowed_uids: an array of integers, each a valid uid.
func (d *decoder) uids(f fld, dst *[]int) {
	if f.v.kind != kArray {
		d.typeErr(f, "an array of user ids ([1000, 1001])")
		return
	}
	out := make([]int, 0, len(f.v.arr))
	ok := true
	for i, ev := range f.v.arr {
		k := index(f.key, i)
		d.lines[k] = ev.line
		switch {
		case ev.kind != kInteger:
			d.fail(k, ev.line, "must be an integer user id, not %s", ev.kind)
			ok = false
		case ev.num < 0 || ev.num > maxUID:
			d.fail(k, ev.line, "must be a user id from 0 to %d, got %d", maxUID, ev.num)
			ok = false
		default:
			out = append(out, int(ev.num))
		}
	}
	if ok {
		*dst = out
	} else {
		d.bad[f.key] = true
	}
}

// The flood limits are all integers; their keys and fields are listed once,
// in floodKeys.
func init() {
	for _, fk := range floodKeys(&FloodLimits{}) {
		listenerFields[fk.name] = func(d *decoder, f fld, l *Listener) {
			for _, k := range floodKeys(&l.Flood) {
				if k.name == f.name {
					d.integer(f, k.val)
				}
			}
		}
	}
}

var clusterFields = map[string]setter[Cluster]{
	"load_balancing":               func(d *decoder, f fld, c *Cluster) { d.text(f, &c.LoadBalancing) },
	"backend_protocol":             func(d *decoder, f fld, c *Cluster) { d.text(f, &c.BackendProtocol) },
	"backend_tls_verify":           func(d *decoder, f fld, c *Cluster) { d.boolean(f, &c.BackendTLSVerify) },
	"backend_tls_ca":               func(d *decoder, f fld, c *Cluster) { d.path(f, &c.BackendTLSCA) },
	"backend_tls_server_name":      func(d *decoder, f fld, c *Cluster) { d.str(f, &c.BackendTLSServerName) },
	"backend_max_connections":      func(d *decoder, f fld, c *Cluster) { d.integer(f, &c.BackendMaxConnections) },
	"max_idle_connections":         func(d *decoder, f fld, c *Cluster) { d.integer(f, &c.MaxIdleConnections) },
	"idle_connection_timeout":      func(d *decoder, f fld, c *Cluster) { d.secondsField(f, &c.IdleConnectionTimeout) },
	"connect_retries":              func(d *decoder, f fld, c *Cluster) { d.integer(f, &c.ConnectRetries) },
	"retry_buffer_bytes":           func(d *decoder, f fld, c *Cluster) { d.integer(f, &c.RetryBufferBytes) },
	"health_backoff_min":           func(d *decoder, f fld, c *Cluster) { d.secondsField(f, &c.HealthBackoffMin) },
	"backend_h2_read_idle_timeout": func(d *decoder, f fld, c *Cluster) { d.secondsField(f, &c.BackendH2ReadIdleTimeout) },
	"backend_h2_ping_timeout":      func(d *decoder, f fld, c *Cluster) { d.secondsField(f, &c.BackendH2PingTimeout) },
	"health_backoff_max":           func(d *decoder, f fld, c *Cluster) { d.secondsField(f, &c.HealthBackoffMax) },
	"answers":                      func(d *decoder, f fld, c *Cluster) { d.answers(f, c) },
	"frontends":                    func(d *decoder, f fld, c *Cluster) { d.frontends(f, c) },
	"backends":                     func(d *decoder, f fld, c *Cluster) { d.backends(f, c) },
}

var frontendFields = map[string]setter[Frontend]{
	"address":           func(d *decoder, f fld, fe *Frontend) { d.text(f, &fe.Address) },
	"hostname":          func(d *decoder, f fld, fe *Frontend) { d.text(f, &fe.Hostname) },
	"path":              func(d *decoder, f fld, fe *Frontend) { d.text(f, &fe.Path) },
	"path_type":         func(d *decoder, f fld, fe *Frontend) { d.text(f, &fe.PathType) },
	"certificate":       func(d *decoder, f fld, fe *Frontend) { d.path(f, &fe.Certificate) },
	"key":               func(d *decoder, f fld, fe *Frontend) { d.path(f, &fe.Key) },
	"certificate_chain": func(d *decoder, f fld, fe *Frontend) { d.path(f, &fe.CertificateChain) },
}

var backendFields = map[string]setter[Backend]{
	"address": func(d *decoder, f fld, b *Backend) { d.text(f, &b.Address) },
	"id":      func(d *decoder, f fld, b *Backend) { d.text(f, &b.ID) },
	"weight":  func(d *decoder, f fld, b *Backend) { d.integer(f, &b.Weight) },
}

// suggest returns the known key closest to an unknown one, when it is close
// enough to be a likely typo.
func suggest[T any](name string, fields map[string]setter[T]) string {
	if len(name) > 64 {
		return "" // no key is that long; spare the quadratic distance
	}
	best, bestDist := "", max(2, len(name)/4)+1
	for k := range fields {
		if dist := editDistance(name, k); dist < bestDist || dist == bestDist && k < best {
			best, bestDist = k, dist
		}
	}
	if bestDist > max(2, len(name)/4) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between two keys (short ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
