package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/session"
	"github.com/sluice-proxy/sluice/internal/tlsstore"
)

// The TLS side of an https listener: its certificate store loaded from the
// config, warnings for frontends no certificate can serve, and the
// handshake that gives each connection its identity.

// certFiles names one certificate of the config by its files.
type certFiles struct{ cert, key, chain string }

// certSource is a frontend certificate to load and the frontend that
// declared it, for error messages.
type certSource struct {
	files   certFiles
	cluster string
	host    string
}

func (s certSource) String() string {
	return fmt.Sprintf("cluster %s: frontend %s: certificate %s", s.cluster, s.host, s.files.cert)
}

// maxCoverageWarnings bounds the per-hostname warnings at startup: a
// config with thousands of uncovered hostnames gets a count, not
// thousands of lines.
const maxCoverageWarnings = 10

// tlsConfigFor builds an https listener's certificate store (its default
// certificate and those of the frontends on it) and TLS config.
//
// A certificate file shared by several frontends (a SAN or wildcard
// certificate) is read and parsed once. A listener may start with no
// certificate at all: certificates can be added at runtime (admin API),
// and until then every handshake fails with unrecognized_name, counted in
// sluice_tls_handshake_failures_total; a warning says so.
func tlsConfigFor(cfg *config.Config, lc *config.Listener, log *slog.Logger) (*tlsstore.Store, *tls.Config, error) {
	store := tlsstore.NewStore()
	seen := map[certFiles]bool{}
	if lc.Certificate != "" {
		c, err := store.AddFiles(lc.Certificate, lc.Key, lc.CertificateChain)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %s: %w", lc.Certificate, err)
		}
		if err := store.SetDefault(c); err != nil {
			return nil, nil, err
		}
		seen[certFiles{lc.Certificate, lc.Key, lc.CertificateChain}] = true
	}
	own, err := loadFrontendCerts(store, cfg, lc, seen)
	if err != nil {
		return nil, nil, err
	}
	warnUncovered(store, cfg, lc, own, log)
	tc, err := tlsstore.ServerConfig(tlsstore.Options{Versions: lc.TLSVersions, CipherSuites: lc.CipherSuites, ALPN: lc.ALPNProtocols}, store)
	if err != nil {
		return nil, nil, err
	}
	return store, tc, nil
}

// loadFrontendCerts adds the certificates of the frontends on lc to store
// in one batch (parsed on every CPU: RSA key checks dominate loading) and
// returns the certificate each frontend's files loaded as.
func loadFrontendCerts(store *tlsstore.Store, cfg *config.Config, lc *config.Listener, seen map[certFiles]bool) (map[certFiles]*tlsstore.Cert, error) {
	var srcs []certSource
	var items []tlsstore.Material
	for _, cc := range cfg.Clusters {
		for _, f := range cc.Frontends {
			if f.Address != lc.Address || f.Certificate == "" {
				continue
			}
			k := certFiles{f.Certificate, f.Key, f.CertificateChain}
			if seen[k] {
				continue
			}
			seen[k] = true
			src := certSource{files: k, cluster: cc.ID, host: f.Hostname}
			m, err := tlsstore.ReadMaterial(k.cert, k.key, k.chain)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			srcs = append(srcs, src)
			items = append(items, m)
		}
	}
	own := make(map[certFiles]*tlsstore.Cert, len(items))
	if len(items) == 0 {
		return own, nil
	}
	certs, err := store.AddBatch(items)
	var be *tlsstore.BatchError
	switch {
	case err == nil:
		for i, c := range certs {
			own[srcs[i].files] = c
		}
		return own, nil
	case errors.As(err, &be) && !errors.Is(be.Err, tlsstore.ErrExists):
		return nil, fmt.Errorf("%s: %w", srcs[be.Index], be.Err)
	case be == nil:
		return nil, err
	}
	// The same certificate under two sets of files (two paths to one
	// file, or a listener default repeated on a frontend): one stored
	// copy serves both, so load one at a time and skip repeats.
	for i, m := range items {
		c, err := store.Add(m.CertPEM, m.KeyPEM, m.ChainPEM)
		switch {
		case err == nil:
			own[srcs[i].files] = c
		case !errors.Is(err, tlsstore.ErrExists):
			return nil, fmt.Errorf("%s: %w", srcs[i], err)
		}
	}
	return own, nil
}

// warnUncovered logs the hostnames of lc's frontends that a client naming
// them in SNI could not verify: no certificate at all (the handshake fails
// with unrecognized_name), or one that does not name them (the default
// certificate, or a frontend certificate for other names). These are
// warnings, not errors: a certificate can still be added at runtime, a
// frontend's certificate is still served for the names it has, and
// clients that do not verify (health checks, internal tools) still work.
func warnUncovered(store *tlsstore.Store, cfg *config.Config, lc *config.Listener, own map[certFiles]*tlsstore.Cert, log *slog.Logger) {
	if store.Len() == 0 {
		log.Warn("https listener has no certificate: every handshake fails with unrecognized_name until one is added",
			"listener", lc.Address)
		return
	}
	warned, more := 0, 0
	warn := func(msg string, args ...any) {
		if warned < maxCoverageWarnings {
			warned++
			log.Warn(msg, append([]any{"listener", lc.Address}, args...)...)
		} else {
			more++
		}
	}
	checked := map[string]bool{}
	for _, cc := range cfg.Clusters {
		for _, f := range cc.Frontends {
			if f.Address != lc.Address {
				continue
			}
			// RFC 6066 3: an IP literal is never sent as SNI; such a
			// client gets a certificate with that SAN IP, or the default.
			h := f.Hostname
			if net.ParseIP(h) != nil {
				continue
			}
			if c := own[certFiles{f.Certificate, f.Key, f.CertificateChain}]; c != nil && !c.NameSet().Covers(h) {
				warn("frontend certificate does not name its hostname; it is served only for its own names",
					"cluster", cc.ID, "hostname", h, "certificate", f.Certificate, "names", c.Names)
			}
			if checked[h] {
				continue
			}
			checked[h] = true
			switch c := store.Lookup(h); {
			case c == nil:
				warn("no certificate for hostname and no default certificate: handshakes naming it fail with unrecognized_name",
					"cluster", cc.ID, "hostname", h)
			case !c.NameSet().Covers(h):
				warn("hostname is answered with a certificate that does not name it: verifying clients will refuse it",
					"cluster", cc.ID, "hostname", h, "served", c.String())
			}
		}
	}
	if more > 0 {
		log.Warn("more hostnames without a matching certificate", "listener", lc.Address, "count", more)
	}
}

// tlsHandshake runs a handshake through the store (which records the
// certificate it served) and returns the connection's identity.
func tlsHandshake(ctx context.Context, tc *tls.Conn) (*session.TLSInfo, error) {
	served, err := tlsstore.Handshake(ctx, tc)
	if err != nil {
		return nil, err
	}
	cs := tc.ConnectionState()
	id := tlsstore.IdentityOf(cs, served)
	return &session.TLSInfo{
		Version:   tls.VersionName(cs.Version),
		Cipher:    tls.CipherSuiteName(cs.CipherSuite),
		SNI:       id.SNI,
		Allows:    id.Allows,
		H2Allowed: tlsstore.H2Allowed(cs),
	}, nil
}

// classifyHandshake turns a handshake error into the reason label of
// sluice_tls_handshake_failures_total.
func classifyHandshake(err error) string { return tlsstore.ClassifyHandshakeError(err).String() }

// CertStore returns an https listener's certificate store (nil for other
// listeners): the admin API adds, replaces and removes certificates there.
// Changes apply to the next handshake; open connections keep the
// certificate, and the identity, they were served.
func (s *Server) CertStore(listener string) *tlsstore.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certStores[listener]
}
