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
	m    *metrics.BackendSet
	now  func() time.Time
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
	b := &Backend{ID: id, Address: address, Cluster: cluster, backoffMin: o.BackoffMin, backoffMax: o.BackoffMax, now: o.Now}
	b.weight.Store(int32(weight))
	if o.Metrics != nil {
		b.m = o.Metrics.Backend(cluster, id)
		b.m.Up.Set(1)
	}
	b.pool.init(b, o.MaxIdle, o.IdleTimeout, o.Dial)
	return b
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
}

// Close closes idle connections (process shutdown).
func (b *Backend) Close() { b.pool.closeIdle() }

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
