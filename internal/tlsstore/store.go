package tlsstore

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Store holds the certificates of one https listener and picks one per
// handshake by SNI. Lookups (GetCertificate, Lookup) are lock-free; changes
// (Add, Remove, Replace, SetDefault) are serialised and each publishes a
// new index atomically, so a concurrent handshake sees the store entirely
// before or entirely after a change, never in between.
type Store struct {
	mu  sync.Mutex // serialises writers; readers never take it
	idx atomic.Pointer[index]
	seq uint64 // last Cert.seq given out; guarded by mu

	// now is the clock for validity checks; tests move it.
	now func() time.Time
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{now: time.Now}
	s.idx.Store(&index{})
	return s
}

// Material is the PEM input of one certificate: the certificate (leaf
// first, optionally followed by its chain), its private key (empty: look
// for it in CertPEM) and an optional separate chain.
type Material struct {
	CertPEM, KeyPEM, ChainPEM []byte
}

// Add parses, checks and stores a certificate. It fails, leaving the store
// as it was, when the PEM is malformed, the key does not match the leaf
// (ErrKeyMismatch), the leaf is outside its validity window (ErrExpired,
// ErrNotYetValid) or the same leaf is already stored (ErrExists).
func (s *Store) Add(certPEM, keyPEM, chainPEM []byte) (*Cert, error) {
	c, err := parseCert(certPEM, keyPEM, chainPEM, s.now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := newIndexWriter(s.idx.Load())
	if err := s.insertLocked(w, c); err != nil {
		return nil, err
	}
	s.idx.Store(w.done())
	return c, nil
}

// AddFiles is Add reading the PEM files; keyFile may be "" for a combined
// certificate+key file, chainFile "" for none.
func (s *Store) AddFiles(certFile, keyFile, chainFile string) (*Cert, error) {
	m, err := ReadMaterial(certFile, keyFile, chainFile)
	if err != nil {
		return nil, err
	}
	c, err := s.Add(m.CertPEM, m.KeyPEM, m.ChainPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return c, nil
}

// ReadMaterial reads the PEM files of one certificate; keyFile and
// chainFile may be "".
func ReadMaterial(certFile, keyFile, chainFile string) (Material, error) {
	var m Material
	var err error
	if m.CertPEM, err = os.ReadFile(certFile); err != nil {
		return m, err
	}
	if keyFile != "" {
		if m.KeyPEM, err = os.ReadFile(keyFile); err != nil {
			return m, err
		}
	}
	if chainFile != "" {
		if m.ChainPEM, err = os.ReadFile(chainFile); err != nil {
			return m, err
		}
	}
	return m, nil
}

// AddBatch adds many certificates as one change: all or none. Parsing runs
// on every CPU and the index is rebuilt once, which is how a listener
// loads thousands of certificates at startup. The error is a *BatchError
// naming the index of the first bad item.
func (s *Store) AddBatch(items []Material) ([]*Cert, error) {
	certs, err := parseBatch(items, s.now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := newIndexWriter(s.idx.Load())
	for i, c := range certs {
		if err := s.insertLocked(w, c); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	s.idx.Store(w.done())
	return certs, nil
}

// BatchError is the error of AddBatch: the index of the first item that
// failed (in the slice given to AddBatch) and why, so a caller can name
// the file it came from.
type BatchError struct {
	Index int
	Err   error
}

// Error names the item by its index.
func (e *BatchError) Error() string { return fmt.Sprintf("certificate %d: %v", e.Index, e.Err) }

// Unwrap returns the cause, for errors.Is(err, ErrKeyMismatch) and such.
func (e *BatchError) Unwrap() error { return e.Err }

// parseBatch parses items in parallel; RSA key checks dominate loading
// (about 0.2 ms per 2048-bit key) and parallelise perfectly.
func parseBatch(items []Material, now time.Time) ([]*Cert, error) {
	certs := make([]*Cert, len(items))
	errs := make([]error, len(items))
	workers := min(runtime.GOMAXPROCS(0), len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				m := items[i]
				certs[i], errs[i] = parseCert(m.CertPEM, m.KeyPEM, m.ChainPEM, now)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	return certs, nil
}

// insertLocked assigns c its sequence number and adds it to w.
func (s *Store) insertLocked(w *indexWriter, c *Cert) error {
	if _, ok := w.byID.get(c.ID); ok {
		return fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	s.seq++
	c.seq = s.seq
	w.add(c)
	return nil
}

// Remove removes the certificate with that id. If it was the default, the
// store has no default afterwards. Connections it was served on keep it.
func (s *Store) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := newIndexWriter(s.idx.Load())
	c, ok := w.byID.get(id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	w.remove(c)
	s.idx.Store(w.done())
	return nil
}

// Replace swaps the certificate oldID for a new one in a single change: a
// handshake sees either the old or the new certificate, never neither. If
// the old one was the default, the new one is. On any error (oldID
// unknown, new material rejected, new leaf already stored) nothing
// changes. Connections already served keep the old certificate.
func (s *Store) Replace(oldID string, certPEM, keyPEM, chainPEM []byte) (*Cert, error) {
	c, err := parseCert(certPEM, keyPEM, chainPEM, s.now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := newIndexWriter(s.idx.Load())
	old, ok := w.byID.get(oldID)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, oldID)
	}
	wasDefault := w.def == old
	w.remove(old)
	if err := s.insertLocked(w, c); err != nil {
		return nil, err
	}
	if wasDefault {
		w.def = c
	}
	s.idx.Store(w.done())
	return c, nil
}

// SetDefault makes c, a certificate of this store, the one served when no
// name matches (including handshakes without SNI that match no SAN IP).
// nil removes the default: such handshakes then fail with the
// unrecognized_name alert.
func (s *Store) SetDefault(c *Cert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.idx.Load()
	if c != nil {
		if got, ok := cur.byID.get(c.ID); !ok || got != c {
			return fmt.Errorf("default: %w: %s", ErrNotFound, c.ID)
		}
	}
	next := *cur
	next.def = c
	s.idx.Store(&next)
	return nil
}

// Default returns the default certificate, or nil.
func (s *Store) Default() *Cert { return s.idx.Load().def }

// Get returns the certificate with that id, or nil.
func (s *Store) Get(id string) *Cert {
	c, _ := s.idx.Load().byID.get(id)
	return c
}

// Len returns the number of certificates stored.
func (s *Store) Len() int { return s.idx.Load().count }

// List returns the stored certificates in the order they were added.
func (s *Store) List() []*Cert {
	ix := s.idx.Load()
	out := make([]*Cert, 0, ix.count)
	ix.byID.each(func(_ string, c *Cert) { out = append(out, c) })
	slices.SortFunc(out, func(a, b *Cert) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return out
}
