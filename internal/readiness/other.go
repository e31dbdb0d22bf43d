//go:build !linux

package readiness

import "sync"

// Poller is unavailable on this system: New fails and Default is nil.
type Poller struct {
	mu      sync.Mutex
	waiting map[uint64]*Registration
	next    uint64
}

// New reports ErrUnsupported.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Arm cannot succeed without a Poller.
func (r *Registration) Arm() error { return ErrUnsupported }

func (p *Poller) remove(int) {}

type epollEvent struct{}
