// Command backend is the origin server of bench/run.sh: /small answers 64
// bytes, /1m one MiB, anything else "ok". With -h2c it also speaks HTTP/2
// with prior knowledge (tests use it as a backend they can SIGSTOP). It is deliberately plain net/http:
// the benchmark pins it to its own core, so its cost does not count.
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	h2c := flag.Bool("h2c", false, "also serve HTTP/2 with prior knowledge (h2c)")
	flag.Parse()
	small := bytes.Repeat([]byte("s"), 64)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	serve := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/small", serve(small))
	mux.Handle("/1m", serve(big))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if *h2c {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	log.Fatal(srv.ListenAndServe())
}
