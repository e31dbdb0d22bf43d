package h1

import (
	"testing"
)

func TestParseResponseHeadValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		minor     int
		status    int
		reason    string
		cl        int64
		chunked   bool
		keepAlive bool
		upgrade   string
		fields    int
	}{
		{"ok", "HTTP/1.1 200 OK\nContent-Length: 5\n\n", 1, 200, "OK", 5, false, true, "", 1},
		{"chunked", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n", 1, 200, "OK", -1, true, true, "", 1},
		{"close", "HTTP/1.1 404 Not Found\nConnection: close\n\n", 1, 404, "Not Found", -1, false, false, "", 1},
		{"http10", "HTTP/1.0 200 OK\n\n", 0, 200, "OK", -1, false, false, "", 0},
		{"http10_keep_alive", "HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 0\n\n", 0, 200, "OK", 0, false, true, "", 2},
		{"empty_reason", "HTTP/1.1 204 \n\n", 1, 204, "", -1, false, true, "", 0},
		{"no_reason_no_space", "HTTP/1.1 204\n\n", 1, 204, "", -1, false, true, "", 0},
		{"reason_with_spaces", "HTTP/1.1 500 Internal  Server\tError\n\n", 1, 500, "Internal  Server\tError", -1, false, true, "", 0},
		{"switching", "HTTP/1.1 101 Switching Protocols\nConnection: Upgrade\nUpgrade: websocket\n\n", 1, 101, "Switching Protocols", -1, false, true, "websocket", 2},
		{"leading_crlf", "\nHTTP/1.1 100 Continue\n\n", 1, 100, "Continue", -1, false, true, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(crlf(tt.in))
			var h ResponseHead
			n, err := ParseResponseHead(in, &h, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(in) || h.HeadBytes != n {
				t.Errorf("n = %d, HeadBytes %d, want %d", n, h.HeadBytes, len(in))
			}
			if h.Minor != tt.minor || h.Status != tt.status || string(h.Reason) != tt.reason {
				t.Errorf("status line 1.%d %d %q, want 1.%d %d %q", h.Minor, h.Status, h.Reason, tt.minor, tt.status, tt.reason)
			}
			if h.ContentLength != tt.cl || h.Chunked != tt.chunked || h.KeepAlive != tt.keepAlive || string(h.Upgrade) != tt.upgrade {
				t.Errorf("CL %d chunked %v keepalive %v upgrade %q", h.ContentLength, h.Chunked, h.KeepAlive, h.Upgrade)
			}
			if len(h.Fields) != tt.fields {
				t.Errorf("%d fields, want %d", len(h.Fields), tt.fields)
			}
		})
	}
}

func TestResponseBodyMode(t *testing.T) {
	tests := []struct {
		method  string
		status  int
		cl      int64
		chunked bool
		want    BodyMode
	}{
		{"GET", 200, 10, false, BodyLength},
		{"GET", 200, 0, false, BodyLength},
		{"GET", 200, -1, true, BodyChunked},
		{"GET", 200, -1, false, BodyUntilClose},
		{"HEAD", 200, 10, false, BodyNone},
		{"HEAD", 200, -1, true, BodyNone},
		{"GET", 100, -1, false, BodyNone},
		{"GET", 103, -1, false, BodyNone},
		{"GET", 204, 10, false, BodyNone},
		{"GET", 304, 10, false, BodyNone},
		{"GET", 101, -1, false, BodyTunnel},
		{"CONNECT", 200, -1, false, BodyTunnel},
		{"CONNECT", 204, -1, false, BodyNone},
		{"CONNECT", 407, 5, false, BodyLength},
		{"POST", 500, -1, true, BodyChunked},
	}
	for _, tt := range tests {
		h := ResponseHead{Status: tt.status, ContentLength: tt.cl, Chunked: tt.chunked}
		if got := ResponseBodyMode([]byte(tt.method), &h); got != tt.want {
			t.Errorf("%s -> %d (CL %d, chunked %v): %v, want %v", tt.method, tt.status, tt.cl, tt.chunked, got, tt.want)
		}
	}
	for m, s := range map[BodyMode]string{BodyNone: "none", BodyLength: "length", BodyChunked: "chunked",
		BodyUntilClose: "until-close", BodyTunnel: "tunnel", 9: "BodyMode(9)"} {
		if m.String() != s {
			t.Errorf("%d.String() = %q, want %q", m, m.String(), s)
		}
	}
}

func resp(line string, fields ...string) string { return req(line, fields...) }

var responseRejections = []rejection{
	{"cl_and_te", "cl_and_te", 400, resp("HTTP/1.1 200 OK", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n")},
	{"duplicate_content_length", "two_fields", 400, resp("HTTP/1.1 200 OK", "Content-Length: 5\r\n", "Content-Length: 5\r\n")},
	{"duplicate_content_length", "list", 400, resp("HTTP/1.1 200 OK", "Content-Length: 5, 5\r\n")},
	{"bad_content_length", "negative", 400, resp("HTTP/1.1 200 OK", "Content-Length: -5\r\n")},
	{"bad_transfer_encoding", "gzip_alone", 400, resp("HTTP/1.1 200 OK", "Transfer-Encoding: gzip\r\n")},
	{"bad_transfer_encoding", "chunked_not_final", 400, resp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, identity\r\n")},
	{"unsupported_transfer_coding", "gzip_chunked", 501, resp("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked\r\n")},
	{"transfer_encoding_http10", "chunked_on_1.0", 400, resp("HTTP/1.0 200 OK", "Transfer-Encoding: chunked\r\n")},
	{"obs_fold", "fold", 400, resp("HTTP/1.1 200 OK", "X-A: 1\r\n", " 2\r\n")},
	{"bare_lf", "status_line", 400, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"},
	{"bare_lf", "field", 400, resp("HTTP/1.1 200 OK", "Content-Length: 0\n")},
	{"bare_lf", "after_status", 400, "HTTP/1.1 200\n\r\n"},
	{"control_char", "nul_in_value", 400, resp("HTTP/1.1 200 OK", "Set-Cookie: a\x00b\r\n")},
	{"control_char", "nul_in_reason", 400, resp("HTTP/1.1 200 O\x00K")},
	{"control_char", "cr_in_reason", 400, resp("HTTP/1.1 200 O\rK")},
	{"space_before_colon", "space", 400, resp("HTTP/1.1 200 OK", "Content-Length : 5\r\n")},
	{"bad_field_name", "no_colon", 400, resp("HTTP/1.1 200 OK", "Garbage\r\n")},
	{"bad_status_line", "no_space", 400, resp("HTTP/1.1200 OK")},
	{"bad_status_line", "short", 400, resp("HTTP/1.1")},
	{"bad_status_line", "junk_after_code", 400, resp("HTTP/1.1 200x OK")},
	{"bad_status", "letters", 400, resp("HTTP/1.1 2x0 OK")},
	{"bad_status", "four_digits", 400, resp("HTTP/1.1 2000 OK")},
	{"bad_status", "class_0", 400, resp("HTTP/1.1 099 Low")},
	{"bad_status", "class_6", 400, resp("HTTP/1.1 600 High")},
	{"bad_version", "lower_case", 400, resp("http/1.1 200 OK")},
	{"unsupported_version", "http2", 505, resp("HTTP/2.0 200 OK")},
	{"duplicate_upgrade", "two_fields", 400, resp("HTTP/1.1 101 Switching Protocols", "Upgrade: a\r\n", "Upgrade: b\r\n")},
	{"bad_connection", "not_a_token", 400, resp("HTTP/1.1 200 OK", "Connection: a b\r\n")},
	{"too_many_empty_lines", "nine", 400, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"},
}

func TestParseResponseHeadRejects(t *testing.T) {
	for _, tt := range responseRejections {
		t.Run(tt.reason+"/"+tt.desc, func(t *testing.T) {
			var h ResponseHead
			n, err := ParseResponseHead([]byte(tt.in), &h, Limits{})
			if n != 0 {
				t.Errorf("n = %d on error", n)
			}
			checkRejection(t, err, tt.status, tt.reason)
		})
	}
}

func TestParseResponseHeadTruncated(t *testing.T) {
	for _, head := range []string{
		backendResponse,
		crlf("HTTP/1.1 204\n\n"),
		crlf("\nHTTP/1.0 101 Switching Protocols\nConnection: upgrade\nUpgrade: websocket\n\n"),
	} {
		for i := 0; i < len(head); i++ {
			var h ResponseHead
			if n, err := ParseResponseHead([]byte(head[:i]), &h, Limits{}); n != 0 || err != ErrIncomplete {
				t.Fatalf("prefix %q: n=%d err=%v", head[:i], n, err)
			}
		}
	}
}

func TestParseResponseHeadLimits(t *testing.T) {
	var h ResponseHead
	in := []byte(backendResponse)
	_, err := ParseResponseHead(in, &h, Limits{MaxHeadBytes: len(in) - 1})
	checkRejection(t, err, 431, "head_too_large")
	_, err = ParseResponseHead(in, &h, Limits{MaxFields: 6})
	checkRejection(t, err, 431, "too_many_fields")
	if _, err = ParseResponseHead(in, &h, Limits{MaxHeadBytes: len(in), MaxFields: 7}); err != nil {
		t.Fatal(err)
	}
}
