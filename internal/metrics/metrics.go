// Package metrics holds sluice's Prometheus registry and the names of every
// metric it exports. Other packages never create collectors themselves: they
// ask this package for pre-resolved children (counters with their labels
// already bound) so that the per-request path is a few atomic adds, not a
// label-map lookup.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-proxy/sluice/internal/memtrim"
	"github.com/sluice-proxy/sluice/internal/readiness"
)

// Metrics is one process's registry. Tests create their own so that several
// in-process servers never share counters.
type Metrics struct {
	Registry *prometheus.Registry

	requests        *prometheus.CounterVec   // listener, cluster, class
	requestDuration *prometheus.HistogramVec // listener, cluster
	bytesIn         *prometheus.CounterVec   // listener
	bytesOut        *prometheus.CounterVec   // listener
	connsActive     *prometheus.GaugeVec     // listener, proto
	connsTotal      *prometheus.CounterVec   // listener
	connsRejected   *prometheus.CounterVec   // listener, reason
	h1Rejected      *prometheus.CounterVec   // reason
	backendUp       *prometheus.GaugeVec     // cluster, backend
	backendActive   *prometheus.GaugeVec     // cluster, backend
	backendConnFail *prometheus.CounterVec   // cluster, backend
	backendConns    *prometheus.GaugeVec     // cluster, backend, state (idle|active)
	backendRetries  *prometheus.CounterVec   // cluster, reason
	h2Conns         *prometheus.GaugeVec     // cluster, backend
	h2Streams       *prometheus.GaugeVec     // cluster, backend
	h2ConnEvents    *prometheus.CounterVec   // cluster, backend, event, reason
	h2BackendGoAway *prometheus.CounterVec   // cluster, backend
	h2PingRTT       *prometheus.GaugeVec     // cluster, backend
	h2BackendReaped *prometheus.CounterVec   // cluster, backend, reason
	h2BackendFlood  *prometheus.CounterVec   // cluster, backend, kind
	answers         *prometheus.CounterVec   // status, reason

	// HTTP/2 engine.
	H2ConnsActive      prometheus.Gauge
	H2StreamsActive    prometheus.Gauge
	h2FramesIn         *prometheus.CounterVec // type
	h2FramesOut        *prometheus.CounterVec // type
	h2GoAwaySent       *prometheus.CounterVec // code
	h2GoAwayRecv       *prometheus.CounterVec // code
	h2RSTSent          *prometheus.CounterVec // code
	h2RSTRecv          *prometheus.CounterVec // code
	h2Flood            *prometheus.CounterVec // kind
	h2Reaped           *prometheus.CounterVec // reason
	H2CoalescingOK     prometheus.Counter
	h2Refused          prometheus.Counter
	h2MCSShrunk        prometheus.Counter
	h2PriorityUpdates  prometheus.Counter
	h2PriorityDropped  prometheus.Counter
	h2ReadyIncremental *prometheus.GaugeVec   // urgency
	tlsHandshakeFail   *prometheus.CounterVec // listener, reason
	misdirected        prometheus.Counter

	reqSets sync.Map // requestKey -> *RequestSet
}

type requestKey struct{ listener, cluster string }

// New builds a registry with every sluice metric plus the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	r := m.Registry
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		r.MustRegister(v)
		return v
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		r.MustRegister(v)
		return v
	}
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		r.MustRegister(v)
		return v
	}
	g := func(name, help string) prometheus.Gauge {
		v := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		r.MustRegister(v)
		return v
	}
	m.requests = cv("sluice_requests_total", "Requests answered, by listener, cluster and status class (1xx..5xx, or 'aborted').", "listener", "cluster", "class")
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_request_duration_seconds",
		Help:    "Time from the complete request head to the end of the response.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"listener", "cluster"})
	r.MustRegister(m.requestDuration)
	m.bytesIn = cv("sluice_client_bytes_received_total", "Bytes read from clients.", "listener")
	m.bytesOut = cv("sluice_client_bytes_sent_total", "Bytes written to clients.", "listener")
	m.connsActive = gv("sluice_connections_active", "Open client connections.", "listener", "proto")
	m.connsTotal = cv("sluice_connections_total", "Client connections accepted.", "listener")
	m.connsRejected = cv("sluice_connections_rejected_total", "Client connections closed at accept, by reason.", "listener", "reason")
	m.h1Rejected = cv("sluice_h1_requests_rejected_total", "HTTP/1.1 requests rejected before routing, by reason.", "reason")
	m.backendUp = gv("sluice_backend_up", "1 when the backend is considered up, 0 while it is marked down.", "cluster", "backend")
	m.backendActive = gv("sluice_backend_requests_active", "Requests in flight to the backend.", "cluster", "backend")
	m.backendConnFail = cv("sluice_backend_connect_failures_total", "Failed connection attempts to the backend.", "cluster", "backend")
	m.backendConns = gv("sluice_backend_connections", "Connections to the backend, by state.", "cluster", "backend", "state")
	m.backendRetries = cv("sluice_backend_retries_total", "Requests retried on another connection or backend, by reason.", "cluster", "reason")
	m.h2Conns = gv("sluice_backend_h2_connections", "Open HTTP/2 connections to the backend (the pool size).", "cluster", "backend")
	m.h2Streams = gv("sluice_backend_h2_streams_active", "Streams open on the backend's HTTP/2 connections.", "cluster", "backend")
	m.h2ConnEvents = cv("sluice_backend_h2_connections_total", "HTTP/2 backend connections opened and closed, by reason.", "cluster", "backend", "event", "reason")
	m.h2BackendGoAway = cv("sluice_backend_h2_goaway_received_total", "GOAWAY frames received from the backend.", "cluster", "backend")
	m.h2BackendReaped = cv("sluice_backend_h2_streams_reaped_total", "Backend HTTP/2 streams reset by the per-stream reapers (a stalled or silent backend), by reason.", "cluster", "backend", "reason")
	m.h2BackendFlood = cv("sluice_backend_h2_flood_violations_total", "Backend HTTP/2 connections closed by a flood defence, by kind.", "cluster", "backend", "kind")
	m.h2PingRTT = gv("sluice_backend_h2_ping_rtt_seconds", "Round-trip time of the last health-check PING to the backend.", "cluster", "backend")
	m.answers = cv("sluice_default_answers_total", "Default answers sluice generated itself, by status and reason.", "status", "reason")

	m.H2ConnsActive = g("sluice_h2_connections_active", "Open HTTP/2 client connections.")
	m.H2StreamsActive = g("sluice_h2_streams_active", "Open HTTP/2 streams on client connections.")
	m.h2FramesIn = cv("sluice_h2_frames_received_total", "HTTP/2 frames received from clients, by type.", "type")
	m.h2FramesOut = cv("sluice_h2_frames_sent_total", "HTTP/2 frames sent to clients, by type.", "type")
	m.h2GoAwaySent = cv("sluice_h2_goaway_sent_total", "GOAWAY frames sent, by error code.", "code")
	m.h2GoAwayRecv = cv("sluice_h2_goaway_received_total", "GOAWAY frames received, by error code.", "code")
	m.h2RSTSent = cv("sluice_h2_rst_stream_sent_total", "RST_STREAM frames sent, by error code.", "code")
	m.h2RSTRecv = cv("sluice_h2_rst_stream_received_total", "RST_STREAM frames received, by error code.", "code")
	m.h2Flood = cv("sluice_h2_flood_violations_total", "Connections closed by a flood defence, by kind.", "kind")
	m.h2Reaped = cv("sluice_h2_streams_reaped_total", "Streams reset by the per-stream reapers, by reason.", "reason")
	m.H2CoalescingOK = c("sluice_h2_coalescing_accepted_total", "Requests served on a TLS connection whose SNI differs from the request authority (connection coalescing).")
	m.h2Refused = c("sluice_h2_streams_refused_total", "Streams refused with REFUSED_STREAM.")
	m.h2MCSShrunk = c("sluice_h2_max_concurrent_streams_shrunk_total", "Times a connection's advertised MAX_CONCURRENT_STREAMS was halved after repeated refusals.")
	m.h2PriorityUpdates = c("sluice_h2_priority_updates_received_total", "PRIORITY_UPDATE frames received.")
	m.h2PriorityDropped = c("sluice_h2_priorities_dropped_total", "Priority signals for not-yet-open streams dropped by the bound.")
	m.h2ReadyIncremental = gv("sluice_h2_ready_incremental_streams", "Incremental streams ready to send, by urgency, at the end of the last write pass.", "urgency")
	m.tlsHandshakeFail = cv("sluice_tls_handshake_failures_total", "Failed TLS handshakes, by reason.", "listener", "reason")
	m.misdirected = c("sluice_misdirected_requests_total", "Requests answered 421 because the connection's certificate does not cover their authority.")
	r.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_memory_trims_total",
			Help: "Times the heap left by a burst was collected and returned to the system once the process went quiet."},
			func() float64 { return float64(memtrim.Trims()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_memory_trimmed_bytes_total",
			Help: "Bytes of heap those trims returned to the system."},
			func() float64 { return float64(memtrim.Trimmed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_connections_waiting",
			Help: "Idle client connections whose socket waits in the readiness poller, holding no goroutine or buffer (all listeners)."},
			func() float64 { return float64(readiness.DefaultWaiting()) }))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// RequestSet is the request metrics of one listener x cluster pair, resolved
// once so that counting a request costs a few atomic adds.
type RequestSet struct {
	classes  [7]prometheus.Counter // index 1..5 = status class, 6 = aborted, 0 unused
	duration prometheus.Observer
}

// Requests returns the set for a listener and a cluster ("" when no cluster
// matched).
func (m *Metrics) Requests(listener, cluster string) *RequestSet {
	k := requestKey{listener, cluster}
	if v, ok := m.reqSets.Load(k); ok {
		return v.(*RequestSet)
	}
	s := &RequestSet{duration: m.requestDuration.WithLabelValues(listener, cluster)}
	for i := 1; i <= 5; i++ {
		s.classes[i] = m.requests.WithLabelValues(listener, cluster, strconv.Itoa(i)+"xx")
	}
	s.classes[6] = m.requests.WithLabelValues(listener, cluster, "aborted")
	v, _ := m.reqSets.LoadOrStore(k, s)
	return v.(*RequestSet)
}

// Observe counts one finished request. status 0 means the response was aborted
// before a status went out.
func (s *RequestSet) Observe(status int, d time.Duration) {
	i := status / 100
	if i < 1 || i > 5 {
		i = 6
	}
	s.classes[i].Inc()
	s.duration.Observe(d.Seconds())
}

// ListenerSet is the per-listener connection metrics.
type ListenerSet struct {
	BytesIn, BytesOut prometheus.Counter
	Accepted          prometheus.Counter
	ActiveH1          prometheus.Gauge
	ActiveH2          prometheus.Gauge
	m                 *Metrics
	listener          string
}

// Listener resolves the connection metrics of one listener.
func (m *Metrics) Listener(addr string) *ListenerSet {
	return &ListenerSet{
		BytesIn:  m.bytesIn.WithLabelValues(addr),
		BytesOut: m.bytesOut.WithLabelValues(addr),
		Accepted: m.connsTotal.WithLabelValues(addr),
		ActiveH1: m.connsActive.WithLabelValues(addr, "http/1.1"),
		ActiveH2: m.connsActive.WithLabelValues(addr, "h2"),
		m:        m,
		listener: addr,
	}
}

// Rejected counts a connection closed at accept (limits) for a reason.
func (l *ListenerSet) Rejected(reason string) {
	l.m.connsRejected.WithLabelValues(l.listener, reason).Inc()
}

// TLSHandshakeFailed counts a failed handshake by reason.
func (l *ListenerSet) TLSHandshakeFailed(reason string) {
	l.m.tlsHandshakeFail.WithLabelValues(l.listener, reason).Inc()
}

// H1Rejected counts an HTTP/1.1 request rejected by the parser.
func (m *Metrics) H1Rejected(reason string) { m.h1Rejected.WithLabelValues(reason).Inc() }

// DefaultAnswer counts an answer sluice generated itself.
func (m *Metrics) DefaultAnswer(status int, reason string) {
	m.answers.WithLabelValues(strconv.Itoa(status), reason).Inc()
}

// Misdirected counts a 421 answer.
func (m *Metrics) Misdirected() { m.misdirected.Inc() }

// BackendSet is the metrics of one backend of one cluster.
type BackendSet struct {
	Up          prometheus.Gauge
	Active      prometheus.Gauge
	ConnectFail prometheus.Counter
	IdleConns   prometheus.Gauge
	ActiveConns prometheus.Gauge

	// HTTP/2 backends.
	H2Conns   prometheus.Gauge
	H2Streams prometheus.Gauge
	H2GoAway  prometheus.Counter
	PingRTT   prometheus.Gauge
	h2Events  *prometheus.CounterVec
	h2Reaped  *prometheus.CounterVec
	h2Flood   *prometheus.CounterVec
	cluster   string
	backend   string
}

// H2Reaped counts a backend stream reset by a reaper, by reason.
func (b *BackendSet) H2Reaped(reason string) {
	b.h2Reaped.WithLabelValues(b.cluster, b.backend, reason).Inc()
}

// H2Flood counts a backend connection closed by a flood defence, by kind.
func (b *BackendSet) H2Flood(kind string) {
	b.h2Flood.WithLabelValues(b.cluster, b.backend, kind).Inc()
}

// H2ConnEvent counts an HTTP/2 backend connection opened or closed (event
// "opened" or "closed") for a reason.
func (b *BackendSet) H2ConnEvent(event, reason string) {
	b.h2Events.WithLabelValues(b.cluster, b.backend, event, reason).Inc()
}

// Backend resolves the metrics of one backend.
func (m *Metrics) Backend(cluster, backend string) *BackendSet {
	return &BackendSet{
		Up:          m.backendUp.WithLabelValues(cluster, backend),
		Active:      m.backendActive.WithLabelValues(cluster, backend),
		ConnectFail: m.backendConnFail.WithLabelValues(cluster, backend),
		IdleConns:   m.backendConns.WithLabelValues(cluster, backend, "idle"),
		ActiveConns: m.backendConns.WithLabelValues(cluster, backend, "active"),
		H2Conns:     m.h2Conns.WithLabelValues(cluster, backend),
		H2Streams:   m.h2Streams.WithLabelValues(cluster, backend),
		H2GoAway:    m.h2BackendGoAway.WithLabelValues(cluster, backend),
		PingRTT:     m.h2PingRTT.WithLabelValues(cluster, backend),
		h2Events:    m.h2ConnEvents,
		h2Reaped:    m.h2BackendReaped,
		h2Flood:     m.h2BackendFlood,
		cluster:     cluster,
		backend:     backend,
	}
}

// ForgetBackend removes a removed backend's series.
func (m *Metrics) ForgetBackend(cluster, backend string) {
	m.backendUp.DeleteLabelValues(cluster, backend)
	m.backendActive.DeleteLabelValues(cluster, backend)
	m.backendConnFail.DeleteLabelValues(cluster, backend)
	m.backendConns.DeleteLabelValues(cluster, backend, "idle")
	m.backendConns.DeleteLabelValues(cluster, backend, "active")
	m.h2Conns.DeleteLabelValues(cluster, backend)
	m.h2Streams.DeleteLabelValues(cluster, backend)
	m.h2BackendGoAway.DeleteLabelValues(cluster, backend)
	m.h2PingRTT.DeleteLabelValues(cluster, backend)
	which := prometheus.Labels{"cluster": cluster, "backend": backend}
	m.h2BackendReaped.DeletePartialMatch(which)
	m.h2BackendFlood.DeletePartialMatch(which)
}

// Retry counts a request retried on another connection or backend.
func (m *Metrics) Retry(cluster, reason string) {
	m.backendRetries.WithLabelValues(cluster, reason).Inc()
}

// H2Set is the HTTP/2 engine's counters with their labels resolved, shared
// by every session of the process.
type H2Set struct {
	FramesIn, FramesOut [256]prometheus.Counter // by frame type
	GoAwaySent          [14]prometheus.Counter  // by error code (RFC 9113 7)
	GoAwayRecv          [14]prometheus.Counter
	RSTSent             [14]prometheus.Counter
	RSTRecv             [14]prometheus.Counter
	codeOther           [4]prometheus.Counter // unknown codes: goaway sent/recv, rst sent/recv
	m                   *Metrics
	flood               sync.Map // kind -> Counter
	reaped              sync.Map // reason -> Counter
	Refused             prometheus.Counter
	MCSShrunk           prometheus.Counter
	PriorityUpdates     prometheus.Counter
	PriorityDropped     prometheus.Counter
}

// H2 resolves the HTTP/2 counters. typeName and codeName give the label
// text of a frame type and an error code.
func (m *Metrics) H2(typeName func(uint8) string, codeName func(uint32) string) *H2Set {
	s := &H2Set{m: m, Refused: m.h2Refused, MCSShrunk: m.h2MCSShrunk, PriorityUpdates: m.h2PriorityUpdates, PriorityDropped: m.h2PriorityDropped}
	for t := 0; t <= 0x10; t++ {
		s.FramesIn[t] = m.h2FramesIn.WithLabelValues(typeName(uint8(t)))
		s.FramesOut[t] = m.h2FramesOut.WithLabelValues(typeName(uint8(t)))
	}
	unknownIn := m.h2FramesIn.WithLabelValues("unknown")
	unknownOut := m.h2FramesOut.WithLabelValues("unknown")
	for t := 0x11; t < 256; t++ {
		s.FramesIn[t], s.FramesOut[t] = unknownIn, unknownOut
	}
	for c := range 14 {
		n := codeName(uint32(c))
		s.GoAwaySent[c] = m.h2GoAwaySent.WithLabelValues(n)
		s.GoAwayRecv[c] = m.h2GoAwayRecv.WithLabelValues(n)
		s.RSTSent[c] = m.h2RSTSent.WithLabelValues(n)
		s.RSTRecv[c] = m.h2RSTRecv.WithLabelValues(n)
	}
	s.codeOther = [4]prometheus.Counter{
		m.h2GoAwaySent.WithLabelValues("unknown"), m.h2GoAwayRecv.WithLabelValues("unknown"),
		m.h2RSTSent.WithLabelValues("unknown"), m.h2RSTRecv.WithLabelValues("unknown"),
	}
	return s
}

// Code returns the counter for an error code in one of the four code
// families (0 goaway sent, 1 goaway received, 2 rst sent, 3 rst received).
func (s *H2Set) Code(family int, code uint32) prometheus.Counter {
	if code < 14 {
		switch family {
		case 0:
			return s.GoAwaySent[code]
		case 1:
			return s.GoAwayRecv[code]
		case 2:
			return s.RSTSent[code]
		default:
			return s.RSTRecv[code]
		}
	}
	return s.codeOther[family]
}

// Flood counts a flood violation.
func (s *H2Set) Flood(kind string) { s.counter(&s.flood, s.m.h2Flood, kind).Inc() }

// Reaped counts a reaped stream.
func (s *H2Set) Reaped(reason string) { s.counter(&s.reaped, s.m.h2Reaped, reason).Inc() }

func (s *H2Set) counter(cache *sync.Map, vec *prometheus.CounterVec, label string) prometheus.Counter {
	if c, ok := cache.Load(label); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(label)
	cache.Store(label, c)
	return c
}

// SetReadyIncremental publishes the ready incremental streams of one
// urgency.
func (m *Metrics) SetReadyIncremental(urgency int, n int) {
	m.h2ReadyIncremental.WithLabelValues(strconv.Itoa(urgency)).Set(float64(n))
}
