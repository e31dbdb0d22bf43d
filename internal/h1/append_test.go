package h1

import (
	"strconv"
	"testing"
)

func TestAppendSerializers(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"request_line", AppendRequestLine([]byte("x"), []byte("GET"), []byte("/a?b")), "xGET /a?b HTTP/1.1\r\n"},
		{"status_default_reason", AppendStatusLine(nil, 1, 404, nil), "HTTP/1.1 404 Not Found\r\n"},
		{"status_empty_reason", AppendStatusLine(nil, 1, 200, []byte{}), "HTTP/1.1 200 OK\r\n"},
		{"status_own_reason", AppendStatusLine(nil, 0, 200, []byte("Fine")), "HTTP/1.0 200 Fine\r\n"},
		{"status_unknown", AppendStatusLine(nil, 1, 599, nil), "HTTP/1.1 599 \r\n"},
		{"status_out_of_range", AppendStatusLine(nil, 1, 1000, nil), "HTTP/1.1 1000 \r\n"},
		{"field", AppendField(nil, []byte("Content-Type"), []byte("text/plain")), "Content-Type: text/plain\r\n"},
		{"field_empty", AppendField(nil, []byte("X"), nil), "X: \r\n"},
		{"chunk_1", AppendChunkHeader(nil, 1), "1\r\n"},
		{"chunk_255", AppendChunkHeader(nil, 255), "ff\r\n"},
		{"chunk_4096", AppendChunkHeader(nil, 4096), "1000\r\n"},
		{"chunk_end", AppendChunkEnd([]byte("data")), "data\r\n"},
		{"last_chunk", AppendLastChunk(nil, nil), "0\r\n\r\n"},
		{"last_chunk_trailers", AppendLastChunk(nil, []Field{
			{Name: []byte("Grpc-Status"), Value: []byte("0")},
			{Name: []byte("TE"), Value: []byte("trailers"), Kind: KindTE},
			{Name: []byte("Host"), Value: []byte("x"), Kind: KindHost},
			{Name: []byte("X-Listed"), Value: []byte("x"), Kind: KindConnectionListed},
			{Name: []byte("Grpc-Message"), Value: []byte("ok")},
		}), "0\r\nGrpc-Status: 0\r\nGrpc-Message: ok\r\n\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	for n := 1; n < 1<<20; n = n*3 + 1 {
		if got, want := string(AppendChunkHeader(nil, n)), strconv.FormatInt(int64(n), 16)+"\r\n"; got != want {
			t.Fatalf("AppendChunkHeader(%d) = %q, want %q", n, got, want)
		}
	}
}

// A serialized head parses back to what was written.
func TestAppendParseRoundTrip(t *testing.T) {
	b := AppendRequestLine(nil, []byte("PUT"), []byte("/x"))
	b = AppendField(b, []byte("Host"), []byte("a.example"))
	b = AppendField(b, []byte("Content-Length"), []byte("10"))
	b = append(b, "\r\n"...)
	var h RequestHead
	if n, err := ParseRequestHead(b, &h, Limits{}); err != nil || n != len(b) || h.ContentLength != 10 || string(h.Host) != "a.example" {
		t.Fatalf("request: n=%d err=%v %+v", n, err, h)
	}
	r := AppendStatusLine(nil, 1, 503, nil)
	r = AppendField(r, []byte("Retry-After"), []byte("5"))
	r = append(r, "\r\n"...)
	var rh ResponseHead
	if n, err := ParseResponseHead(r, &rh, Limits{}); err != nil || n != len(r) || rh.Status != 503 || string(rh.Reason) != "Service Unavailable" {
		t.Fatalf("response: n=%d err=%v %+v", n, err, rh)
	}
}

func TestStatusText(t *testing.T) {
	for code, want := range map[int]string{100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request",
		404: "Not Found", 408: "Request Timeout", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
		502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported", 299: "", 0: ""} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestValidFieldNameValue(t *testing.T) {
	for _, tt := range []struct {
		s           string
		name, value bool
	}{
		{"abc", true, true},
		{"x-y_z.1~!", true, true},
		{"", false, true},
		{"a b", false, true},
		{"a:b", false, true},
		{"caf\xc3\xa9", false, true},
		{" a", false, false},
		{"a\t", false, false},
		{"a\r\nb", false, false},
		{"a\x00", false, false},
		{"a\x7f", false, false},
	} {
		if got := ValidFieldName([]byte(tt.s)); got != tt.name {
			t.Errorf("ValidFieldName(%q) = %v", tt.s, got)
		}
		if got := ValidFieldValue([]byte(tt.s)); got != tt.value {
			t.Errorf("ValidFieldValue(%q) = %v", tt.s, got)
		}
	}
}

// The hot paths allocate nothing once buffers have capacity.
func TestNoAllocations(t *testing.T) {
	in := []byte(browserRequest)
	h := RequestHead{Fields: make([]Field, 0, 32)}
	if a := testing.AllocsPerRun(100, func() { ParseRequestHead(in, &h, Limits{}) }); a != 0 {
		t.Errorf("ParseRequestHead: %v allocs", a)
	}
	rin := []byte(backendResponse)
	rh := ResponseHead{Fields: make([]Field, 0, 32)}
	if a := testing.AllocsPerRun(100, func() { ParseResponseHead(rin, &rh, Limits{}) }); a != 0 {
		t.Errorf("ParseResponseHead: %v allocs", a)
	}
	bad := []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	if a := testing.AllocsPerRun(100, func() { ParseRequestHead(bad, &h, Limits{}) }); a != 0 {
		t.Errorf("rejecting: %v allocs", a)
	}
	body := []byte("5\r\nhello\r\n0\r\nA: 1\r\n\r\n")
	var d ChunkedDecoder
	if a := testing.AllocsPerRun(100, func() {
		d.Reset()
		for in := body; len(in) > 0; {
			n, _, done, _ := d.Next(in)
			in = in[n:]
			if done {
				break
			}
		}
	}); a != 0 {
		t.Errorf("ChunkedDecoder: %v allocs", a)
	}
	dst := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() {
		dst = AppendStatusLine(dst[:0], 1, 200, nil)
		dst = AppendField(dst, h.Fields[0].Name, h.Fields[0].Value)
		dst = AppendChunkHeader(dst, 12345)
		dst = AppendLastChunk(dst, h.Fields[:2])
	}); a != 0 {
		t.Errorf("serializers: %v allocs", a)
	}
}
