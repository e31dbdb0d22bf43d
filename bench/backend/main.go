// Command backend is the origin server of bench/run.sh: /small answers 64
// bytes, /1m one MiB, anything else 404. It is deliberately plain net/http:
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
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
