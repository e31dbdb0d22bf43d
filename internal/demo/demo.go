// Package demo is the built-in backend of the embedded default config: a
// small page that shows the request exactly as sluice forwarded it, so a
// newcomer sees what a proxy adds (X-Forwarded-*, Forwarded) and removes
// (hop-by-hop fields). It is not on any data path of a real deployment.
package demo

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Start serves the demo page on ln until the returned server is closed.
func Start(ln net.Listener) *http.Server {
	hs := &http.Server{Handler: http.HandlerFunc(page), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return hs
}

func page(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>sluice demo</title>")
	b.WriteString("<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td{padding:.2em .8em;font-family:monospace}</style></head><body>\n")
	b.WriteString("<h1>sluice is running</h1>\n<p>This page comes from sluice's built-in demo backend. ")
	b.WriteString("Below is the request as the backend received it, after sluice forwarded it.</p>\n")
	fmt.Fprintf(&b, "<h2>%s %s %s</h2>\n<table>\n", html.EscapeString(r.Method), html.EscapeString(r.RequestURI), html.EscapeString(r.Proto))
	fmt.Fprintf(&b, "<tr><td>Host</td><td>%s</td></tr>\n", html.EscapeString(r.Host))
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td></tr>\n", html.EscapeString(k), html.EscapeString(v))
		}
	}
	fmt.Fprintf(&b, "</table>\n<p>Request body: %d bytes. Backend peer (sluice): %s</p>\n", n, html.EscapeString(r.RemoteAddr))
	b.WriteString("<p>Next: write a config file (see README.md) and run <code>sluice run -c sluice.toml</code>.</p>\n</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, b.String())
}
