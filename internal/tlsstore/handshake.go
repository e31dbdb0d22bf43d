package tlsstore

import (
	"bytes"
	"context"
	"crypto/tls"
)

// How a connection learns which certificate it was served.
//
// crypto/tls does not report the server's own certificate after the
// handshake (ConnectionState has only the peer's), and looking the SNI up
// again afterwards races with Replace. So the choice is recorded when it is
// made: ServerConfig installs GetConfigForClient, which picks the
// certificate once per handshake and writes it into a slot that Handshake
// passed down in the handshake's context (ClientHelloInfo.Context). The
// slot lives on the handshaking goroutine's call chain: no global map, no
// entry to clean up when a handshake fails, one small allocation.
//
// The config returned by GetConfigForClient (a Clone of the listener's
// plus the ticket binding, built once per certificate and listener and
// then shared) pins that choice for the rest of the handshake
// and also covers resumption, where no certificate is sent and
// GetCertificate is never called: every session ticket carries the
// fingerprint of the certificate it was issued under (in
// tls.SessionState.Extra, inside the encrypted ticket), and a ticket is
// only accepted when that is the certificate the store would serve now.
// The recorded certificate is therefore exactly the one the client holds,
// for full and resumed handshakes alike, and a replaced or removed
// certificate is never resurrected by a resumption: the client falls back
// to a full handshake and gets the new one.

// servedKey keys the recording slot in a handshake context.
type servedKey struct{}

// servedCtx is the handshake context carrying the slot; being the slot
// itself saves an allocation.
type servedCtx struct {
	context.Context
	cert *Cert // written by GetConfigForClient, on the handshake goroutine
}

func (c *servedCtx) Value(k any) any {
	if k == (servedKey{}) {
		return c
	}
	return c.Context.Value(k)
}

// Handshake runs the server handshake of conn, a tls.Server connection
// whose config came from ServerConfig, and returns the store certificate
// served on it (nil if the handshake had already run, or if the config
// was not from ServerConfig). Pass the result to IdentityOf.
//
// ctx bounds the handshake as in tls.Conn.HandshakeContext; the recording
// slot wraps it without changing its deadline or cancellation.
func Handshake(ctx context.Context, conn *tls.Conn) (*Cert, error) {
	rec := &servedCtx{Context: ctx}
	if err := conn.HandshakeContext(rec); err != nil {
		return nil, err
	}
	return rec.cert, nil
}

// configForClient returns the GetConfigForClient callback of a listener
// whose config is base.
func (s *Store) configForClient(base *tls.Config) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := s.pick(hello.ServerName, hello.Conn)
		if ctx := hello.Context(); ctx != nil {
			if rec, ok := ctx.Value(servedKey{}).(*servedCtx); ok {
				rec.cert = c
			}
		}
		if c == nil {
			// No Certificates and no GetCertificate: crypto/tls fails the
			// handshake with unrecognized_name (see GetCertificate).
			return handshakeConfig(base, nil), nil
		}
		if sc := c.served.Load(); sc != nil && sc.base == base {
			return sc.cfg, nil
		}
		sc := &servedConfig{base: base, cfg: handshakeConfig(base, c)}
		c.served.Store(sc)
		return sc.cfg, nil
	}
}

// servedConfig is the handshake config of one certificate on the listener
// whose config is base. crypto/tls keeps the config a handshake ran with
// for the connection's lifetime, so sharing one per certificate saves
// every connection a clone (about 0.5 KiB each, held while it idles).
// The listener's config is never changed after ServerConfig returns (ticket
// keys rotate inside it, and the shared config seals tickets through it),
// so the copy never goes stale. A certificate served on several listeners
// keeps the last one's; the others build theirs again, which is correct,
// only slower.
type servedConfig struct {
	base *tls.Config
	cfg  *tls.Config
}

// handshakeConfig is base pinned to certificate c (nil: none, the handshake
// fails with unrecognized_name), with the ticket binding of c.
func handshakeConfig(base *tls.Config, c *Cert) *tls.Config {
	cfg := base.Clone()
	cfg.GetConfigForClient = nil
	cfg.GetCertificate = nil
	t := &ticketBinding{base: base, cert: c}
	cfg.WrapSession = t.wrap
	cfg.UnwrapSession = t.unwrap
	cfg.Certificates = nil
	if c != nil {
		cfg.Certificates = c.certs
	}
	return cfg
}

// ticketBinding ties the session tickets of one handshake to the
// certificate chosen for it. Tickets are sealed with the listener's keys
// (base), so rotating them through TicketKeys applies to every handshake.
type ticketBinding struct {
	base *tls.Config
	cert *Cert // nil: no certificate, no resumption
}

func (t *ticketBinding) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	if t.cert != nil {
		ss.Extra = append(ss.Extra, t.cert.ticketTag)
	}
	return t.base.EncryptTicket(cs, ss)
}

// unwrap accepts a ticket only if it was issued under the certificate
// chosen for this handshake; returning (nil, nil) makes crypto/tls run a
// full handshake instead.
func (t *ticketBinding) unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	if t.cert == nil {
		return nil, nil
	}
	ss, err := t.base.DecryptTicket(identity, cs)
	if ss == nil || err != nil {
		return nil, err
	}
	for _, e := range ss.Extra {
		if bytes.Equal(e, t.cert.ticketTag) {
			return ss, nil
		}
	}
	return nil, nil
}
