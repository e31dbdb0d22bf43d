package tlsstore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// ioTimeout bounds every network operation of the tests; it is a guard
// against hangs, never an assertion about speed.
const ioTimeout = 10 * time.Second

// tlsServer is a real TLS server on 127.0.0.1 that reports, per
// connection, what the store served and the identity the listener would
// keep; after a successful handshake it writes "ready\n" (so that TLS 1.3
// clients read their session tickets) and echoes lines back.
type tlsServer struct {
	t       testing.TB
	ln      net.Listener
	cfg     *tls.Config
	results chan srvResult
	wg      sync.WaitGroup
}

type srvResult struct {
	served *Cert
	id     Identity
	cs     tls.ConnectionState
	err    error
}

func startTLS(t testing.TB, cfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{t: t, ln: ln, cfg: cfg, results: make(chan srvResult, 512)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go s.handle(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *tlsServer) addr() string { return s.ln.Addr().String() }

func (s *tlsServer) handle(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Server(c, s.cfg)
	served, err := Handshake(context.Background(), tc)
	r := srvResult{served: served, err: err}
	if err == nil {
		r.cs = tc.ConnectionState()
		r.id = IdentityOf(r.cs, served)
	}
	s.results <- r
	if err != nil {
		return
	}
	if _, err := io.WriteString(tc, "ready\n"); err != nil {
		return
	}
	io.Copy(tc, tc)
}

// next returns the result of the next server-side handshake.
func (s *tlsServer) next() srvResult {
	s.t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(ioTimeout):
		s.t.Fatal("no server handshake result")
		return srvResult{}
	}
}

// clientConfig verifies the server against the test CA.
func clientConfig(t testing.TB, sni string, alpn ...string) *tls.Config {
	return &tls.Config{RootCAs: mustKeys(t).pool, ServerName: sni, NextProtos: alpn}
}

// dial connects, handshakes and reads the server's "ready" line. The
// connection is closed when the test ends.
func dial(t testing.TB, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	t.Cleanup(func() { tc.Close() })
	line, err := bufio.NewReader(io.LimitReader(tc, 6)).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("ready line: %q, %v", line, err)
	}
	return tc, nil
}

// echo checks the connection still carries data both ways.
func echo(t testing.TB, tc *tls.Conn) {
	t.Helper()
	if _, err := io.WriteString(tc, "ping\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
}

// peerID is the fingerprint of the leaf the client received.
func peerID(tc *tls.Conn) string {
	sum := sha256.Sum256(tc.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// mustServerConfig builds a listener config or fails the test.
func mustServerConfig(t testing.TB, o Options, s *Store) *tls.Config {
	t.Helper()
	cfg, err := ServerConfig(o, s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
