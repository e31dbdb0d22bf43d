package backend

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/internal/h1"
)

// fields parses "Name: value" lines into classified fields, as the H1
// parser would.
func fields(lines ...string) []h1.Field {
	head := "GET / HTTP/1.1\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	var rh h1.RequestHead
	if _, err := h1.ParseRequestHead([]byte(head), &rh, h1.Limits{}); err != nil {
		panic(err)
	}
	return rh.Fields
}

func TestAppendRequestHead(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{
			name: "plain GET",
			req: Request{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("app.test"), Path: []byte("/p?q=1"),
				Fields: fields("Host: app.test", "Accept: */*"), ContentLength: -1, ClientIP: []byte("192.0.2.1")},
			want: "GET /p?q=1 HTTP/1.1\r\nHost: app.test\r\nAccept: */*\r\n" +
				"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test\r\n" +
				"Forwarded: for=\"192.0.2.1\";proto=http;host=\"app.test\"\r\n\r\n",
		},
		{
			name: "hop-by-hop dropped, framing re-made",
			req: Request{Method: []byte("POST"), Scheme: []byte("https"), Authority: []byte("app.test:8443"), Path: []byte("/"),
				Fields: fields("Host: app.test:8443", "Connection: keep-alive, X-Hop", "X-Hop: 1", "Keep-Alive: 5",
					"TE: trailers", "Trailer: X-Sum", "Proxy-Authorization: x", "HTTP2-Settings: y",
					"Transfer-Encoding: chunked", "X-Keep: yes"),
				ContentLength: -1, HasBody: true, ClientIP: []byte("192.0.2.1")},
			want: "POST / HTTP/1.1\r\nHost: app.test:8443\r\nX-Keep: yes\r\n" +
				"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.test:8443\r\n" +
				"Forwarded: for=\"192.0.2.1\";proto=https;host=\"app.test:8443\"\r\nTransfer-Encoding: chunked\r\n\r\n",
		},
		{
			name: "content-length re-serialized",
			req: Request{Method: []byte("PUT"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte("/"),
				Fields: fields("Host: a", "Content-Length: 5"), ContentLength: 5, HasBody: true, ClientIP: []byte("192.0.2.1")},
			want: "PUT / HTTP/1.1\r\nHost: a\r\n" +
				"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n" +
				"Forwarded: for=\"192.0.2.1\";proto=http;host=\"a\"\r\nContent-Length: 5\r\n\r\n",
		},
		{
			name: "existing forwarding fields extended, spoofed proto and host replaced",
			req: Request{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte("/"),
				Fields: fields("Host: a", "X-Forwarded-For: 203.0.113.1", "X-Forwarded-For: 203.0.113.2",
					"X-Forwarded-Proto: https", "X-Forwarded-Host: evil", "Forwarded: for=203.0.113.1"),
				ContentLength: -1, ClientIP: []byte("2001:db8::1")},
			want: "GET / HTTP/1.1\r\nHost: a\r\n" +
				"X-Forwarded-For: 203.0.113.1, 203.0.113.2, 2001:db8::1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n" +
				"Forwarded: for=203.0.113.1, for=\"[2001:db8::1]\";proto=http;host=\"a\"\r\n\r\n",
		},
		{
			name: "cookies joined",
			req: Request{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte("/"),
				Fields: fields("Host: a", "Cookie: a=1", "X-Mid: m", "Cookie: b=2"), ContentLength: -1, ClientIP: []byte("192.0.2.1")},
			want: "GET / HTTP/1.1\r\nHost: a\r\nX-Mid: m\r\nCookie: a=1; b=2\r\n" +
				"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n" +
				"Forwarded: for=\"192.0.2.1\";proto=http;host=\"a\"\r\n\r\n",
		},
		{
			name: "upgrade kept only as the tunnel request",
			req: Request{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte("/ws"),
				Fields:        fields("Host: a", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: k"),
				ContentLength: -1, Upgrade: []byte("websocket"), ClientIP: []byte("192.0.2.1")},
			want: "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\n" +
				"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n" +
				"Forwarded: for=\"192.0.2.1\";proto=http;host=\"a\"\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendRequestHead(nil, &tc.req))
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.ReplaceAll(got, "\r\n", "\\r\\n\n"), strings.ReplaceAll(tc.want, "\r\n", "\\r\\n\n"))
			}
			// What sluice sends must itself be a valid request head.
			var rh h1.RequestHead
			if _, err := h1.ParseRequestHead([]byte(got), &rh, h1.Limits{}); err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
		})
	}
}

func TestAppendRequestHeadNoAllocs(t *testing.T) {
	req := benchRequest()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = appendRequestHead(buf[:0], req) }); n != 0 {
		t.Fatalf("%v allocations per head", n)
	}
}

func benchRequest() *Request {
	return &Request{
		Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("app.example.com"), Path: []byte("/api/v1/items?id=42"),
		Fields: fields("Host: app.example.com", "User-Agent: bench/1.0", "Accept: application/json",
			"Accept-Encoding: gzip, br", "Accept-Language: en", "Cookie: session=abc", "Cookie: theme=dark",
			"X-Request-Id: 0123456789abcdef", "Connection: keep-alive"),
		ContentLength: -1, ClientIP: []byte("192.0.2.10"),
	}
}

func BenchmarkAppendRequestHead(b *testing.B) {
	req := benchRequest()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRequestHead(buf[:0], req)
	}
	b.SetBytes(int64(len(buf)))
}
