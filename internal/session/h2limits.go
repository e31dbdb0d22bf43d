package session

import (
	"time"

	"github.com/sluice-proxy/sluice/internal/h2"
)

// H2Limits are a listener's HTTP/2 settings: the engine's Config (its
// zero fields take the engine defaults, DESIGN.md 3.2 and 3.7) plus what
// the session itself enforces.
type H2Limits struct {
	h2.Config
	// GracefulShutdownDeadline bounds a drain: streams still open after it
	// are closed (default 5 s; negative waits forever).
	GracefulShutdownDeadline time.Duration
	// Scheduler selects the write scheduler (default RFC 9218).
	Scheduler h2.SchedulerKind
}

// FloodLimits are the engine's per-connection abuse limits.
type FloodLimits = h2.FloodLimits

func (l *H2Limits) setDefaults(backTimeout time.Duration) {
	if l.StreamIdleTimeout <= 0 {
		l.StreamIdleTimeout = max(30*time.Second, backTimeout)
	}
	if l.GracefulShutdownDeadline == 0 {
		l.GracefulShutdownDeadline = 5 * time.Second
	}
	l.Flood.SetDefaults()
}
