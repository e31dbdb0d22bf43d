package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// matrixHandler is the backend of the protocol matrix: it echoes request
// bodies with their checksum, streams a body of the requested size, and
// answers gRPC-style with trailers.
func matrixHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path[strings.LastIndex(r.URL.Path, "/"):] {
	case "/echo":
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		w.Header().Set("X-Body-Sha256", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Seen-Proto", r.Proto)
		w.Write(body)
	case "/grpc":
		// gRPC over HTTP/2 answers with trailers carrying the status.
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		w.Write([]byte{0, 0, 0, 0, 2, 8, 1})
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
	case "/early":
		// 103 Early Hints (RFC 8297) before the final answer.
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Write([]byte("final"))
	case "/headers":
		fmt.Fprintf(w, "host=%s te=%q conn=%q xff=%q proto=%s", r.Host, r.Header.Get("Te"), r.Header.Get("Connection"), r.Header.Get("X-Forwarded-For"), r.Proto)
	default:
		fmt.Fprintf(w, "hello from %s %s", r.Proto, r.URL.Path)
	}
}

type frontMode struct {
	name  string
	h2    bool
	tls   bool
	proto string // listener protocol
}

var fronts = []frontMode{
	{"h1", false, false, "http"},
	{"h1tls", false, true, "https"},
	{"h2c", true, false, "http"},
	{"h2tls", true, true, "https"},
}

// TestProtocolMatrix runs one suite over every frontend x backend pair:
// {h1, h1+TLS, h2c, h2+TLS} x {http1, h2c, h2}.
func TestProtocolMatrix(t *testing.T) {
	h1be := StartBackend(t, matrixHandler)
	h2cbe := StartH2Backend(t, false, 0, http.HandlerFunc(matrixHandler))
	h2be := StartH2Backend(t, true, 0, http.HandlerFunc(matrixHandler))
	cert := NewCert(t, "app.test")
	caFile := h2be.Cert.CertFile

	s := Start(t, `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[[listeners]]
address = "@L2@"
protocol = "https"
[clusters.http1]
frontends = [
  { address = "@L1@", hostname = "app.test", path = "/http1/" },
  { address = "@L2@", hostname = "app.test", path = "/http1/", certificate = "@CERT@", key = "@KEY@" },
]
backends = [ { address = "@H1@" } ]
[clusters.h2c]
backend_protocol = "h2c"
frontends = [
  { address = "@L1@", hostname = "app.test", path = "/h2c/" },
  { address = "@L2@", hostname = "app.test", path = "/h2c/" },
]
backends = [ { address = "@H2C@" } ]
[clusters.h2]
backend_protocol = "h2"
backend_tls_ca = "@CA@"
frontends = [
  { address = "@L1@", hostname = "app.test", path = "/h2/" },
  { address = "@L2@", hostname = "app.test", path = "/h2/" },
]
backends = [ { address = "@H2@" } ]
`, map[string]string{"H1": h1be.Addr, "H2C": h2cbe.Addr, "H2": h2be.Addr, "CERT": cert.CertFile, "KEY": cert.KeyFile, "CA": caFile})

	backs := []struct{ prefix, proto string }{{"/http1", "HTTP/1.1"}, {"/h2c", "HTTP/2.0"}, {"/h2", "HTTP/2.0"}}
	for _, f := range fronts {
		var client *http.Client
		addr := s.Addr("@L1@")
		if f.tls {
			addr = s.Addr("@L2@")
		}
		switch {
		case f.h2 && f.tls:
			client = H2TLSClient(addr, cert, "app.test")
		case f.h2:
			client = H2CClient(addr)
		default:
			var c *Cert
			if f.tls {
				c = cert
			}
			client = H1Client(addr, c, "app.test")
		}
		scheme := "http"
		if f.tls {
			scheme = "https"
		}
		for _, b := range backs {
			t.Run(f.name+"_to"+strings.ReplaceAll(b.prefix, "/", "_"), func(t *testing.T) {
				base := scheme + "://app.test" + b.prefix
				// A plain GET.
				resp, err := client.Get(base + "/hello")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "hello from "+b.proto+" "+b.prefix+"/hello" {
					t.Fatalf("GET: %d %q", resp.StatusCode, body)
				}
				// A body both ways, checksummed, concurrently on one client.
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for i := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						payload := bytes.Repeat([]byte{byte('a' + i)}, 100_000+i*7919)
						sum := sha256.Sum256(payload)
						resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(payload))
						if err != nil {
							errs <- err
							return
						}
						got, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 || !bytes.Equal(got, payload) || resp.Header.Get("X-Body-Sha256") != hex.EncodeToString(sum[:]) {
							errs <- fmt.Errorf("echo %d: status %d, %d bytes back", i, resp.StatusCode, len(got))
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				// 1xx responses are forwarded before the final one.
				got1xx := 0
				trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					if code == 103 && h.Get("Link") != "" {
						got1xx++
					}
					return nil
				}}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", base+"/early", nil)
				resp, err = client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "final" || got1xx != 1 {
					t.Errorf("early hints: %d %q, %d 103 responses seen", resp.StatusCode, body, got1xx)
				}
				// Hop-by-hop fields removed, forwarding fields added.
				req, _ = http.NewRequest("GET", base+"/headers", nil)
				req.Header.Set("X-Forwarded-For", "10.1.1.1")
				resp, err = client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(body), `xff="10.1.1.1, 127.0.0.1"`) || !strings.Contains(string(body), "host=app.test") {
					t.Errorf("headers seen by the backend: %s", body)
				}
			})
		}
	}
}

// TestGRPCTrailers checks that a gRPC-style answer (HTTP/2 backend, status
// in trailers) reaches an HTTP/2 client with its trailers intact, over h2c
// and TLS backends.
func TestGRPCTrailers(t *testing.T) {
	h2cbe := StartH2Backend(t, false, 0, http.HandlerFunc(matrixHandler))
	h2be := StartH2Backend(t, true, 0, http.HandlerFunc(matrixHandler))
	s := Start(t, `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.h2c]
backend_protocol = "h2c"
frontends = [ { address = "@L1@", hostname = "grpc.test", path = "/h2c/" } ]
backends = [ { address = "@H2C@" } ]
[clusters.h2]
backend_protocol = "h2"
backend_tls_ca = "@CA@"
frontends = [ { address = "@L1@", hostname = "grpc.test", path = "/h2/" } ]
backends = [ { address = "@H2@" } ]
`, map[string]string{"H2C": h2cbe.Addr, "H2": h2be.Addr, "CA": h2be.Cert.CertFile})
	client := H2CClient(s.Addr("@L1@"))
	for _, prefix := range []string{"/h2c", "/h2"} {
		req, _ := http.NewRequest("POST", "http://grpc.test"+prefix+"/grpc", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) != 7 {
			t.Fatalf("%s: %d %x", prefix, resp.StatusCode, body)
		}
		if resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "ok" {
			t.Fatalf("%s: trailers %v", prefix, resp.Trailer)
		}
	}
}
