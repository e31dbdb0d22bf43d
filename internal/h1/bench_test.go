package h1

import (
	"strings"
	"testing"
)

// browserRequest is what a desktop browser sends for a page (~450 bytes).
var browserRequest = crlf(`GET /products/widgets?page=2&sort=price HTTP/1.1
Host: shop.example.com
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Referer: https://shop.example.com/products
Connection: keep-alive
Cookie: session=4f9a1c2e8b7d6a5f; theme=dark
Upgrade-Insecure-Requests: 1
Priority: u=0, i

`)

// tinyRequest is what h2load-style load generators send.
var tinyRequest = crlf("GET / HTTP/1.1\nHost: localhost:8080\nUser-Agent: h2load nghttp2/1.59\n\n")

var backendResponse = crlf(`HTTP/1.1 200 OK
Server: nginx/1.25.3
Date: Tue, 25 Nov 2025 12:00:00 GMT
Content-Type: text/html; charset=utf-8
Content-Length: 5120
Connection: keep-alive
Cache-Control: max-age=60
ETag: "65a1b2c3-1400"

`)

func BenchmarkParseRequestHead(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"browser", browserRequest},
		{"tiny", tinyRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := []byte(bc.in)
			h := RequestHead{Fields: make([]Field, 0, 32)}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRequestHead(buf, &h, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResponseHead(b *testing.B) {
	buf := []byte(backendResponse)
	h := ResponseHead{Fields: make([]Field, 0, 32)}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseResponseHead(buf, &h, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestHeadIncomplete measures the cost of a re-parse while
// a head dribbles in: the memchr scan, not a full validation.
func BenchmarkParseRequestHeadIncomplete(b *testing.B) {
	buf := []byte(browserRequest[:len(browserRequest)-1])
	var h RequestHead
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequestHead(buf, &h, Limits{}); err != ErrIncomplete {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedDecode(b *testing.B) {
	for _, bc := range []struct {
		name   string
		chunk  int
		chunks int
	}{
		{"4KiB_chunks", 4096, 16},
		{"64B_chunks", 64, 256},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var body []byte
			payload := []byte(strings.Repeat("x", bc.chunk))
			for range bc.chunks {
				body = AppendChunkHeader(body, len(payload))
				body = append(body, payload...)
				body = AppendChunkEnd(body)
			}
			body = AppendLastChunk(body, []Field{{Name: []byte("Checksum"), Value: []byte("abc")}})
			var d ChunkedDecoder
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				d.Reset()
				in := body
				for {
					n, _, done, err := d.Next(in)
					if err != nil {
						b.Fatal(err)
					}
					in = in[n:]
					if done {
						break
					}
				}
			}
		})
	}
}

func BenchmarkAppendHead(b *testing.B) {
	var h RequestHead
	if _, err := ParseRequestHead([]byte(browserRequest), &h, Limits{}); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendRequestLine(dst[:0], h.Method, h.Target)
		for _, f := range h.Fields {
			if !f.Kind.IsHopByHop() {
				dst = AppendField(dst, f.Name, f.Value)
			}
		}
		dst = AppendStatusLine(dst, 1, 200, nil)
		dst = AppendChunkHeader(dst, 4096)
		dst = AppendLastChunk(dst, nil)
	}
}
