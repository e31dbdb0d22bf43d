// Package admin is sluice's control plane: the admin API (HTTP+JSON on a
// unix socket), the changes it makes to the live configuration, the
// client `sluice ctl` uses, and the process lifecycle around a server
// (signals, reload, saved state, graceful shutdown and zero-downtime
// upgrade).
//
// Every change follows one path (Controller.change): clone the live
// config, edit the copy, apply defaults, validate the whole candidate with
// config.Validate, apply it with server.Reconfigure (routing published
// atomically through state.Apply), write the saved state, log an audit
// line and count it in sluice_admin_changes_total{op,result}. A refused
// change leaves everything as it was.
package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
	"github.com/sluice-proxy/sluice/internal/state"
)

// Peer is who asked for a change: the process at the other end of the
// admin socket (its credentials as the kernel reports them) or a signal.
type Peer struct {
	UID, PID int
	// Via is set when the change did not come through the socket
	// ("SIGHUP").
	Via string
}

func (p Peer) String() string {
	if p.Via != "" {
		return p.Via
	}
	if p.UID < 0 {
		return "unknown peer"
	}
	return "uid=" + strconv.Itoa(p.UID) + " pid=" + strconv.Itoa(p.PID)
}

// Controller applies changes to one server's live configuration. Changes
// are serialised; reads (State) never wait for them.
type Controller struct {
	srv        *server.Server
	configFile string
	log        *slog.Logger
	changes    *prometheus.CounterVec
	started    time.Time

	mu         sync.Mutex // serialises changes
	certMu     sync.Mutex
	tmpCertDir string // uploads without a saved state; guarded by certMu

	// Lifecycle hooks, set by the process runner (Run); nil refuses the
	// request.
	onShutdown func(hard bool)
	onUpgrade  func() (*UpgradeResult, error)
}

// UpgradeResult is the answer to an upgrade: the process that took over.
type UpgradeResult struct {
	OldPID int `json:"old_pid"`
	NewPID int `json:"new_pid"`
}

// NewController controls srv. configFile is what reload re-reads ("" when
// the config was not loaded from a file: reload is then refused).
func NewController(srv *server.Server, configFile string, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	c := &Controller{srv: srv, configFile: configFile, log: log, started: time.Now()}
	c.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_admin_changes_total",
		Help: "Changes requested through the admin API or signals, by operation and result (ok, refused, failed).",
	}, []string{"op", "result"})
	if err := srv.Metrics.Registry.Register(c.changes); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			c.changes = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return c
}

// Server returns the controlled server.
func (c *Controller) Server() *server.Server { return c.srv }

// Outcome is the answer to an applied change.
type Outcome struct {
	Op      string          `json:"op"`
	What    string          `json:"what"`
	Changes *server.Changes `json:"changes,omitempty"`
	Saved   bool            `json:"saved"`             // the saved state was written
	Warning string          `json:"warning,omitempty"` // applied, but something needs attention
	// Extra holds what an operation adds (certificate.add: its "id").
	Extra map[string]any `json:"extra,omitempty"`
}

// change runs one change through the common path (see the package doc).
// mutate edits the candidate and may refuse with an *Error.
func (c *Controller) change(who Peer, op, what string, mutate func(cand *config.Config) error) (*Outcome, *Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cand := state.CloneConfig(c.srv.Live())
	out, err := c.applyLocked(who, op, what, cand, mutate)
	return out, err
}

func (c *Controller) applyLocked(who Peer, op, what string, cand *config.Config, mutate func(*config.Config) error) (out *Outcome, e *Error) {
	defer func() { c.record(who, op, what, out, e) }()
	if mutate != nil {
		if err := mutate(cand); err != nil {
			return nil, asError(err)
		}
	}
	config.ApplyDefaults(cand)
	if err := config.Validate(cand); err != nil {
		return nil, invalid(err)
	}
	ch, err := c.srv.Reconfigure(cand)
	switch {
	case errors.Is(err, server.ErrStopped):
		return nil, errorf(http.StatusServiceUnavailable, "%v", err)
	case err != nil:
		// The candidate is valid but could not be put in place (an
		// address in use, a certificate file changed since validation).
		return nil, conflict("cannot apply: %v (nothing was applied)", err)
	}
	out = &Outcome{Op: op, What: what, Changes: ch}
	if cand.SavedState != "" {
		if err := state.Save(cand.SavedState, cand); err != nil {
			out.Warning = fmt.Sprintf("applied, but the saved state %s could not be written: %v", cand.SavedState, err)
		} else {
			out.Saved = true
		}
	}
	return out, nil
}

// record writes the audit line and counts the change.
func (c *Controller) record(who Peer, op, what string, out *Outcome, e *Error) {
	result := e.Result()
	c.changes.WithLabelValues(op, result).Inc()
	args := []any{"peer", who.String(), "op", op, "what", what, "result", result}
	switch {
	case e == nil && out != nil && out.Warning != "":
		c.log.Warn("admin change", append(args, "warning", out.Warning)...)
	case e == nil:
		if out != nil && out.Changes != nil {
			args = append(args, "version", out.Changes.Version)
		}
		c.log.Info("admin change", args...)
	case result == "refused":
		c.log.Warn("admin change", append(args, "status", e.Status, "err", e.Error())...)
	default:
		c.log.Error("admin change", append(args, "status", e.Status, "err", e.Error())...)
	}
}

// refuse records a request refused before it reached change (bad JSON,
// forbidden peer, oversized body) and returns e.
func (c *Controller) refuse(who Peer, op, what string, e *Error) *Error {
	c.record(who, op, what, nil, e)
	return e
}

// State returns the live configuration in the file's shape.
func (c *Controller) State() *state.Document { return state.NewDocument(c.srv.Live()) }

// Status describes the process.
type Status struct {
	PID        int       `json:"pid"`
	Version    uint64    `json:"state_version"`
	Started    time.Time `json:"started"`
	ConfigFile string    `json:"config_file,omitempty"`
	SavedState string    `json:"saved_state,omitempty"`
	Listeners  []string  `json:"listeners"`
	Clusters   int       `json:"clusters"`
	Backends   int       `json:"backends"`
}

// Status returns the process's identity and a summary of the live state.
func (c *Controller) Status() *Status {
	cfg := c.srv.Live()
	st := &Status{PID: os.Getpid(), Started: c.started, ConfigFile: c.configFile, SavedState: cfg.SavedState,
		Listeners: []string{}, Clusters: len(cfg.Clusters)}
	if snap := c.srv.State.Current(); snap != nil {
		st.Version = snap.Version
	}
	for _, l := range cfg.Listeners {
		st.Listeners = append(st.Listeners, l.Address)
	}
	for _, cl := range cfg.Clusters {
		st.Backends += len(cl.Backends)
	}
	return st
}

// Reload re-reads the config file and applies its listeners and clusters,
// changing only what differs. Process-wide keys keep their live values
// (they take effect at the next start or upgrade); the answer's warning
// names those that differ. Changes made through the API since the last
// start are replaced by the file's content.
func (c *Controller) Reload(who Peer) (*Outcome, *Error) {
	const op = "reload"
	if c.configFile == "" {
		return nil, c.refuse(who, op, "", errorf(http.StatusConflict, "reload needs a config file: this process runs the embedded config"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	file, err := config.Load(c.configFile)
	if err != nil {
		e := &Error{Status: http.StatusBadRequest, Message: "config file is invalid: nothing was applied"}
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, ce := range errs {
				e.Details = append(e.Details, Detail{Message: ce.Error()})
			}
		} else {
			e.Details = []Detail{{Message: err.Error()}}
		}
		return nil, c.refuse(who, op, c.configFile, e)
	}
	live := c.srv.Live()
	cand := state.CloneConfig(live)
	routing := state.CloneConfig(file)
	cand.Listeners, cand.Clusters = routing.Listeners, routing.Clusters
	out, e := c.applyLocked(who, op, c.configFile, cand, nil)
	if e == nil {
		if diff := processKeysDiffer(live, file); diff != "" {
			w := "not applied until the next start or upgrade: " + diff
			if out.Warning != "" {
				w = out.Warning + "; " + w
			}
			out.Warning = w
		}
	}
	return out, e
}

// processKeysDiffer names the process-wide keys whose value in the file
// differs from the live one.
func processKeysDiffer(live, file *config.Config) string {
	var d []string
	add := func(key string, differ bool) {
		if differ {
			d = append(d, key)
		}
	}
	add("log_level", live.LogLevel != file.LogLevel)
	add("log_format", live.LogFormat != file.LogFormat)
	add("access_log", live.AccessLog != file.AccessLog)
	add("access_log_format", live.AccessLogFormat != file.AccessLogFormat)
	add("admin_socket", live.AdminSocket != file.AdminSocket)
	add("admin_allowed_uids", fmt.Sprint(live.AdminAllowedUIDs) != fmt.Sprint(file.AdminAllowedUIDs))
	add("metrics_address", live.MetricsAddress != file.MetricsAddress)
	add("saved_state", live.SavedState != file.SavedState)
	s := ""
	for i, k := range d {
		if i > 0 {
			s += ", "
		}
		s += k
	}
	return s
}
