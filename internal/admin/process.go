package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
	"github.com/sluice-proxy/sluice/internal/state"
)

// Exit codes of Run (CONTRACT.md).
const (
	ExitOK     = 0
	ExitConfig = 1
)

// RunOptions describe the process Run runs.
type RunOptions struct {
	// ConfigFile is the -c FILE (reload and upgrade re-read it); "" for
	// the embedded config, which then is Config.
	ConfigFile string
	// Config is the config file as loaded (its top-level keys always
	// apply; its listeners and clusters unless a saved state or an
	// upgrade hand-over brings others).
	Config *config.Config
	// Args are the process's arguments (without the program name): an
	// upgrade starts the same binary with the same arguments.
	Args []string
	Log  *slog.Logger
	// Stderr receives errors before the logger is usable.
	Stderr io.Writer
	// Started, when set, is called once sluice serves.
	Started func(*server.Server)
	// Stop, when set, is an extra way to ask for a graceful stop (tests);
	// closing it is like SIGTERM.
	Stop <-chan struct{}
}

// Run runs sluice until it is shut down and returns the exit code: it
// starts the server (from the saved state or an upgrade hand-over when
// there is one), serves the admin API, and turns signals into actions:
// SIGTERM/SIGINT drain and exit (a second one closes everything at once),
// SIGHUP reloads the config file, SIGUSR2 upgrades the binary.
func Run(o RunOptions) int {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	// During an upgrade two processes write to the same log: say which.
	log = log.With("pid", os.Getpid())
	// Signals first: one arriving while we start is handled, not fatal.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	inh, err := takeInheritance()
	if err != nil {
		fmt.Fprintf(o.Stderr, "sluice: upgrade hand-over: %v\n", err)
		return ExitConfig
	}
	cfg, how, err := startConfig(o.Config, inh)
	if err != nil {
		inh.close()
		printConfigErr(o.Stderr, err)
		return ExitConfig
	}
	inh.closeUnused(cfg)
	srv, err := server.Start(cfg, server.Options{Log: log, Listeners: inh.listeners, MetricsListener: inh.metrics})
	if err != nil {
		inh.close()
		fmt.Fprintf(o.Stderr, "sluice: %v\n", err)
		return ExitConfig
	}
	p := &process{o: o, log: log, srv: srv, exe: executable(), shutdown: make(chan bool, 8)}
	p.ctrl = NewController(srv, o.ConfigFile, log)
	p.ctrl.onShutdown = p.requestShutdown
	p.ctrl.onUpgrade = p.upgrade
	if cfg.AdminSocket != "" {
		ln := inh.admin
		if ln == nil {
			ln, err = ListenSocket(cfg.AdminSocket, socketModeFor(cfg.AdminAllowedUIDs))
		}
		if err != nil {
			srv.Kill()
			fmt.Fprintf(o.Stderr, "sluice: %v\n", err)
			return ExitConfig
		}
		p.api = p.ctrl.Serve(ln, cfg.AdminSocket)
	}
	for _, l := range cfg.Listeners {
		log.Info("listening", "address", l.Address, "protocol", l.Protocol)
	}
	if how != "" {
		log.Info("live state restored", "from", how)
	}
	if p.api != nil {
		log.Info("admin API", "socket", cfg.AdminSocket)
	}
	if o.Started != nil {
		o.Started(srv)
	}
	if inh.ready != nil {
		fmt.Fprintf(inh.ready, "ready %d\n", os.Getpid())
		inh.ready.Close()
		log.Info("upgrade: took over from the previous process")
	}
	return p.loop(sigs)
}

// process is one running sluice and what Run needs to drive it.
type process struct {
	o    RunOptions
	log  *slog.Logger
	srv  *server.Server
	ctrl *Controller
	api  *API
	exe  string

	shutdown chan bool // from the API: hard?

	upgradeMu sync.Mutex // one upgrade at a time
	upgraded  bool
}

// requestShutdown asks the loop to stop (hard: at once). Requests beyond
// the buffer are dropped: eight pending are as good as one, and the
// sender (an API handler) must not block.
func (p *process) requestShutdown(hard bool) {
	select {
	case p.shutdown <- hard:
	default:
	}
}

// loop waits for signals and API requests until a shutdown.
func (p *process) loop(sigs chan os.Signal) int {
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				// Like `sluice ctl reload`; the audit line says how it went.
				p.ctrl.Reload(Peer{Via: "SIGHUP"})
				continue
			case syscall.SIGUSR2:
				go func() {
					if _, err := p.upgrade(); err != nil {
						p.log.Error("upgrade failed; this process goes on serving", "err", err)
					}
				}()
				continue
			}
			p.log.Info("shutting down: finishing in-flight requests (signal again to stop at once)", "signal", sig.String())
			return p.stop(sigs, false)
		case hard := <-p.shutdown:
			if hard {
				p.log.Warn("shutdown requested: closing every connection now")
			} else {
				p.log.Info("shutdown requested: finishing in-flight requests")
			}
			return p.stop(sigs, hard)
		case <-p.o.Stop:
			return p.stop(sigs, false)
		}
	}
}

// stop drains (or, hard, closes) everything and returns the exit code. A
// second signal, or a hard shutdown through the API, during the drain
// closes what is left.
func (p *process) stop(sigs chan os.Signal, hard bool) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if hard {
		cancel()
	}
	go func() {
		for {
			select {
			case sig := <-sigs:
				p.log.Warn("second signal: closing every connection now", "signal", sig.String())
				cancel()
				return
			case h := <-p.shutdown:
				if h {
					p.log.Warn("hard shutdown requested: closing every connection now")
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := p.srv.Shutdown(ctx); err != nil {
		p.log.Warn("shutdown forced", "err", err)
	}
	if p.api != nil {
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		p.api.Close(actx)
		acancel()
	}
	p.log.Info("stopped")
	return ExitOK
}

// startConfig returns the config to start with: the upgrade hand-over's
// state, else the saved state, else the config file; and what it was
// restored from ("" for the config file).
func startConfig(base *config.Config, inh *inheritance) (*config.Config, string, error) {
	if inh.statePath != "" {
		defer os.Remove(inh.statePath)
		routing, err := config.Load(inh.statePath)
		if err != nil {
			return nil, "", fmt.Errorf("upgrade state %s: %w", inh.statePath, err)
		}
		inh.parent = routing
		cfg, _, err := state.Merge(base, routing)
		if err != nil {
			return nil, "", err
		}
		return cfg, "the previous process (upgrade)", nil
	}
	cfg, restored, err := state.Restore(base)
	if err != nil || !restored {
		return cfg, "", err
	}
	return cfg, base.SavedState, nil
}

func printConfigErr(w io.Writer, err error) {
	fmt.Fprintln(w, strings.TrimRight(err.Error(), "\n"))
}

// executable is the path this process was started as, made absolute now
// (the working directory may change): an upgrade runs what is at that
// path then, which is the new binary when it was replaced in place.
func executable() string {
	name := os.Args[0]
	if !strings.ContainsRune(name, filepath.Separator) {
		if p, err := exec.LookPath(name); err == nil {
			name = p
		}
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return name
}

// closeListener closes a net.Listener, ignoring errors (a socket we
// inherited and do not use).
func closeListener(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}
