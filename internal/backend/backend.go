// Package backend holds clusters of backends, picks a backend per request
// (load balancing), keeps pooled connections to each backend, tracks their
// health, and runs the request/response exchange with them.
//
// A *Backend outlives routing-state snapshots: when the live state changes,
// backends whose address is unchanged keep their identity, pool and
// counters, so a reconfiguration never drops pooled connections or skews
// load-balancing counts.
package backend

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/metrics"
)

// Backend is one server of a cluster.
type Backend struct {
	ID      string
	Address string
	Cluster string

	weight atomic.Int32 // 0 = takes no new requests

	// active counts requests in flight; least_loaded and power_of_two
	// balance on it. Every exchange increments it once and decrements it
	// once (checked by tests after every run).
	active atomic.Int64

	// Health: a connect failure marks the backend down until downUntil
	// (unix nanos); consecutive failures double the backoff.
	downUntil atomic.Int64
	failures  atomic.Int32
	removed   atomic.Bool // removed from its cluster: finish in-flight, take nothing new

	backoffMin, backoffMax time.Duration

	pool h1Pool
	h2   *h2Pool // non-nil when the backend speaks HTTP/2 (h2c or h2)
	m    *metrics.BackendSet
	now  func() time.Time
	sim  *SimHooks // nil but in the simulator
}

// Options configure a backend's pool and health tracking.
type Options struct {
	MaxIdle     int           // idle connections kept (default 1024)
	IdleTimeout time.Duration // idle connections older than this are closed (default 60 s)
	BackoffMin  time.Duration // first down period after a connect failure (default 1 s)
	BackoffMax  time.Duration // cap of the doubling backoff (default 30 s)
	Metrics     *metrics.Metrics
	Now         func() time.Time // injected clock; nil = time.Now
	Dial        func(network, addr string, timeout time.Duration) (net.Conn, error)
	// Protocol is how sluice talks to the backend; H2 holds the HTTP/2
	// pool settings when it is H2C or H2.
	Protocol Protocol
	H2       H2Options
	// Sim, set by the deterministic simulator only, makes the HTTP/2
	// pool start no goroutine and no real timer (sim.go).
	Sim *SimHooks
}

// Protocol is a backend's protocol (config key backend_protocol).
type Protocol uint8

// Backend protocols.
const (
	HTTP1 Protocol = iota // keep-alive HTTP/1.1 connections, one request at a time each
	H2C                   // HTTP/2 prior knowledge over TCP, multiplexed
	H2                    // HTTP/2 over TLS (ALPN h2), multiplexed
)

func (p Protocol) String() string {
	switch p {
	case HTTP1:
		return "http1"
	case H2C:
		return "h2c"
	case H2:
		return "h2"
	}
	return "Protocol(?)"
}

// ParseProtocol maps the config spelling to a Protocol.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "http1":
		return HTTP1, nil
	case "h2c":
		return H2C, nil
	case "h2":
		return H2, nil
	}
	return 0, fmt.Errorf("unknown backend_protocol %q", s)
}

// NewBackend creates a backend.
func NewBackend(cluster, id, address string, weight int, o Options) *Backend {
	if o.MaxIdle <= 0 {
		o.MaxIdle = 1024
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Dial == nil {
		o.Dial = func(network, addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout(network, addr, timeout)
		}
	}
	if id == "" {
		id = address
	}
	b := &Backend{ID: id, Address: address, Cluster: cluster, backoffMin: o.BackoffMin, backoffMax: o.BackoffMax, now: o.Now, sim: o.Sim}
	b.weight.Store(int32(weight))
	if o.Metrics != nil {
		b.m = o.Metrics.Backend(cluster, id)
		b.m.Up.Set(1)
	}
	b.pool.init(b, o.MaxIdle, o.IdleTimeout, o.Dial)
	if o.Protocol != HTTP1 {
		b.h2 = &h2Pool{}
		if o.Protocol == H2C {
			o.H2.TLS = nil
		}
		b.h2.init(b, o.H2)
	}
	return b
}

// Protocol returns how sluice talks to the backend.
func (b *Backend) Protocol() Protocol {
	if b.h2 == nil {
		return HTTP1
	}
	if b.h2.tls == nil {
		return H2C
	}
	return H2
}

// H2Conns returns the number of open HTTP/2 connections (0 for HTTP/1.1).
func (b *Backend) H2Conns() int {
	if b.h2 == nil {
		return 0
	}
	return b.h2.Conns()
}

// Weight returns the load-balancing weight.
func (b *Backend) Weight() int { return int(b.weight.Load()) }

// SetWeight changes the weight live.
func (b *Backend) SetWeight(w int) { b.weight.Store(int32(w)) }

// Active returns the number of requests in flight.
func (b *Backend) Active() int64 { return b.active.Load() }

// Up reports whether the backend may take new requests now.
func (b *Backend) Up() bool {
	if b.removed.Load() || b.weight.Load() <= 0 {
		return false
	}
	du := b.downUntil.Load()
	return du == 0 || b.now().UnixNano() >= du
}

// MarkDown records a connect failure and takes the backend out of rotation
// for a backoff that doubles with each consecutive failure.
func (b *Backend) MarkDown() {
	n := b.failures.Add(1)
	d := b.backoffMin
	for i := int32(1); i < n && d < b.backoffMax; i++ {
		d *= 2
	}
	if d > b.backoffMax {
		d = b.backoffMax
	}
	b.downUntil.Store(b.now().Add(d).UnixNano())
	if b.m != nil {
		b.m.Up.Set(0)
		b.m.ConnectFail.Inc()
	}
}

// markUp records a successful connection.
func (b *Backend) markUp() {
	if b.failures.Load() != 0 || b.downUntil.Load() != 0 {
		b.failures.Store(0)
		b.downUntil.Store(0)
		if b.m != nil {
			b.m.Up.Set(1)
		}
	}
}

// Retire takes the backend out of rotation for good: in-flight requests
// finish, idle connections are closed, nothing new is sent.
func (b *Backend) Retire() {
	b.removed.Store(true)
	b.pool.closeIdle()
	if b.h2 != nil {
		b.h2.closeAll()
	}
}

// Close closes idle connections (process shutdown).
func (b *Backend) Close() {
	b.pool.closeIdle()
	if b.h2 != nil {
		b.h2.closeAll()
	}
}

func (b *Backend) acquire() {
	b.active.Add(1)
	if b.m != nil {
		b.m.Active.Inc()
	}
}

func (b *Backend) release() {
	b.active.Add(-1)
	if b.m != nil {
		b.m.Active.Dec()
	}
}

// IdleConns returns the number of pooled idle connections.
func (b *Backend) IdleConns() int { return b.pool.idleLen() }

// buffer is a pooled byte slice; pooling the wrapper (not the slice)
// keeps Get/Put free of allocations.
type buffer struct{ b []byte }

// bufPool recycles read and write buffers of backend connections: an idle
// pooled connection holds none.
var bufPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, bufSize)} }}

const bufSize = 16 << 10

func getBuf() *buffer  { return bufPool.Get().(*buffer) }
func putBuf(b *buffer) { bufPool.Put(b) }
