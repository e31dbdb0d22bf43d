// Package state holds the live routing state: the clusters, their backends
// and each listener's routing table, built from a validated config and
// replaced atomically on every change.
//
// A change builds a complete new snapshot beside the current one and then
// publishes it with one atomic store per listener table, so a request sees
// the old routing or the new, never a mix. Backends keep their identity
// (pool, counters, health) across snapshots when their cluster and address
// are unchanged; removed backends are retired: they take no new requests
// and their in-flight requests finish.
package state

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/metrics"
	"github.com/sluice-proxy/sluice/internal/router"
	"github.com/sluice-proxy/sluice/internal/session"
)

// Snapshot is one immutable version of the routing state.
type Snapshot struct {
	Config   *config.Config
	Clusters map[string]*backend.Cluster
	Routes   map[string]*session.Routes // by listener address
	Version  uint64
}

// State is the live state of one process.
type State struct {
	mu       sync.Mutex // serializes changes; readers never take it
	cur      atomic.Pointer[Snapshot]
	backends map[backendKey]*backend.Backend
	routes   map[string]*atomic.Pointer[session.Routes]
	metrics  *metrics.Metrics
	retiring []*backend.Backend // removed, within their RetireGrace
}

type backendKey struct{ cluster, address string }

// New returns an empty state.
func New(m *metrics.Metrics) *State {
	if m == nil {
		m = metrics.New()
	}
	return &State{backends: map[backendKey]*backend.Backend{}, routes: map[string]*atomic.Pointer[session.Routes]{}, metrics: m}
}

// Current returns the current snapshot (nil before the first Apply).
func (s *State) Current() *Snapshot { return s.cur.Load() }

// RoutesFor returns the pointer a listener's sessions load their routing
// table from. It exists before the listener's first Apply so sessions can
// be wired up front.
func (s *State) RoutesFor(listener string) *atomic.Pointer[session.Routes] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routesPtr(listener)
}

func (s *State) routesPtr(listener string) *atomic.Pointer[session.Routes] {
	p := s.routes[listener]
	if p == nil {
		p = new(atomic.Pointer[session.Routes])
		s.routes[listener] = p
	}
	return p
}

// Apply makes cfg (already validated) the live state. On error nothing
// changes.
func (s *State) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	clusters := make(map[string]*backend.Cluster, len(cfg.Clusters))
	keep := map[backendKey]*backend.Backend{}
	var fresh []*backend.Backend
	for _, cc := range cfg.Clusters {
		policy, err := backend.ParsePolicy(cc.LoadBalancing)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", cc.ID, err)
		}
		answers, err := loadAnswers(cc.Answers)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", cc.ID, err)
		}
		proto, err := backend.ParseProtocol(cc.BackendProtocol)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", cc.ID, err)
		}
		var h2opts backend.H2Options
		if proto != backend.HTTP1 {
			h2opts, err = h2Options(cc, proto)
			if err != nil {
				return fmt.Errorf("cluster %s: %w", cc.ID, err)
			}
		}
		bs := make([]*backend.Backend, 0, len(cc.Backends))
		for _, bc := range cc.Backends {
			k := backendKey{cc.ID, bc.Address}
			b := s.backends[k]
			if b == nil || b.ID != backendID(bc) || b.Protocol() != proto {
				b = backend.NewBackend(cc.ID, backendID(bc), bc.Address, bc.Weight, backend.Options{
					MaxIdle:     cc.MaxIdleConnections,
					IdleTimeout: cc.IdleConnectionTimeout,
					BackoffMin:  cc.HealthBackoffMin,
					BackoffMax:  cc.HealthBackoffMax,
					Metrics:     s.metrics,
					Protocol:    proto,
					H2:          h2opts,
				})
				fresh = append(fresh, b)
			} else {
				b.SetWeight(bc.Weight)
			}
			keep[k] = b
			bs = append(bs, b)
		}
		clusters[cc.ID] = backend.NewCluster(cc.ID, backend.ClusterOptions{
			Policy:           policy,
			ConnectRetries:   cc.ConnectRetries,
			RetryBufferBytes: cc.RetryBufferBytes,
			Answers:          answers,
			Metrics:          s.metrics,
		}, bs)
	}

	// Routing tables, one per listener.
	rules := map[string][]router.Rule[*backend.Cluster]{}
	for _, l := range cfg.Listeners {
		rules[l.Address] = nil
	}
	for _, cc := range cfg.Clusters {
		for _, f := range cc.Frontends {
			pt, err := router.ParsePathType(f.PathType)
			if err != nil {
				return fmt.Errorf("cluster %s: %w", cc.ID, err)
			}
			rules[f.Address] = append(rules[f.Address], router.Rule[*backend.Cluster]{
				Hostname: f.Hostname, Path: f.Path, PathType: pt, Target: clusters[cc.ID],
			})
		}
	}
	tables := make(map[string]*session.Routes, len(rules))
	for addr, rs := range rules {
		t, err := router.Build(rs)
		if err != nil {
			return fmt.Errorf("listener %s: %w", addr, err)
		}
		tables[addr] = t
	}

	// Publish. From here on nothing can fail.
	prev := s.cur.Load()
	snap := &Snapshot{Config: cfg, Clusters: clusters, Routes: tables}
	if prev != nil {
		snap.Version = prev.Version + 1
	}
	// A listener that is no longer configured keeps its last table: its
	// sessions are draining (requests already on the wire finish with the
	// routing they were sent under) and no new session can reach it.
	for addr, t := range tables {
		s.routesPtr(addr).Store(t)
	}
	s.cur.Store(snap)
	var gone []*backend.Backend
	for k, b := range s.backends {
		if keep[k] != b {
			gone = append(gone, b)
		}
	}
	s.backends = keep
	s.retireLater(gone)
	_ = fresh
	return nil
}

// RetireGrace is how long a backend removed by Apply still takes the
// requests routed to it before it is retired. A request that loaded the
// previous routing table just before Apply published the new one may pick
// a backend of the old table a moment later; without the grace it would
// find every backend of a replaced cluster retired and answer 503. New
// requests never see a removed backend: they load the new table.
var RetireGrace = 500 * time.Millisecond

// retireLater retires removed backends after RetireGrace. Called with mu
// held.
func (s *State) retireLater(gone []*backend.Backend) {
	if len(gone) == 0 {
		return
	}
	s.retiring = append(s.retiring, gone...)
	time.AfterFunc(RetireGrace, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range gone {
			s.retireLocked(b)
		}
	})
}

// retireLocked retires b once (the timer and Close may both ask).
func (s *State) retireLocked(b *backend.Backend) {
	i := slices.Index(s.retiring, b)
	if i < 0 {
		return
	}
	s.retiring = slices.Delete(s.retiring, i, i+1)
	b.Retire()
	s.metrics.ForgetBackend(b.Cluster, b.ID)
}

// Close closes every backend's idle connections and retires the backends
// still within their grace.
func (s *State) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.backends {
		b.Close()
	}
	for len(s.retiring) > 0 {
		s.retireLocked(s.retiring[0])
	}
}

// Backends lists every live backend, sorted by cluster and id.
func (s *State) Backends() []*backend.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*backend.Backend, 0, len(s.backends))
	for _, b := range s.backends {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func backendID(b *config.Backend) string {
	if b.ID != "" {
		return b.ID
	}
	return b.Address
}

// loadAnswers converts a cluster's custom answers (file contents, read by
// the config loader) to the form sessions use.
func loadAnswers(contents map[int]string) (map[int][]byte, error) {
	if len(contents) == 0 {
		return nil, nil
	}
	out := make(map[int][]byte, len(contents))
	for code, body := range contents {
		if code < 400 || code > 599 {
			return nil, fmt.Errorf("answer %d: not an error status", code)
		}
		out[code] = []byte(body)
	}
	return out, nil
}

// h2Options builds an HTTP/2 cluster's pool settings: the TLS client
// config for "h2" (ALPN h2, verification per backend_tls_verify, the CAs
// of backend_tls_ca, backend_tls_server_name), the connection cap and the
// health-check timings.
func h2Options(cc *config.Cluster, proto backend.Protocol) (backend.H2Options, error) {
	o := backend.H2Options{
		MaxConns:    cc.BackendMaxConnections,
		ReadIdle:    cc.BackendH2ReadIdleTimeout,
		PingTimeout: cc.BackendH2PingTimeout,
	}
	if proto != backend.H2 {
		return o, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"h2"},
		InsecureSkipVerify: !cc.BackendTLSVerify,
		ServerName:         cc.BackendTLSServerName,
	}
	if cc.BackendTLSCA != "" {
		pem, err := os.ReadFile(cc.BackendTLSCA)
		if err != nil {
			return o, fmt.Errorf("backend_tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("backend_tls_ca %s: no PEM certificate found", cc.BackendTLSCA)
		}
		tc.RootCAs = pool
	}
	o.TLS = tc
	return o, nil
}
