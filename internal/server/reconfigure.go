package server

import (
	"errors"
	"fmt"
	"net"
	"reflect"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/listener"
	"github.com/sluice-proxy/sluice/internal/state"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// Changes summarises what a Reconfigure did, for the audit log and the
// admin API's answer.
type Changes struct {
	ListenersAdded    []string `json:"listeners_added,omitempty"`
	ListenersRemoved  []string `json:"listeners_removed,omitempty"`
	ListenersReplaced []string `json:"listeners_replaced,omitempty"`   // settings changed: new accept loop on the same socket
	CertsAdded        []string `json:"certificates_added,omitempty"`   // "listener id"
	CertsRemoved      []string `json:"certificates_removed,omitempty"` // "listener id"
	Version           uint64   `json:"version"`                        // of the routing snapshot now live
}

// ErrStopped is Reconfigure's error once Shutdown has begun.
var ErrStopped = errors.New("server is shutting down")

// Reconfigure makes next (validated, defaults applied) the live
// configuration, changing only what differs from the current one:
//
//   - routing (clusters, frontends, backends) through state.Apply, one
//     atomic publication per listener table; backends whose cluster and
//     address are unchanged keep their pools;
//   - a new listener is bound and starts accepting; a removed one stops
//     accepting and its sessions drain as at shutdown;
//   - a listener whose settings changed gets a new accept loop on the same
//     socket (connections arriving meanwhile wait in the accept queue) and
//     its old sessions drain;
//   - the certificates of an https listener are added before any is
//     removed, so a replaced certificate is never missing.
//
// Everything that can fail (binding, loading certificates, building the
// routing tables) happens before anything is published; on error nothing
// has changed. Process-wide keys (log, access log, metrics, admin socket,
// saved state) are not reapplied: they take effect at the next start or
// upgrade.
func (s *Server) Reconfigure(next *config.Config) (*Changes, error) {
	s.reconf.Lock()
	defer s.reconf.Unlock()
	s.mu.Lock()
	stopped := s.stopped
	prev := s.Config
	s.mu.Unlock()
	if stopped {
		return nil, ErrStopped
	}

	p, err := s.prepare(prev, next)
	if err != nil {
		return nil, err
	}
	if err := s.State.Apply(next); err != nil {
		p.rollback()
		return nil, err
	}
	return s.commit(p, next), nil
}

// built is a listener prepared for next but not yet serving.
type built struct {
	lc    *config.Listener
	sock  *socket
	l     *listener.Listener
	store *tlsstore.Store
	fresh bool // the socket was bound by this change
}

// plan is a prepared Reconfigure: new listeners built, certificates added.
type plan struct {
	added, replaced []*built
	removed         []string
	certAdds        map[string][]string // listener -> ids added to its live store
	stores          map[string]*tlsstore.Store
	changes         Changes
}

func (p *plan) rollback() {
	for _, b := range append(p.added, p.replaced...) {
		if b.fresh {
			b.sock.ln.Close()
		}
	}
	for addr, ids := range p.certAdds {
		rollbackCerts(p.stores[addr], ids)
	}
}

// sameListener reports whether two listener configs differ only in their
// certificates (which change live in the store) and line numbers.
func sameListener(a, b *config.Listener) bool {
	x, y := state.CloneListener(a), state.CloneListener(b)
	for _, l := range []*config.Listener{x, y} {
		l.Line, l.Certificate, l.Key, l.CertificateChain, l.Certificates = 0, "", "", "", nil
	}
	return reflect.DeepEqual(x, y)
}

func (s *Server) prepare(prev, next *config.Config) (_ *plan, err error) {
	p := &plan{certAdds: map[string][]string{}, stores: map[string]*tlsstore.Store{}}
	defer func() {
		if err != nil {
			p.rollback()
		}
	}()
	old := map[string]*config.Listener{}
	for _, lc := range prev.Listeners {
		old[lc.Address] = lc
	}
	kept := map[string]bool{}
	for _, lc := range next.Listeners {
		kept[lc.Address] = true
		olc := old[lc.Address]
		switch {
		case olc == nil:
			ln, err := net.Listen("tcp", lc.Address)
			if err != nil {
				return nil, fmt.Errorf("listener %s: %w", lc.Address, err)
			}
			b := &built{lc: lc, sock: &socket{ln: ln}, fresh: true}
			p.added = append(p.added, b)
			if err := s.build(b, next); err != nil {
				return nil, err
			}
		case !sameListener(olc, lc):
			s.mu.Lock()
			sock := s.sockets[lc.Address]
			s.mu.Unlock()
			if !sock.swappable() {
				return nil, fmt.Errorf("listener %s: its settings cannot change while it runs (remove it and add it back)", lc.Address)
			}
			b := &built{lc: lc, sock: sock}
			p.replaced = append(p.replaced, b)
			if err := s.build(b, next); err != nil {
				return nil, err
			}
		case lc.Protocol == config.ProtocolHTTPS:
			store := s.CertStore(lc.Address)
			ids, err := syncCertsAdd(store, next, lc)
			if err != nil {
				return nil, fmt.Errorf("listener %s: %w", lc.Address, err)
			}
			p.certAdds[lc.Address], p.stores[lc.Address] = ids, store
		}
	}
	for _, lc := range prev.Listeners {
		if !kept[lc.Address] {
			p.removed = append(p.removed, lc.Address)
		}
	}
	return p, nil
}

// build creates b's listener (and certificate store) for next.
func (s *Server) build(b *built, next *config.Config) error {
	l, store, err := s.newListener(next, b.lc, b.sock)
	if err == nil && store != nil {
		_, err = syncCertsAdd(store, next, b.lc)
	}
	if err != nil {
		return fmt.Errorf("listener %s: %w", b.lc.Address, err)
	}
	b.l, b.store = l, store
	return nil
}

// commit switches the listeners over once the routing is published.
// Nothing here fails.
func (s *Server) commit(p *plan, next *config.Config) *Changes {
	ch := &p.changes
	for addr, ids := range p.certAdds {
		for _, id := range ids {
			ch.CertsAdded = append(ch.CertsAdded, addr+" "+id)
		}
	}
	var old []*listener.Listener
	s.mu.Lock()
	for _, b := range p.replaced {
		old = append(old, s.listeners[b.lc.Address])
	}
	s.mu.Unlock()

	// Replaced listeners: stop the old accept loop (the socket stays
	// open), then start the new one.
	for i, b := range p.replaced {
		o := old[i]
		o.Raw().(*gate).detach()
		o.Close()
		b.sock.reopen()
		s.install(b)
		s.serve(b.l)
		s.retire(o)
		ch.ListenersReplaced = append(ch.ListenersReplaced, b.lc.Address)
	}
	for _, b := range p.added {
		s.install(b)
		s.serve(b.l)
		ch.ListenersAdded = append(ch.ListenersAdded, b.lc.Address)
	}
	for _, addr := range p.removed {
		s.mu.Lock()
		l := s.listeners[addr]
		delete(s.listeners, addr)
		delete(s.sockets, addr)
		delete(s.certStores, addr)
		s.mu.Unlock()
		l.Close() // closes the socket: the address is free again
		s.retire(l)
		ch.ListenersRemoved = append(ch.ListenersRemoved, addr)
	}
	for addr, store := range p.stores {
		for _, lc := range next.Listeners {
			if lc.Address == addr {
				for _, id := range syncCertsCommit(store, next, lc) {
					ch.CertsRemoved = append(ch.CertsRemoved, addr+" "+id)
				}
			}
		}
	}
	s.mu.Lock()
	s.Config = next
	s.mu.Unlock()
	ch.Version = s.State.Current().Version
	return ch
}

// install records b as the live listener of its address.
func (s *Server) install(b *built) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners[b.lc.Address] = b.l
	s.sockets[b.lc.Address] = b.sock
	if b.store != nil {
		s.certStores[b.lc.Address] = b.store
	} else {
		delete(s.certStores, b.lc.Address)
	}
}

// Live returns the configuration in effect (do not modify it: clone it
// with state.CloneConfig and Reconfigure with the copy).
func (s *Server) Live() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Config
}
