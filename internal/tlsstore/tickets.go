package tlsstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// TicketKeyOptions configure a TicketKeys.
type TicketKeyOptions struct {
	// Interval between rotations. Default 12h. A ticket stays usable for
	// about Interval*(Keep+1) after it was issued, and crypto/tls caps
	// that at 7 days anyway.
	Interval time.Duration
	// Keep is how many previous keys still decrypt tickets after a
	// rotation. Default 2; 0 means the default, negative means none.
	Keep int
	// Now is the clock deciding when a rotation is due. Default time.Now.
	Now func() time.Time
	// Rand is the key source. Default crypto/rand.
	Rand io.Reader
}

// TicketKeys owns the session ticket keys of one or more listeners'
// tls.Configs and rotates them: the newest key seals new tickets, the
// previous Keep keys still open older ones, so clients keep resuming
// across a rotation while a stolen key exposes at most a bounded window
// of sessions (forward secrecy of resumed sessions, RFC 8446 2.2 / RFC
// 5077 5.5).
//
// Rotation is driven from outside, so tests need no sleeps: call Rotate,
// or RotateIfDue against the injected clock, or run Run in a goroutine.
// Safe for concurrent use.
type TicketKeys struct {
	interval time.Duration
	keep     int
	now      func() time.Time

	mu      sync.Mutex
	rand    io.Reader  // read under mu
	keys    [][32]byte // newest first; at most keep+1
	rotated time.Time  // when keys[0] was made
	configs []*tls.Config
}

// NewTicketKeys returns a TicketKeys holding one fresh key.
func NewTicketKeys(o TicketKeyOptions) (*TicketKeys, error) {
	k := &TicketKeys{interval: o.Interval, keep: o.Keep, now: o.Now, rand: o.Rand}
	if k.interval <= 0 {
		k.interval = 12 * time.Hour
	}
	switch {
	case k.keep == 0:
		k.keep = 2
	case k.keep < 0:
		k.keep = 0
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

// Attach makes cfg use these keys from now on, including after every
// future rotation. It disables crypto/tls's own key rotation for cfg.
func (k *TicketKeys) Attach(cfg *tls.Config) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !slices.Contains(k.configs, cfg) {
		k.configs = append(k.configs, cfg)
	}
	cfg.SetSessionTicketKeys(k.keys)
}

// Detach stops updating cfg (a listener that closed); it keeps the keys
// it has.
func (k *TicketKeys) Detach(cfg *tls.Config) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.configs = slices.DeleteFunc(k.configs, func(c *tls.Config) bool { return c == cfg })
}

// Rotate makes a new key the sealing key now, keeps the previous Keep for
// opening, forgets older ones, and installs the set in every attached
// config.
func (k *TicketKeys) Rotate() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var key [32]byte
	if _, err := io.ReadFull(k.rand, key[:]); err != nil {
		return fmt.Errorf("session ticket key: %w", err)
	}
	keys := make([][32]byte, 0, k.keep+1)
	keys = append(keys, key)
	keys = append(keys, k.keys[:min(len(k.keys), k.keep)]...)
	k.keys = keys
	k.rotated = k.now()
	for _, cfg := range k.configs {
		// SetSessionTicketKeys copies the keys; the slice stays ours.
		cfg.SetSessionTicketKeys(k.keys)
	}
	return nil
}

// NextRotation is when RotateIfDue will next rotate.
func (k *TicketKeys) NextRotation() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rotated.Add(k.interval)
}

// RotateIfDue rotates when Interval has passed since the last rotation by
// the injected clock, and reports whether it did.
func (k *TicketKeys) RotateIfDue() (bool, error) {
	if k.now().Before(k.NextRotation()) {
		return false, nil
	}
	if err := k.Rotate(); err != nil {
		return false, err
	}
	return true, nil
}

// retryAfterError bounds how fast Run retries a failed rotation.
const retryAfterError = time.Minute

// Run rotates the keys every Interval until ctx is done, then returns
// ctx's error. A failed rotation (the key source failed) keeps the
// current keys and is retried a minute later.
func (k *TicketKeys) Run(ctx context.Context) error {
	wait := k.NextRotation().Sub(k.now())
	for {
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if _, err := k.RotateIfDue(); err != nil {
			wait = min(retryAfterError, k.interval)
			continue
		}
		wait = k.NextRotation().Sub(k.now())
	}
}
