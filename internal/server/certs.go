package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// CertRef is one certificate a config offers on an https listener, and
// where the config declares it.
type CertRef struct {
	config.CertificateFiles
	// Role is where it is declared: "default" (the listener's
	// certificate), "frontend" or "listener" (its certificates array).
	Role string
	// Cluster and Hostname name the frontend of a "frontend" certificate.
	Cluster, Hostname string
}

// ListenerCerts lists the certificates cfg offers on the listener lc, in
// config order: the default first, then frontend certificates, then the
// listener's certificates array.
func ListenerCerts(cfg *config.Config, lc *config.Listener) []CertRef {
	var out []CertRef
	if lc.Certificate != "" {
		out = append(out, CertRef{CertificateFiles: config.CertificateFiles{Certificate: lc.Certificate, Key: lc.Key, CertificateChain: lc.CertificateChain}, Role: "default"})
	}
	for _, cc := range cfg.Clusters {
		for _, f := range cc.Frontends {
			if f.Address == lc.Address && f.Certificate != "" {
				out = append(out, CertRef{CertificateFiles: config.CertificateFiles{Certificate: f.Certificate, Key: f.Key, CertificateChain: f.CertificateChain},
					Role: "frontend", Cluster: cc.ID, Hostname: f.Hostname})
			}
		}
	}
	for _, c := range lc.Certificates {
		out = append(out, CertRef{CertificateFiles: *c, Role: "listener"})
	}
	return out
}

// CertFileID returns the id a certificate file's leaf has in a
// tlsstore.Store: the hex SHA-256 of its DER encoding (the first
// CERTIFICATE block of the file).
func CertFileID(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return CertPEMID(data)
}

// CertPEMID is CertFileID on PEM data.
func CertPEMID(data []byte) (string, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return "", errors.New("no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			sum := sha256.Sum256(b.Bytes)
			return hex.EncodeToString(sum[:]), nil
		}
	}
}

// syncCertsAdd adds to store the certificates cfg offers on lc that it
// lacks, and returns them (for a rollback). It changes nothing else: the
// default and the removals wait for syncCertsCommit, so that a replaced
// certificate is never missing in between (RFC 8446 4.4.2: a handshake
// must find a certificate for its name at every instant of the change).
func syncCertsAdd(store *tlsstore.Store, cfg *config.Config, lc *config.Listener) ([]string, error) {
	var added []string
	for _, ref := range ListenerCerts(cfg, lc) {
		id, err := CertFileID(ref.Certificate)
		if err != nil {
			rollbackCerts(store, added)
			return nil, fmt.Errorf("certificate %s: %w", ref.Certificate, err)
		}
		if store.Get(id) != nil {
			continue
		}
		c, err := store.AddFiles(ref.Certificate, ref.Key, ref.CertificateChain)
		if errors.Is(err, tlsstore.ErrExists) {
			continue
		}
		if err != nil {
			rollbackCerts(store, added)
			return nil, err
		}
		added = append(added, c.ID)
	}
	return added, nil
}

// rollbackCerts removes certificates syncCertsAdd added.
func rollbackCerts(store *tlsstore.Store, ids []string) {
	for _, id := range ids {
		store.Remove(id)
	}
}

// syncCertsCommit makes lc's default certificate the store's default and
// removes the certificates cfg no longer offers on lc. Handshakes already
// done keep what they were served; only new handshakes see the change.
func syncCertsCommit(store *tlsstore.Store, cfg *config.Config, lc *config.Listener) (removed []string) {
	want := map[string]bool{}
	defID := ""
	for _, ref := range ListenerCerts(cfg, lc) {
		id, err := CertFileID(ref.Certificate)
		if err != nil {
			// syncCertsAdd read it a moment ago: the file went away since.
			// Without knowing every wanted id, removing could take away a
			// certificate still offered; keep the store as it is.
			return nil
		}
		want[id] = true
		if ref.Role == "default" {
			defID = id
		}
	}
	if def := store.Get(defID); def != store.Default() {
		store.SetDefault(def)
	}
	for _, c := range store.List() {
		if !want[c.ID] {
			store.Remove(c.ID)
			removed = append(removed, c.ID)
		}
	}
	return removed
}
