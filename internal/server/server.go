// Package server runs one sluice process: it binds the listeners of a
// config, wires them to the live state, serves metrics, and drains or stops
// everything on shutdown. cmd/sluice is a thin shell around it; tests start
// it in-process.
package server

import (
	"context"
	"crypto/tls"
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
	// MetricsListener, when set, is the already bound socket of
	// metrics_address (upgrade hand-over).
	MetricsListener net.Listener
}

// Server is a running sluice.
type Server struct {
	// Config is the configuration in effect. Reconfigure replaces it
	// (under mu): code that may run concurrently with a change reads it
	// with Live.
	Config    *config.Config
	State     *state.State
	Metrics   *metrics.Metrics
	AccessLog *accesslog.Logger
	Log       *slog.Logger

	// reconf serialises Reconfigure and Shutdown: the listener set
	// changes under it. mu guards the maps for readers (Addr, CertStore).
	reconf     sync.Mutex
	mu         sync.Mutex
	listeners  map[string]*listener.Listener
	sockets    map[string]*socket // bound sockets by listener address
	certStores map[string]*tlsstore.Store
	serving    sync.WaitGroup
	metricsLn  net.Listener
	metricsHS  *http.Server
	stopped    bool

	// retired are listeners removed or replaced by Reconfigure whose
	// sessions are still draining; Shutdown waits for them too.
	retiredMu sync.Mutex
	retired   map[*listener.Listener]struct{}
	draining  sync.WaitGroup
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
	s := &Server{Config: cfg, State: state.New(m), Metrics: m, AccessLog: al, Log: log,
		listeners: map[string]*listener.Listener{}, sockets: map[string]*socket{},
		certStores: map[string]*tlsstore.Store{}, retired: map[*listener.Listener]struct{}{}}
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
		sock := &socket{ln: ln}
		l, store, err := s.newListener(cfg, lc, sock)
		if err == nil && store != nil {
			_, err = syncCertsAdd(store, cfg, lc)
		}
		if err != nil {
			ln.Close()
			s.closeListeners()
			return nil, fmt.Errorf("listener %s: %w", lc.Address, err)
		}
		s.listeners[lc.Address] = l
		s.sockets[lc.Address] = sock
		if store != nil {
			s.certStores[lc.Address] = store
		}
	}
	if cfg.MetricsAddress != "" {
		if err := s.serveMetrics(cfg.MetricsAddress, o.MetricsListener); err != nil {
			s.closeListeners()
			return nil, err
		}
	}
	for _, l := range s.listeners {
		s.serve(l)
	}
	return s, nil
}

// serve runs l's accept loop.
func (s *Server) serve(l *listener.Listener) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		l.Serve()
	}()
}

// newListener builds the listener of lc on sock (a new accept gate on
// it), with lc's https certificates as cfg declares them. The store is nil
// for http listeners.
func (s *Server) newListener(cfg *config.Config, lc *config.Listener, sock *socket) (*listener.Listener, *tlsstore.Store, error) {
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
	var store *tlsstore.Store
	if lc.Protocol == "https" {
		var tc *tls.Config
		var err error
		store, tc, err = tlsConfigFor(cfg, lc, s.Log)
		if err != nil {
			return nil, nil, err
		}
		opts.TLS = tc
		opts.Handshake = tlsHandshake
		opts.Classify = classifyHandshake
	}
	return listener.New(sock.gate(), opts), store, nil
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
			// DESIGN.md 3.7: slow loris on HTTP/2 (a trickled field
			// block) is bounded by the request timeout, as on HTTP/1.1.
			HeaderBlockTimeout: lc.RequestTimeout,
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
				SettingsEntries:            f.SettingsEntries,
				PriorityEntries:            f.PriorityEntries,
				// h2_max_header_list_size bounds the encoded block too
				// (docs/configuration.md).
				HeaderBlockBytes: f.HeaderListSize,
			},
		},
		GracefulShutdownDeadline: drain,
		Scheduler:                h2Scheduler(lc.H2Scheduler),
	}
}

// h2Scheduler maps h2_scheduler to the engine's write scheduler.
func h2Scheduler(name string) h2.SchedulerKind {
	if name == config.H2SchedulerFair {
		return h2.SchedulerFair
	}
	return h2.SchedulerRFC9218
}

func (s *Server) serveMetrics(addr string, ln net.Listener) error {
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("metrics_address %s: %w", addr, err)
		}
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
	for _, sock := range s.sockets {
		sock.ln.Close()
	}
}

// Shutdown stops accepting, asks every session to finish what is in flight
// and waits for them until ctx ends; then it closes whatever is left. It
// returns ctx.Err() when it had to force-close.
//
// A connection accepted just before the sockets closed is still in its
// TLS handshake or protocol detection; Shutdown lets it become a session
// (waitAdmitted) before asking sessions to drain, so it is served and
// drained rather than dropped unanswered.
func (s *Server) Shutdown(ctx context.Context) error {
	s.reconf.Lock()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.reconf.Unlock()
		return nil
	}
	s.stopped = true
	ls := make([]*listener.Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	s.reconf.Unlock()

	for _, l := range ls {
		l.Close()
	}
	admitted := time.Now().Add(maxAdmitWait)
	for _, l := range ls {
		waitAdmitted(ctx, l, admitted)
	}
	for _, l := range ls {
		l.Env().Drain()
	}
	done := make(chan struct{})
	go func() {
		for _, l := range ls {
			l.Env().Wait()
		}
		s.draining.Wait()
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
		s.killRetired()
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
