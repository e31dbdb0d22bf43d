package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Helpers of the TLS end-to-end tests (tls_*_test.go).

// tlsHostBackend answers every request with the host and path it was
// forwarded, so a test sees which authority reached the backend.
func tlsHostBackend(t testing.TB) *Backend {
	return StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s path=%s", r.Host, r.URL.Path)
	})
}

// tlsClient is a client config sending sni (none when "") and offering
// alpn. It does not verify: tests check the served certificate themselves
// (tlsVerify), including when a default certificate is expected not to
// cover the name.
func tlsClient(sni string, alpn ...string) *tls.Config {
	return &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true}
}

// tlsVerify checks the certificate chain served on a connection the way a
// browser would for name, trusting only pool.
func tlsVerify(t testing.TB, cs tls.ConnectionState, pool *x509.CertPool, name string) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: pool, Intermediates: inter}); err != nil {
		t.Fatalf("served certificate does not verify for %q: %v", name, err)
	}
}

// mustTLSDial is TLSDial failing the test on error.
func mustTLSDial(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	tc, err := TLSDial(t, addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial %s (sni %q, alpn %q): %v", addr, cfg.ServerName, cfg.NextProtos, err)
	}
	return tc
}

// tlsH2 is one HTTP/2 connection (Go's http2 client) over an established
// TLS connection: every request goes on that connection whatever its
// authority, which is how a browser coalesces.
type tlsH2 struct {
	cc *http2.ClientConn
	tc *tls.Conn
}

func newTLSH2(t testing.TB, tc *tls.Conn) *tlsH2 {
	t.Helper()
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN chose %q, want h2", p)
	}
	// The h2 client runs its own read loop: lift the harness deadline and
	// bound each request with a context instead.
	tc.SetDeadline(time.Time{})
	cc, err := (&http2.Transport{ReadIdleTimeout: 10 * time.Second}).NewClientConn(tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &tlsH2{cc: cc, tc: tc}
}

// get sends GET https://authority/path on the connection and returns the
// status and body.
func (c *tlsH2) get(t testing.TB, authority, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://"+authority+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		t.Fatalf("h2 GET %s%s: %v", authority, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("h2 GET %s%s: body: %v", authority, path, err)
	}
	return resp.StatusCode, string(body)
}

// tlsH1 is one HTTP/1.1 keep-alive connection over TLS with hand-written
// requests, so the Host header is exactly what the test says.
type tlsH1 struct {
	tc *tls.Conn
	br *bufio.Reader
}

func newTLSH1(tc *tls.Conn) *tlsH1 { return &tlsH1{tc: tc, br: bufio.NewReader(tc)} }

// get sends GET path with Host: host and reads the response.
func (c *tlsH1) get(t testing.TB, host, path string) (int, string) {
	t.Helper()
	st, body, err := c.tryGet(host, path)
	if err != nil {
		t.Fatalf("h1 GET %s%s: %v", host, path, err)
	}
	return st, body
}

func (c *tlsH1) tryGet(host, path string) (int, string, error) {
	c.tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.tc, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// tlsRecords returns the access-log records (JSON objects) written so far,
// after waiting for at least n.
func tlsRecords(t testing.TB, s *Sluice, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range s.WaitAccessLog(n) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("access log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, r)
	}
	return out
}

// tlsRecordFor returns the last access-log record whose path is path,
// waiting for it (a session logs just after the client read the response).
func tlsRecordFor(t testing.TB, s *Sluice, path string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found map[string]any
		for _, r := range tlsRecords(t, s, 0) {
			if r["path"] == path {
				found = r
			}
		}
		if found != nil {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access-log record for %s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hsFailures is sluice_tls_handshake_failures_total for a listener and a
// reason.
func hsFailures(s *Sluice, listener, reason string) float64 {
	return s.MetricValue("sluice_tls_handshake_failures_total", map[string]string{"listener": listener, "reason": reason})
}

// waitMetric waits until get() returns want (handshake failures are
// counted by the server after the client has seen its alert).
func waitMetric(t testing.TB, what string, want float64, get func() float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := get()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// coalesced and misdirected read the two coalescing counters.
func coalesced(s *Sluice) float64 {
	return s.MetricValue("sluice_h2_coalescing_accepted_total", nil)
}

func misdirected(s *Sluice) float64 {
	return s.MetricValue("sluice_misdirected_requests_total", nil)
}

// certVars maps placeholder names to a leaf's files: NAME_CERT, NAME_KEY,
// NAME_CHAIN.
func certVars(vars map[string]string, name string, l *TLSLeaf) map[string]string {
	if vars == nil {
		vars = map[string]string{}
	}
	vars[name+"_CERT"], vars[name+"_KEY"], vars[name+"_CHAIN"] = l.CertFile, l.KeyFile, l.ChainFile
	return vars
}

// portOf returns the port of "127.0.0.1:port" (for curl --resolve).
func portOf(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}
