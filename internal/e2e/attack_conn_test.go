package e2e

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Attacks on connections themselves: floods of connections, and clients
// that take forever to say what they want (DESIGN.md 3.6, 3.7).

// dialFrom connects to addr from the loopback address src (all of
// 127.0.0.0/8 is local on Linux), so one test can play several client IPs.
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", addr)
}

// closedByServer reports whether the server closed c (EOF or reset)
// within wait; false when c is still open (the read timed out).
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil // EOF or a reset: no byte may come first
}

// countOpen returns how many of cs the server has not closed after wait
// (checked concurrently).
func countOpen(cs []net.Conn, wait time.Duration) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	open := 0
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !closedByServer(c, wait) {
				mu.Lock()
				open++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return open
}

// TestAttackConnectionFlood: one source IP opens connections as fast as
// it can and holds them. "per_ip": past max_connections_per_ip each new
// one is closed at accept and counted, while a client from another IP
// opening a new connection per request is served throughout (the accept
// loop is never starved). "global": past max_connections everyone's new
// connections are refused, but connections already open are served, and
// the slots come back when the flood lets go.
func TestAttackConnectionFlood(t *testing.T) {
	t.Parallel()
	if c, err := dialFrom("127.0.0.2", "127.0.0.1:1"); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Skipf("cannot dial from 127.0.0.2 here: %v", err)
	} else if c != nil {
		c.Close()
	}
	t.Run("per_ip", func(t *testing.T) {
		t.Parallel()
		at := startAttackTarget(t, func(l *config.Listener) { l.MaxConnectionsPerIP = 5 })
		// A new connection for every request: each one goes through the
		// accept loop the flood is hammering.
		h1 := H1Client(at.addr, nil, "")
		h1.Transport.(*http.Transport).DisableKeepAlives = true
		good := startGood(t, h1, "http://127.0.0.1/good")
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		refused := 0
		good.during(1, func(int) {
			for range 100 {
				c, err := dialFrom("127.0.0.2", at.addr)
				if err != nil {
					refused++ // the backlog overflowed: refused before accept
					continue
				}
				held = append(held, c)
			}
		})
		open := countOpen(held, 300*time.Millisecond)
		if open != 5 {
			t.Errorf("%d flood connections still open, want max_connections_per_ip = 5 (of %d, %d refused by the kernel)", open, len(held), refused)
		}
		at.wantMetric(t, float64(len(held)-5), "sluice_connections_rejected_total", "reason", "max_connections_per_ip")
		good.check()
	})
	t.Run("global", func(t *testing.T) {
		t.Parallel()
		at := startAttackTarget(t, func(l *config.Listener) { l.MaxConnections = 20 })
		good := serveGoodClient(t, at.addr) // one connection, opened before the flood
		var held []net.Conn
		for range 60 {
			c, err := dialFrom("127.0.0.2", at.addr)
			if err != nil {
				continue
			}
			held = append(held, c)
		}
		open := countOpen(held, 300*time.Millisecond)
		if open != 19 {
			t.Errorf("%d flood connections open, want 19 (max_connections 20, one the good client's)", open)
		}
		at.wantMetric(t, float64(len(held)-19), "sluice_connections_rejected_total", "reason", "max_connections")
		// A newcomer is refused while the flood holds the slots...
		c, err := net.Dial("tcp", at.addr)
		if err == nil {
			if !closedByServer(c, 2*time.Second) {
				t.Errorf("a connection past max_connections was kept")
			}
			c.Close()
		}
		good.check() // ...but the open connection is served
		for _, c := range held {
			c.Close()
		}
		Eventually(t, "slots released", func() bool {
			_, body, _ := getNoFail(at.addr)
			return body == "good"
		})
	})
}

// getNoFail fetches /good on a new HTTP/1.1 connection; errors are
// returned, not fatal.
func getNoFail(addr string) (int, string, error) {
	c := H1Client(addr, nil, "")
	c.Transport.(*http.Transport).DisableKeepAlives = true
	resp, err := c.Get("http://127.0.0.1/good")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestAttackH1SlowLoris: HTTP/1.1 slow loris. Many connections trickle a
// request head an octet at a time; the request timeout bounds each head
// however steady the trickle (a 408, logged client_timeout, and the
// connection closed), and a client on another connection is served
// throughout. The TLS handshake is bounded the same way.
func TestAttackH1SlowLoris(t *testing.T) {
	t.Parallel()
	cert := NewCert(t, "127.0.0.1")
	at := &attackTarget{}
	at.be = StartBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/attack") {
			at.attackRequests.Add(1)
		}
		io.WriteString(w, "good")
	})
	at.Sluice = StartWith(t, `
access_log = "stdout"
[[listeners]]
address = "@L1@"
protocol = "http"
[[listeners]]
address = "@L2@"
protocol = "https"
certificate = "@CERT@"
key = "@KEY@"
[clusters.app]
frontends = [ { address = "@L1@", hostname = "127.0.0.1" }, { address = "@L2@", hostname = "127.0.0.1" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": at.be.Addr, "CERT": cert.CertFile, "KEY": cert.KeyFile}, func(c *config.Config) {
		for _, l := range c.Listeners {
			l.RequestTimeout = 500 * time.Millisecond
		}
	})
	at.addr = at.Addr("@L1@")
	good := serveGoodH1Client(t, at.addr)

	const lorises = 20
	head := "GET /attack/loris HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("z", 100)
	var wg sync.WaitGroup
	answers := make([]string, lorises)
	for i := range lorises {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", at.addr, 5*time.Second)
			if err != nil {
				answers[i] = err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				for j := 0; j < len(head); j++ {
					time.Sleep(20 * time.Millisecond)
					if _, err := c.Write([]byte{head[j]}); err != nil {
						return
					}
				}
			}()
			b, _ := io.ReadAll(c)
			answers[i] = string(b)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if !strings.HasPrefix(a, "HTTP/1.1 408 ") {
			t.Errorf("slow loris %d got %q, want a 408 and the connection closed", i, a)
		}
	}
	at.wantMetric(t, lorises, "sluice_default_answers_total", "status", "408", "reason", "client_timeout")
	n := 0
	for _, l := range at.WaitAccessLog(lorises) {
		if strings.Contains(l, `"status":408`) && strings.Contains(l, `"message":"client_timeout"`) {
			n++
		}
	}
	if n != lorises {
		t.Errorf("%d 408s logged client_timeout, want %d", n, lorises)
	}

	// TLS: a ClientHello trickled an octet at a time (or never sent)
	// does not hold the connection past the request timeout either.
	tlsAddr := at.Addr("@L2@")
	hello := clientHello(t, tlsAddr)
	c, err := net.DialTimeout("tcp", tlsAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	go func() {
		for j := 0; j < len(hello)-1; j++ {
			time.Sleep(20 * time.Millisecond)
			if _, err := c.Write(hello[j : j+1]); err != nil {
				return
			}
		}
	}()
	if !closedByServer(c, 5*time.Second) {
		t.Fatalf("a trickled TLS handshake still open after 5 s")
	}
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Errorf("TLS trickle closed after %v, before the request timeout", el)
	}
	at.wantMetric(t, 1, "sluice_tls_handshake_failures_total", "reason", "timeout")
	if n := at.attackRequests.Load(); n != 0 {
		t.Errorf("the backend saw %d slow requests", n)
	}
	good.check()
}

// clientHello captures the ClientHello crypto/tls sends to addr.
func clientHello(t *testing.T, addr string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: "127.0.0.1", InsecureSkipVerify: true}).Handshake()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	return buf[:n]
}
