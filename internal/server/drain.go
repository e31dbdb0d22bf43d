package server

import (
	"context"
	"time"

	"github.com/sluice-proxy/sluice/internal/listener"
)

// maxAdmitWait bounds how long a closed listener waits for connections it
// accepted to finish their TLS handshake or protocol detection. Real
// handshakes take milliseconds; a client that connected and sent nothing
// is not worth holding a shutdown or an upgrade for longer.
const maxAdmitWait = 2 * time.Second

// waitAdmitted waits, after l stopped accepting, until every connection l
// admitted has become a session or gone (until deadline, at most
// maxAdmitWait from now, or until ctx ends). A session asked to
// drain before it registered would be refused and its connection closed
// unanswered; after this wait Drain reaches all of them.
func waitAdmitted(ctx context.Context, l *listener.Listener, deadline time.Time) {
	for l.Active() > int64(l.Env().Active()) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}

// retire drains a listener that Reconfigure removed or replaced: it has
// stopped accepting; its sessions finish like at shutdown (H1: the current
// response with Connection: close; H2: the double GOAWAY within the
// listener's h2_graceful_shutdown_deadline_seconds). Shutdown waits for it
// and kills it when its own deadline ends.
func (s *Server) retire(l *listener.Listener) {
	s.retiredMu.Lock()
	s.retired[l] = struct{}{}
	s.retiredMu.Unlock()
	s.draining.Add(1)
	go func() {
		defer s.draining.Done()
		waitAdmitted(context.Background(), l, time.Now().Add(maxAdmitWait))
		l.Env().Drain()
		l.Env().Wait()
		s.retiredMu.Lock()
		delete(s.retired, l)
		s.retiredMu.Unlock()
	}()
}

// killRetired closes every session of the draining retired listeners.
func (s *Server) killRetired() {
	s.retiredMu.Lock()
	defer s.retiredMu.Unlock()
	for l := range s.retired {
		l.Env().Kill()
	}
}
