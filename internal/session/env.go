// Package session serves one client connection: it reads requests (HTTP/1.1
// or HTTP/2 streams), routes them, links each to a backend exchange, writes
// the responses back, and applies the connection's timeouts and drain.
//
// Ownership: every session's state belongs to one goroutine. An HTTP/1.1
// session runs each exchange on its own goroutine from start to finish (the
// common case crosses no goroutine boundary). An HTTP/2 session has a single
// owner goroutine (serve) that alone touches streams, windows and the
// engine; readers and backend exchanges talk to it only through its mailbox.
package session

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/metrics"
	"github.com/sluice-proxy/sluice/internal/router"
)

// Routes is one listener's routing table: host and path to cluster.
type Routes = router.Table[*backend.Cluster]

// Limits are the per-listener settings a session obeys.
type Limits struct {
	FrontTimeout   time.Duration // client idle
	RequestTimeout time.Duration // until a request head is complete
	BackTimeout    time.Duration // backend response
	ConnectTimeout time.Duration
	MaxHeadBytes   int // request line + headers (431 beyond)
	MaxHeaderCount int

	H2 H2Limits
}

// Env is what all sessions of one listener share. Its fields are set once
// at listener start; Routes is swapped atomically by the live state.
type Env struct {
	Listener  string // listener address, for metrics and logs
	TLS       bool   // https listener: scheme "https"
	Limits    Limits
	Routes    *atomic.Pointer[Routes]
	Metrics   *metrics.Metrics
	LMetrics  *metrics.ListenerSet
	AccessLog *accesslog.Logger
	Log       *slog.Logger
	Now       func() time.Time // Clock.Now
	Clock     Clock            // time for sessions; nil: the real clock

	sessions *sessionSet
	sim      *simHooks // set by the simulator only
}

// Clock is where sessions get time and timers, so tests and the
// simulator can run them on a fake clock.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer made by a Clock.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}

// simHooks replace what the simulator drives itself: it starts no
// goroutines, so every interleaving is chosen by its seeded scheduler.
type simHooks struct {
	// startExchange hands a linked stream to the simulated backend
	// instead of running a backend exchange on a goroutine.
	startExchange func(st *h2Stream)
	// endExchanges finishes every exchange still running (the session
	// ended: as the real exchanges do, each reports an error).
	endExchanges func()
	// wrap lets the simulator watch the engine's callbacks.
	wrap func(h2.Handler) h2.Handler
	// roundTrip runs an HTTP/1.1 session's exchange instead of
	// Cluster.RoundTrip: the simulator steps its HTTP/2 backends
	// (backend.SimTrip) on the session's goroutine.
	roundTrip func(cl *backend.Cluster, req *backend.Request, body backend.Body, w backend.ResponseWriter, res *backend.Result) error
}

// NewEnv fills defaults and returns an Env ready for Serve calls.
func NewEnv(e Env) *Env {
	if e.Clock == nil {
		e.Clock = realClock{}
	}
	if e.Now == nil {
		e.Now = e.Clock.Now
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.Metrics == nil {
		e.Metrics = metrics.New()
	}
	if e.LMetrics == nil {
		e.LMetrics = e.Metrics.Listener(e.Listener)
	}
	if e.Routes == nil {
		e.Routes = new(atomic.Pointer[Routes])
	}
	l := &e.Limits
	if l.FrontTimeout <= 0 {
		l.FrontTimeout = 60 * time.Second
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 10 * time.Second
	}
	if l.BackTimeout <= 0 {
		l.BackTimeout = 30 * time.Second
	}
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = 3 * time.Second
	}
	if l.MaxHeadBytes <= 0 {
		l.MaxHeadBytes = 16 << 10
	}
	if l.MaxHeaderCount <= 0 {
		l.MaxHeaderCount = 100
	}
	l.H2.setDefaults(l.BackTimeout)
	env := &e
	env.sessions = &sessionSet{m: map[drainer]struct{}{}}
	return env
}

func (e *Env) timeouts() backend.Timeouts {
	return backend.Timeouts{Connect: e.Limits.ConnectTimeout, Response: e.Limits.BackTimeout, StreamIdle: e.Limits.H2.StreamIdleTimeout}
}

var sessionIDs atomic.Uint64

// ConnInfo is what a session knows about its client connection.
type ConnInfo struct {
	Conn     net.Conn
	ClientIP []byte // textual IP
	Client   string // ip:port
	TLS      *TLSInfo
	// Done, when set, is called once when an HTTP/2 session has closed its
	// connection (the session may outlive the goroutine that started it).
	Done func()
}

// TLSInfo is the TLS identity of a connection (nil on plaintext).
type TLSInfo struct {
	Version string
	Cipher  string
	SNI     string
	// Allows reports whether a request authority may be served on this
	// connection (HTTP/2 coalescing check) and whether that is a
	// coalesced name (covered by the certificate but not the SNI).
	Allows func(authority []byte) (ok, coalesced bool)
	// H2Allowed is false when the negotiated TLS 1.2 suite is one RFC
	// 9113 9.2.2 forbids for HTTP/2 (the session then answers GOAWAY
	// INADEQUATE_SECURITY).
	H2Allowed bool
}

// drainer is a live session that can be asked to finish.
type drainer interface {
	// drain asks the session to finish what is in flight and close.
	drain()
	// kill closes the connection now.
	kill()
}

type sessionSet struct {
	mu       sync.Mutex
	m        map[drainer]struct{}
	draining bool
	wg       sync.WaitGroup
}

func (s *sessionSet) add(d drainer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.m[d] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *sessionSet) remove(d drainer) {
	s.mu.Lock()
	delete(s.m, d)
	s.mu.Unlock()
	s.wg.Done()
}

// Drain asks every session of the listener to finish in-flight work and
// close, and refuses new sessions. It does not wait; Wait does.
func (e *Env) Drain() {
	e.sessions.mu.Lock()
	e.sessions.draining = true
	list := make([]drainer, 0, len(e.sessions.m))
	for d := range e.sessions.m {
		list = append(list, d)
	}
	e.sessions.mu.Unlock()
	for _, d := range list {
		d.drain()
	}
}

// Kill closes every session's connection now.
func (e *Env) Kill() {
	e.sessions.mu.Lock()
	e.sessions.draining = true
	list := make([]drainer, 0, len(e.sessions.m))
	for d := range e.sessions.m {
		list = append(list, d)
	}
	e.sessions.mu.Unlock()
	for _, d := range list {
		d.kill()
	}
}

// Wait blocks until every session has ended.
func (e *Env) Wait() { e.sessions.wg.Wait() }

// Active returns the number of live sessions.
func (e *Env) Active() int {
	e.sessions.mu.Lock()
	defer e.sessions.mu.Unlock()
	return len(e.sessions.m)
}

// Draining reports whether Drain or Kill was called.
func (e *Env) Draining() bool {
	e.sessions.mu.Lock()
	defer e.sessions.mu.Unlock()
	return e.sessions.draining
}

// logCoalesced notes at debug level a request served on a connection whose
// certificate covers its authority under another name than the SNI
// (HTTP/2 connection coalescing, RFC 9113 9.1.1).
func (e *Env) logCoalesced(session uint64, proto string, info ConnInfo, authority []byte) {
	if !e.Log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	e.logSession(slog.LevelDebug, session, proto, info.Client, "coalesced request", "sni", info.TLS.SNI, "authority", string(authority))
}
