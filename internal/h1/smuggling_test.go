package h1

import (
	"errors"
	"strings"
	"testing"
)

// rejection is a head that must be refused with a given status and reason.
type rejection struct {
	reason string // the *Error's Reason; also the subtest name
	desc   string
	status int
	in     string // raw bytes: line endings are written out
}

// req builds a request head from raw field lines (each with its own line
// ending) so that tests control every CR and LF.
func req(line string, fields ...string) string {
	return line + "\r\n" + strings.Join(fields, "") + "\r\n"
}

// requestRejections is every smuggling and malformation defence of the
// request parser, one case per variant.
var requestRejections = []rejection{
	// RFC 9112 6.3 item 3: CL.TE and TE.CL.
	{"cl_and_te", "cl_then_te", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n")},
	{"cl_and_te", "te_then_cl", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 0\r\n")},

	// RFC 9112 6.3 item 5.
	{"duplicate_content_length", "two_equal_fields", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 5\r\n", "Content-Length: 5\r\n")},
	{"duplicate_content_length", "two_different_fields", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 5\r\n", "content-length: 6\r\n")},
	{"duplicate_content_length", "equal_list", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 5, 5\r\n")},
	{"duplicate_content_length", "different_list", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 5,6\r\n")},
	{"bad_content_length", "negative", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: -1\r\n")},
	{"bad_content_length", "plus_sign", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: +5\r\n")},
	{"bad_content_length", "hex", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 0x10\r\n")},
	{"bad_content_length", "inner_space", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 1 0\r\n")},
	{"bad_content_length", "empty", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length:\r\n")},
	{"bad_content_length", "exponent", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 1e3\r\n")},
	{"bad_content_length", "overflow_by_one", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 9223372036854775808\r\n")},
	{"bad_content_length", "overflow_long", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Content-Length: 184467440737095516160\r\n")},

	// RFC 9112 6.1 and 6.3 item 4.
	{"bad_transfer_encoding", "gzip_alone", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: gzip\r\n")},
	{"bad_transfer_encoding", "chunked_not_final", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked, gzip\r\n")},
	{"bad_transfer_encoding", "chunked_twice", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked, chunked\r\n")},
	{"bad_transfer_encoding", "chunked_in_two_fields", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\n")},
	{"bad_transfer_encoding", "unknown_coding", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: identity\r\n")},
	{"bad_transfer_encoding", "empty", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding:\r\n")},
	{"bad_transfer_encoding", "empty_element", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: , chunked\r\n")},
	{"bad_transfer_encoding", "trailing_comma", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked,\r\n")},
	{"bad_transfer_encoding", "chunked_with_param", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: chunked;x=1\r\n")},
	{"bad_transfer_encoding", "quoted", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: \"chunked\"\r\n")},
	{"bad_transfer_encoding", "lookalike", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: xchunked\r\n")},
	{"unsupported_transfer_coding", "gzip_then_chunked", 501, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding: gzip, chunked\r\n")},
	{"transfer_encoding_http10", "chunked_on_1.0", 400, req("POST / HTTP/1.0", "Transfer-Encoding: chunked\r\n")},

	// RFC 9112 5.2 and 2.2.
	{"obs_fold", "space_continuation", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: 1\r\n", " 2\r\n")},
	{"obs_fold", "tab_continuation", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: 1\r\n", "\t2\r\n")},
	{"obs_fold", "folded_transfer_encoding", 400, req("POST / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding:\r\n", " chunked\r\n")},
	{"obs_fold", "whitespace_after_request_line", 400, req("GET / HTTP/1.1", " Host: a\r\n")},

	// RFC 9110 5.5 and RFC 9112 2.2.
	{"control_char", "nul_in_value", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: a\x00b\r\n")},
	{"control_char", "cr_in_value", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: a\rb\r\n")},
	{"control_char", "cr_before_end", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: a\r\r\n")},
	{"control_char", "del_in_value", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: a\x7fb\r\n")},
	{"control_char", "escape_in_value", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: \x1b[31m\r\n")},
	{"control_char", "nul_in_name", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X\x00A: 1\r\n")},
	{"control_char", "soh_in_name", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X\x01: 1\r\n")},
	{"control_char", "cr_in_name", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X\rA: 1\r\n")},
	{"control_char", "bare_cr_in_request_line", 400, req("GET /\r HTTP/1.1", "Host: a\r\n")},
	{"control_char", "tab_in_request_line", 400, req("GET\t/ HTTP/1.1", "Host: a\r\n")},
	{"control_char", "bare_cr_in_empty_line", 400, "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"control_char", "bare_cr_ends_head", 400, req("GET / HTTP/1.1", "Host: a\r\n", "\rX: 1\r\n")},

	// RFC 9112 2.2: bare LF anywhere in the head.
	{"bare_lf", "all_lines", 400, "GET / HTTP/1.1\nHost: a\n\n"},
	{"bare_lf", "request_line", 400, "GET / HTTP/1.1\nHost: a\r\n\r\n"},
	{"bare_lf", "field_line", 400, req("GET / HTTP/1.1", "Host: a\n")},
	{"bare_lf", "final_empty_line", 400, "GET / HTTP/1.1\r\nHost: a\r\n\n"},
	{"bare_lf", "leading_empty_line", 400, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"bare_lf", "in_value", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A: 1\nTransfer-Encoding: chunked\r\n")},
	{"bare_lf", "name_then_lf", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-A\nB: 1\r\n")},

	// RFC 9112 5.1.
	{"space_before_colon", "space", 400, req("GET / HTTP/1.1", "Host : a\r\n")},
	{"space_before_colon", "tab", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Transfer-Encoding\t: chunked\r\n")},
	{"bad_field_name", "empty_name", 400, req("GET / HTTP/1.1", "Host: a\r\n", ": 1\r\n")},
	{"bad_field_name", "not_a_token", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X(A): 1\r\n")},
	{"bad_field_name", "no_colon", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Garbage\r\n")},
	{"bad_field_name", "inner_space", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X A: 1\r\n")},
	{"bad_field_name", "non_ascii", 400, req("GET / HTTP/1.1", "Host: a\r\n", "X-\xc3\xa9: 1\r\n")},

	// RFC 9112 3.2 and RFC 9110 7.2.
	{"missing_host", "http11_without_host", 400, req("GET / HTTP/1.1", "X-A: 1\r\n")},
	{"duplicate_host", "two_hosts", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Host: b\r\n")},
	{"duplicate_host", "two_equal_hosts", 400, req("GET / HTTP/1.1", "Host: a\r\n", "host: a\r\n")},
	{"bad_host", "space", 400, req("GET / HTTP/1.1", "Host: a b\r\n")},
	{"bad_host", "userinfo", 400, req("GET / HTTP/1.1", "Host: user@a\r\n")},
	{"bad_host", "path", 400, req("GET / HTTP/1.1", "Host: a/b\r\n")},
	{"bad_host", "list", 400, req("GET / HTTP/1.1", "Host: a, b\r\n")},
	{"bad_host", "unclosed_ipv6", 400, req("GET / HTTP/1.1", "Host: [::1\r\n")},
	{"bad_host", "bare_ipv6", 400, req("GET / HTTP/1.1", "Host: ::1\r\n")},
	{"bad_host", "port_not_number", 400, req("GET / HTTP/1.1", "Host: a:http\r\n")},
	{"bad_host", "port_too_big", 400, req("GET / HTTP/1.1", "Host: a:65536\r\n")},
	{"bad_host", "port_only", 400, req("GET / HTTP/1.1", "Host: :80\r\n")},
	{"bad_host", "bad_pct", 400, req("GET / HTTP/1.1", "Host: a%zz\r\n")},
	{"host_mismatch", "different_host", 400, req("GET http://a.example/x HTTP/1.1", "Host: b.example\r\n")},
	{"host_mismatch", "different_port", 400, req("GET http://a.example:8080/x HTTP/1.1", "Host: a.example\r\n")},
	{"host_mismatch", "https_default_port", 400, req("GET https://a.example/x HTTP/1.1", "Host: a.example:80\r\n")},
	{"host_mismatch", "empty_host", 400, req("GET http://a.example/x HTTP/1.1", "Host:\r\n")},
	{"host_mismatch", "suffix", 400, req("GET http://a.example/x HTTP/1.1", "Host: a.example.evil\r\n")},
	{"host_mismatch", "http10", 400, req("GET http://a.example/x HTTP/1.0", "Host: b.example\r\n")},

	// RFC 9112 3 and 3.2.
	{"bad_request_target", "asterisk_for_get", 400, req("GET * HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "asterisk_for_extension_method", 400, req("M-SEARCH * HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "authority_for_get", 400, req("GET a.example:80 HTTP/1.1", "Host: a.example\r\n")},
	{"bad_request_target", "origin_for_connect", 400, req("CONNECT / HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "connect_without_port", 400, req("CONNECT a.example HTTP/1.1", "Host: a.example\r\n")},
	{"bad_request_target", "connect_absolute", 400, req("CONNECT http://a.example:80/ HTTP/1.1", "Host: a.example\r\n")},
	{"bad_request_target", "relative", 400, req("GET a/b HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "other_scheme", 400, req("GET ftp://a.example/ HTTP/1.1", "Host: a.example\r\n")},
	{"bad_request_target", "userinfo", 400, req("GET http://u:p@a.example/ HTTP/1.1", "Host: a.example\r\n")},
	{"bad_request_target", "empty_authority", 400, req("GET http:///x HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "fragment", 400, req("GET /a#b HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "non_ascii", 400, req("GET /caf\xc3\xa9 HTTP/1.1", "Host: a\r\n")},
	{"bad_request_target", "nul", 400, req("GET /a\x00 HTTP/1.1", "Host: a\r\n")},
	{"bad_method", "not_a_token", 400, req("GE(T / HTTP/1.1", "Host: a\r\n")},
	{"bad_method", "non_ascii", 400, req("G\xc3\x89T / HTTP/1.1", "Host: a\r\n")},
	{"bad_request_line", "double_space", 400, req("GET  / HTTP/1.1", "Host: a\r\n")},
	{"bad_request_line", "leading_space", 400, req(" GET / HTTP/1.1", "Host: a\r\n")},
	{"bad_request_line", "no_version", 400, req("GET /", "Host: a\r\n")},
	{"bad_request_line", "method_only", 400, req("GET", "Host: a\r\n")},
	{"bad_version", "lower_case", 400, req("GET / http/1.1", "Host: a\r\n")},
	{"bad_version", "no_dot", 400, req("GET / HTTP/11", "Host: a\r\n")},
	{"bad_version", "trailing_space", 400, req("GET / HTTP/1.1 ", "Host: a\r\n")},
	{"bad_version", "trailing_junk", 400, req("GET / HTTP/1.1x", "Host: a\r\n")},
	{"bad_version", "two_digit_minor", 400, req("GET / HTTP/1.10", "Host: a\r\n")},
	{"unsupported_version", "http2", 505, req("GET / HTTP/2.0", "Host: a\r\n")},
	{"unsupported_version", "http12", 505, req("GET / HTTP/1.2", "Host: a\r\n")},
	{"unsupported_version", "http09", 505, req("GET / HTTP/0.9", "Host: a\r\n")},
	{"unsupported_version", "h2_preface", 505, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},

	// RFC 9110 7.6.1 and 7.8.
	{"bad_connection", "parameter", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Connection: close;x=1\r\n")},
	{"bad_connection", "quoted", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Connection: \"close\"\r\n")},
	{"duplicate_upgrade", "two_fields", 400, req("GET / HTTP/1.1", "Host: a\r\n", "Connection: upgrade\r\n", "Upgrade: websocket\r\n", "Upgrade: h2c\r\n")},
	{"too_many_empty_lines", "nine_crlf", 400, strings.Repeat("\r\n", 9) + req("GET / HTTP/1.1", "Host: a\r\n")},
}

func checkRejection(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error %d %s", err, status, reason)
	}
	if e.Reason != reason || e.Status != status {
		t.Fatalf("err = %d %s, want %d %s", e.Status, e.Reason, status, reason)
	}
}

func TestParseRequestHeadRejects(t *testing.T) {
	for _, tt := range requestRejections {
		t.Run(tt.reason+"/"+tt.desc, func(t *testing.T) {
			var h RequestHead
			n, err := ParseRequestHead([]byte(tt.in), &h, Limits{})
			if n != 0 {
				t.Errorf("n = %d on error", n)
			}
			checkRejection(t, err, tt.status, tt.reason)
		})
	}
}

// A smuggled second request hidden by each defence above must never come
// out as a parse of the outer request followed by an inner one: the
// classic CL.TE payload is refused before any byte of the body is read.
func TestSmugglingPayloadsRefused(t *testing.T) {
	payloads := []string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: y\nContent-Length: 44\r\n\r\n",
	}
	for _, p := range payloads {
		var h RequestHead
		if _, err := ParseRequestHead([]byte(p), &h, Limits{}); err == nil || err == ErrIncomplete {
			t.Errorf("accepted %q (err %v)", p, err)
		}
	}
}

// Every reason is a unique snake_case token, and every one of them is
// exercised by at least one rejection case in this package's tables.
func TestReasonsCovered(t *testing.T) {
	tested := map[string]bool{"head_too_large": true, "too_many_fields": true} // TestParseRequestHeadLimits
	for _, table := range [][]rejection{requestRejections, responseRejections, chunkedRejections} {
		for _, r := range table {
			tested[r.reason] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("reason %q declared twice", r)
		}
		seen[r] = true
		for _, c := range r {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
				t.Errorf("reason %q is not snake_case", r)
				break
			}
		}
		if !tested[r] {
			t.Errorf("reason %q has no rejection test", r)
		}
	}
	for r := range tested {
		if !seen[r] {
			t.Errorf("tested reason %q is not in Reasons()", r)
		}
	}
}
