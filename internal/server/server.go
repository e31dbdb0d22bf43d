// Package server runs one sluice process: it binds the listeners of a
// config, wires them to the live state, serves metrics, and drains or stops
// everything on shutdown. cmd/sluice is a thin shell around it; tests start
// it in-process.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/listener"
	"github.com/sluice-proxy/sluice/internal/metrics"
	"github.com/sluice-proxy/sluice/internal/session"
	"github.com/sluice-proxy/sluice/internal/state"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// Options tune a server beyond its config.
type Options struct {
	Log       *slog.Logger
	AccessLog *accesslog.Logger // overrides the config's access_log (tests)
	// Listeners maps listener addresses to already bound sockets (upgrade
	// hand-over, or tests that bind port 0 first).
	Listeners map[string]net.Listener
}

// Server is a running sluice.
type Server struct {
	Config    *config.Config
	State     *state.State
	Metrics   *metrics.Metrics
	AccessLog *accesslog.Logger
	Log       *slog.Logger

	mu         sync.Mutex
	listeners  map[string]*listener.Listener
	certStores map[string]*tlsstore.Store
	serving    sync.WaitGroup
	metricsLn  net.Listener
	metricsHS  *http.Server
	stopped    bool
}

// Start binds every listener of cfg and starts serving.
func Start(cfg *config.Config, o Options) (*Server, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	m := metrics.New()
	al := o.AccessLog
	if al == nil {
		var err error
		al, err = accesslog.Open(cfg.AccessLog, cfg.AccessLogFormat)
		if err != nil {
			return nil, fmt.Errorf("access_log: %w", err)
		}
	}
	s := &Server{Config: cfg, State: state.New(m), Metrics: m, AccessLog: al, Log: log, listeners: map[string]*listener.Listener{}, certStores: map[string]*tlsstore.Store{}}
	if err := s.State.Apply(cfg); err != nil {
		return nil, err
	}
	for _, lc := range cfg.Listeners {
		ln := o.Listeners[lc.Address]
		if ln == nil {
			var err error
			ln, err = net.Listen("tcp", lc.Address)
			if err != nil {
				s.closeListeners()
				return nil, fmt.Errorf("listener %s: %w", lc.Address, err)
			}
		}
		l, err := s.newListener(lc, ln)
		if err != nil {
			ln.Close()
			s.closeListeners()
			return nil, fmt.Errorf("listener %s: %w", lc.Address, err)
		}
		s.listeners[lc.Address] = l
	}
	if cfg.MetricsAddress != "" {
		if err := s.serveMetrics(cfg.MetricsAddress); err != nil {
			s.closeListeners()
			return nil, err
		}
	}
	for _, l := range s.listeners {
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			l.Serve()
		}()
	}
	return s, nil
}

func (s *Server) newListener(lc *config.Listener, ln net.Listener) (*listener.Listener, error) {
	env := session.NewEnv(session.Env{
		Listener: lc.Address,
		TLS:      lc.Protocol == "https",
		Limits: session.Limits{
			FrontTimeout:   lc.FrontTimeout,
			RequestTimeout: lc.RequestTimeout,
			BackTimeout:    lc.BackTimeout,
			ConnectTimeout: lc.ConnectTimeout,
			MaxHeadBytes:   lc.MaxHeaderBytes,
			MaxHeaderCount: lc.MaxHeaderCount,
			H2:             h2Limits(lc),
		},
		Routes:    s.State.RoutesFor(lc.Address),
		Metrics:   s.Metrics,
		AccessLog: s.AccessLog,
		Log:       s.Log.With("listener", lc.Address),
	})
	opts := listener.Options{
		Env:              env,
		H2C:              lc.H2C,
		MaxConnections:   lc.MaxConnections,
		MaxPerIP:         lc.MaxConnectionsPerIP,
		HandshakeTimeout: lc.RequestTimeout,
		Log:              s.Log,
	}
	if lc.Protocol == "https" {
		store, tc, err := tlsConfigFor(s.Config, lc)
		if err != nil {
			return nil, err
		}
		s.certStores[lc.Address] = store
		opts.TLS = tc
		opts.Handshake = tlsHandshake
		opts.Classify = func(err error) string { return tlsstore.ClassifyHandshakeError(err).String() }
	}
	return listener.New(ln, opts), nil
}

func h2Limits(lc *config.Listener) session.H2Limits {
	f := lc.Flood
	drain := lc.H2GracefulShutdownDeadline
	if drain == 0 {
		drain = -1 // config 0 = wait for every stream
	}
	return session.H2Limits{
		Config: h2.Config{
			MaxConcurrentStreams: lc.H2MaxConcurrentStreams,
			InitialWindowSize:    lc.H2InitialWindowSize,
			StreamIdleTimeout:    lc.H2StreamIdleTimeout,
			SettingsAckTimeout:   lc.H2SettingsAckTimeout,
			Flood: h2.FloodLimits{
				RSTStreamPerWindow:         f.RSTStreamPerWindow,
				RSTStreamLifetime:          f.RSTStreamLifetime,
				RSTStreamAbusiveLifetime:   f.RSTStreamAbusiveLifetime,
				RSTStreamEmittedLifetime:   f.RSTStreamEmittedLifetime,
				PendingRSTStreams:          f.PendingRSTStreams,
				PingPerWindow:              f.PingPerWindow,
				PingLifetime:               f.PingLifetime,
				SettingsPerWindow:          f.SettingsPerWindow,
				SettingsLifetime:           f.SettingsLifetime,
				EmptyDataPerWindow:         f.EmptyDataPerWindow,
				WindowUpdateZeroPerWindow:  f.WindowUpdateZeroPerWindow,
				ContinuationFrames:         f.ContinuationFrames,
				HeaderListSize:             f.HeaderListSize,
				HeaderFields:               f.HeaderFields,
				HeaderTableSize:            f.HeaderTableSize,
				GlitchCount:                f.GlitchCount,
				RefusedStreamsBeforeShrink: f.RefusedStreamsBeforeShrink,
			},
		},
		GracefulShutdownDeadline: drain,
	}
}

func (s *Server) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics_address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.Metrics.Handler())
	s.metricsLn = ln
	s.metricsHS = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.metricsHS.Serve(ln)
	return nil
}

// Addr returns the bound address of a configured listener (useful when the
// config asked for port 0).
func (s *Server) Addr(configured string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.listeners[configured]; l != nil {
		return l.Addr()
	}
	return nil
}

// MetricsAddr returns the metrics listener's address, or nil.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.Raw().Close()
	}
}

// Shutdown stops accepting, asks every session to finish what is in flight
// and waits for them until ctx ends; then it closes whatever is left. It
// returns ctx.Err() when it had to force-close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	ls := make([]*listener.Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	s.mu.Unlock()

	for _, l := range ls {
		l.Close()
	}
	for _, l := range ls {
		l.Env().Drain()
	}
	done := make(chan struct{})
	go func() {
		for _, l := range ls {
			l.Env().Wait()
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, l := range ls {
			l.Env().Kill()
		}
		<-done
	}
	s.serving.Wait()
	if s.metricsHS != nil {
		s.metricsHS.Close()
	}
	s.State.Close()
	s.AccessLog.Close()
	return err
}

// Kill closes everything at once.
func (s *Server) Kill() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
}

var errNoCert = errors.New("https listener without any certificate (set certificate/key on the listener or on a frontend)")

// tlsConfigFor builds an https listener's certificate store (its default
// certificate and those of the frontends on it) and TLS config.
func tlsConfigFor(cfg *config.Config, lc *config.Listener) (*tlsstore.Store, *tls.Config, error) {
	store := tlsstore.NewStore()
	if lc.Certificate != "" {
		c, err := store.AddFiles(lc.Certificate, lc.Key, lc.CertificateChain)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %s: %w", lc.Certificate, err)
		}
		if err := store.SetDefault(c); err != nil {
			return nil, nil, err
		}
	}
	for _, cc := range cfg.Clusters {
		for _, f := range cc.Frontends {
			if f.Address != lc.Address || f.Certificate == "" {
				continue
			}
			if _, err := store.AddFiles(f.Certificate, f.Key, f.CertificateChain); err != nil && !errors.Is(err, tlsstore.ErrExists) {
				return nil, nil, fmt.Errorf("cluster %s: certificate %s: %w", cc.ID, f.Certificate, err)
			}
		}
	}
	if store.Len() == 0 {
		return nil, nil, errNoCert
	}
	tc, err := tlsstore.ServerConfig(tlsstore.Options{Versions: lc.TLSVersions, CipherSuites: lc.CipherSuites, ALPN: lc.ALPNProtocols}, store)
	if err != nil {
		return nil, nil, err
	}
	return store, tc, nil
}

// tlsHandshake runs a handshake through the store (which records the
// certificate it served) and returns the connection's identity.
func tlsHandshake(ctx context.Context, tc *tls.Conn) (*session.TLSInfo, error) {
	served, err := tlsstore.Handshake(ctx, tc)
	if err != nil {
		return nil, err
	}
	cs := tc.ConnectionState()
	id := tlsstore.IdentityOf(cs, served)
	return &session.TLSInfo{
		Version:   tls.VersionName(cs.Version),
		Cipher:    tls.CipherSuiteName(cs.CipherSuite),
		SNI:       id.SNI,
		Allows:    id.Allows,
		H2Allowed: tlsstore.H2Allowed(cs),
	}, nil
}

// CertStore returns an https listener's certificate store (nil for other
// listeners): the admin API adds, replaces and removes certificates there.
func (s *Server) CertStore(listener string) *tlsstore.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certStores[listener]
}
