package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Large bodies through one HTTP/2 stream each, both ways, while other
// streams on the same connection keep being answered (issue 3 "Done
// when"), with checksums compared end to end.

const bigBody = 100 << 20

// prngReader yields n deterministic pseudo-random bytes.
type prngReader struct {
	r *rand.ChaCha8
	n int64
}

func newPRNG(seed byte, n int64) *prngReader {
	var s [32]byte
	s[0] = seed
	return &prngReader{r: rand.NewChaCha8(s), n: n}
}

func (p *prngReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	p.r.Read(b)
	p.n -= int64(len(b))
	return len(b), nil
}

// gate is a one-shot signal.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate  { return &gate{ch: make(chan struct{})} }
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait(t testing.TB, what string) {
	select {
	case <-g.ch:
	case <-time.After(60 * time.Second):
		t.Errorf("timed out waiting for %s", what)
	}
}

// startTransferBackend serves:
//
//	GET /download: bigBody PRNG bytes (seed 1); halfway it waits for
//	  mid (so the test knows the stream is in flight) and opens half.
//	POST /upload: reads the body, waiting at half for mid likewise, and
//	  answers its sha256 and length.
//	GET /small/N: a short answer.
func startTransferBackend(t *testing.T, half, mid *gate, downHalf, upHalf *gate) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(bigBody))
		src := newPRNG(1, bigBody)
		if _, err := io.CopyN(w, src, bigBody/2); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		downHalf.open()
		mid.wait(t, "small requests during the download")
		io.Copy(w, src)
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.CopyN(h, r.Body, bigBody/2)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		upHalf.open()
		mid.wait(t, "small requests during the upload")
		m, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s %d", hex.EncodeToString(h.Sum(nil)), n+m)
	})
	mux.HandleFunc("/small/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "small %s", r.URL.Path)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func sha256Of(r io.Reader) (string, int64) {
	h := sha256.New()
	n, _ := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n
}

func TestH2LargeTransfers(t *testing.T) {
	for _, mode := range []string{"h2c", "tls"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "tls" && testing.Short() {
				t.Skip("short: h2c only")
			}
			half, mid := newGate(), newGate()
			downHalf, upHalf := newGate(), newGate()
			be := startTransferBackend(t, half, mid, downHalf, upHalf)
			s := startH2(t, be, "off", nil)
			c := s.newH2CClient(t)
			if mode == "tls" {
				c = s.newTLSClient(t)
			}
			wantDown, _ := sha256Of(newPRNG(1, bigBody))
			wantUp, _ := sha256Of(newPRNG(2, bigBody))

			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				resp, err := c.Get(c.base + "/download")
				if err != nil {
					t.Errorf("download: %v", err)
					downHalf.open()
					return
				}
				defer resp.Body.Close()
				sum, n := sha256Of(resp.Body)
				downHalf.open() // if the stream broke before halfway
				if n != bigBody || sum != wantDown {
					t.Errorf("download: %d bytes, sha256 %s, want %d bytes %s", n, sum, bigBody, wantDown)
				}
			}()
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", c.base+"/upload", newPRNG(2, bigBody))
				req.ContentLength = bigBody
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("upload: %v", err)
					upHalf.open()
					return
				}
				defer resp.Body.Close()
				upHalf.open()
				b, _ := io.ReadAll(resp.Body)
				if want := fmt.Sprintf("%s %d", wantUp, bigBody); resp.StatusCode != 200 || string(b) != want {
					t.Errorf("upload: %d %q, want %q", resp.StatusCode, b, want)
				}
			}()
			// Both big streams are halfway; other streams on the same
			// connection must still be answered.
			downHalf.wait(t, "download halfway")
			upHalf.wait(t, "upload halfway")
			if t.Failed() {
				mid.open()
				wg.Wait()
				return
			}
			for i := range 20 {
				status, body := c.get(t, fmt.Sprintf("/small/%d", i))
				if status != 200 || body != fmt.Sprintf("small /small/%d", i) {
					t.Errorf("small request %d: %d %q", i, status, body)
				}
			}
			mid.open()
			wg.Wait()
			if t.Failed() {
				for _, l := range strings.Split(s.Metrics(), "\n") {
					if strings.HasPrefix(l, "sluice_h2_flood") || strings.HasPrefix(l, "sluice_h2_goaway") || strings.HasPrefix(l, "sluice_h2_rst") {
						t.Log(l)
					}
				}
			}
			if d := c.dials.Load(); d != 1 {
				t.Errorf("%d connections dialed, want everything on one", d)
			}
		})
	}
}
