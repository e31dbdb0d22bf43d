package h1

import (
	"errors"
	"strings"
	"testing"
)

// crlf turns the readable "\n" of test literals into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestParseRequestHeadValid(t *testing.T) {
	type want struct {
		method, target, host string
		noHost               bool
		minor                int
		cl                   int64
		chunked, keepAlive   bool
		upgrade              string
		expect100, teTrail   bool
		mode                 BodyMode
		fields               int
	}
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"minimal_1.1", "GET / HTTP/1.1\nHost: a.example\n\n",
			want{method: "GET", target: "/", host: "a.example", minor: 1, cl: -1, keepAlive: true, mode: BodyNone, fields: 1}},
		{"1.1_close", "GET /x?y=1 HTTP/1.1\nHost: a\nConnection: close\n\n",
			want{method: "GET", target: "/x?y=1", host: "a", minor: 1, cl: -1, keepAlive: false, fields: 2}},
		{"1.1_close_in_list", "GET / HTTP/1.1\nHost: a\nConnection: foo, Close\nFoo: 1\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: false, fields: 3}},
		{"1.0_default_close", "GET / HTTP/1.0\n\n",
			want{method: "GET", target: "/", noHost: true, minor: 0, cl: -1, keepAlive: false}},
		{"1.0_keep_alive", "GET / HTTP/1.0\nHost: a\nConnection: Keep-Alive\n\n",
			want{method: "GET", target: "/", host: "a", minor: 0, cl: -1, keepAlive: true, fields: 2}},
		{"1.0_keep_alive_and_close", "GET / HTTP/1.0\nHost: a\nConnection: keep-alive, close\n\n",
			want{method: "GET", target: "/", host: "a", minor: 0, cl: -1, keepAlive: false, fields: 2}},
		{"content_length", "POST /up HTTP/1.1\nHost: a\nContent-Length: 42\n\n",
			want{method: "POST", target: "/up", host: "a", minor: 1, cl: 42, keepAlive: true, mode: BodyLength, fields: 2}},
		{"content_length_zero", "POST /up HTTP/1.1\nHost: a\nContent-Length: 0\n\n",
			want{method: "POST", target: "/up", host: "a", minor: 1, cl: 0, keepAlive: true, mode: BodyLength, fields: 2}},
		{"content_length_max", "POST / HTTP/1.1\nHost: a\nContent-Length: 9223372036854775807\n\n",
			want{method: "POST", target: "/", host: "a", minor: 1, cl: 9223372036854775807, keepAlive: true, mode: BodyLength, fields: 2}},
		{"chunked", "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: Chunked\n\n",
			want{method: "POST", target: "/", host: "a", minor: 1, cl: -1, chunked: true, keepAlive: true, mode: BodyChunked, fields: 2}},
		{"websocket_upgrade", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\n",
			want{method: "GET", target: "/ws", host: "a", minor: 1, cl: -1, keepAlive: true, upgrade: "websocket", fields: 3}},
		{"upgrade_without_option_ignored", "GET / HTTP/1.1\nHost: a\nUpgrade: websocket\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 2}},
		{"upgrade_on_1.0_ignored", "GET / HTTP/1.0\nHost: a\nConnection: upgrade\nUpgrade: websocket\n\n",
			want{method: "GET", target: "/", host: "a", minor: 0, cl: -1, fields: 3}},
		{"expect_100", "PUT / HTTP/1.1\nHost: a\nExpect: 100-Continue\nContent-Length: 5\n\n",
			want{method: "PUT", target: "/", host: "a", minor: 1, cl: 5, keepAlive: true, expect100: true, mode: BodyLength, fields: 3}},
		{"expect_100_on_1.0_ignored", "PUT / HTTP/1.0\nExpect: 100-continue\nContent-Length: 5\n\n",
			want{method: "PUT", target: "/", noHost: true, minor: 0, cl: 5, mode: BodyLength, fields: 2}},
		{"te_trailers", "GET / HTTP/1.1\nHost: a\nTE: gzip;q=0.5, trailers\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, teTrail: true, fields: 2}},
		{"ows_trimmed", "GET / HTTP/1.1\nHost: \t a \t\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"empty_host", "GET / HTTP/1.1\nHost:\n\n",
			want{method: "GET", target: "/", host: "", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"host_with_port", "GET / HTTP/1.1\nHost: a.example:8080\n\n",
			want{method: "GET", target: "/", host: "a.example:8080", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"host_ipv6", "GET / HTTP/1.1\nHost: [::1]:8080\n\n",
			want{method: "GET", target: "/", host: "[::1]:8080", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"leading_empty_lines", "\n\nGET / HTTP/1.1\nHost: a\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"options_asterisk", "OPTIONS * HTTP/1.1\nHost: a\n\n",
			want{method: "OPTIONS", target: "*", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"connect_authority", "CONNECT a.example:443 HTTP/1.1\nHost: a.example:443\n\n",
			want{method: "CONNECT", target: "a.example:443", host: "a.example:443", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"absolute_form", "GET http://A.example/x HTTP/1.1\nHost: a.EXAMPLE\n\n",
			want{method: "GET", target: "http://A.example/x", host: "a.EXAMPLE", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"absolute_form_default_port", "GET http://a.example:80/x HTTP/1.1\nHost: a.example\n\n",
			want{method: "GET", target: "http://a.example:80/x", host: "a.example", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"absolute_form_https_port", "GET https://a.example/ HTTP/1.1\nHost: a.example:443\n\n",
			want{method: "GET", target: "https://a.example/", host: "a.example:443", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"absolute_form_no_path", "GET http://a.example?q HTTP/1.1\nHost: a.example\n\n",
			want{method: "GET", target: "http://a.example?q", host: "a.example", minor: 1, cl: -1, keepAlive: true, fields: 1}},
		{"absolute_form_1.0_host_from_target", "GET http://a.example:8080/ HTTP/1.0\n\n",
			want{method: "GET", target: "http://a.example:8080/", host: "a.example:8080", minor: 0, cl: -1}},
		{"obs_text_value", "GET / HTTP/1.1\nHost: a\nX-Name: caf\xc3\xa9\n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 2}},
		{"empty_value", "GET / HTTP/1.1\nHost: a\nX-Empty:\nX-Blank:   \n\n",
			want{method: "GET", target: "/", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 3}},
		{"unusual_target_chars", "GET /a|b{c}\"d\" HTTP/1.1\nHost: a\n\n",
			want{method: "GET", target: "/a|b{c}\"d\"", host: "a", minor: 1, cl: -1, keepAlive: true, fields: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(crlf(tt.in))
			var h RequestHead
			n, err := ParseRequestHead(in, &h, Limits{})
			if err != nil {
				t.Fatalf("ParseRequestHead: %v", err)
			}
			if n != len(in) || h.HeadBytes != n {
				t.Errorf("n = %d, HeadBytes = %d, want %d", n, h.HeadBytes, len(in))
			}
			w := tt.want
			if string(h.Method) != w.method || string(h.Target) != w.target || h.Minor != w.minor {
				t.Errorf("line = %q %q 1.%d, want %q %q 1.%d", h.Method, h.Target, h.Minor, w.method, w.target, w.minor)
			}
			if w.noHost != (h.Host == nil) || string(h.Host) != w.host {
				t.Errorf("Host = %q (nil %v), want %q (nil %v)", h.Host, h.Host == nil, w.host, w.noHost)
			}
			if h.ContentLength != w.cl || h.Chunked != w.chunked || h.BodyMode() != w.mode {
				t.Errorf("CL %d chunked %v mode %v, want %d %v %v", h.ContentLength, h.Chunked, h.BodyMode(), w.cl, w.chunked, w.mode)
			}
			if h.KeepAlive != w.keepAlive {
				t.Errorf("KeepAlive = %v, want %v", h.KeepAlive, w.keepAlive)
			}
			if string(h.Upgrade) != w.upgrade || (w.upgrade == "") != (h.Upgrade == nil) {
				t.Errorf("Upgrade = %q, want %q", h.Upgrade, w.upgrade)
			}
			if h.Expect100 != w.expect100 || h.TETrailers != w.teTrail {
				t.Errorf("Expect100 %v TETrailers %v, want %v %v", h.Expect100, h.TETrailers, w.expect100, w.teTrail)
			}
			if len(h.Fields) != w.fields {
				t.Errorf("%d fields, want %d", len(h.Fields), w.fields)
			}
		})
	}
}

func TestParseRequestHeadFields(t *testing.T) {
	in := []byte(crlf("GET / HTTP/1.1\nhost: a\nUser-Agent:  curl/8 \nX-Forwarded-For: 1.2.3.4\nConnection: keep-alive, X-Secret, x-forwarded-for, Host\n" +
		"X-Secret: s\nProxy-Authorization: b\nCookie: a=1\nPRIORITY: u=1\nForwarded: for=x\nx-forwarded-proto: http\nX-Forwarded-Host: h\n" +
		"TE: trailers\nTrailer: x\nKeep-Alive: 5\nHTTP2-Settings: AAA\nExpect: foo\nProxy: x\n\n"))
	var h RequestHead
	if _, err := ParseRequestHead(in, &h, Limits{}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, value string
		kind        FieldKind
	}{
		{"host", "a", KindHost},
		{"User-Agent", "curl/8", KindOther},
		{"X-Forwarded-For", "1.2.3.4", KindXForwardedFor},
		{"Connection", "keep-alive, X-Secret, x-forwarded-for, Host", KindConnection},
		{"X-Secret", "s", KindConnectionListed},
		{"Proxy-Authorization", "b", KindProxy},
		{"Cookie", "a=1", KindCookie},
		{"PRIORITY", "u=1", KindPriority},
		{"Forwarded", "for=x", KindForwarded},
		{"x-forwarded-proto", "http", KindXForwardedProto},
		{"X-Forwarded-Host", "h", KindXForwardedHost},
		{"TE", "trailers", KindTE},
		{"Trailer", "x", KindTrailer},
		{"Keep-Alive", "5", KindKeepAlive},
		{"HTTP2-Settings", "AAA", KindHTTP2Settings},
		{"Expect", "foo", KindExpect},
		{"Proxy", "x", KindProxy},
	}
	if len(h.Fields) != len(want) {
		t.Fatalf("%d fields, want %d", len(h.Fields), len(want))
	}
	for i, w := range want {
		f := h.Fields[i]
		if string(f.Name) != w.name || string(f.Value) != w.value || f.Kind != w.kind {
			t.Errorf("field %d = %q: %q (%v), want %q: %q (%v)", i, f.Name, f.Value, f.Kind, w.name, w.value, w.kind)
		}
	}
	// Listing X-Forwarded-For or Host in Connection must not make the
	// proxy drop them (CVE-2022-31813).
	if h.Fields[0].Kind.IsHopByHop() || h.Fields[2].Kind.IsHopByHop() {
		t.Error("Connection option reclassified a proxy-managed field as hop-by-hop")
	}
	if h.Expect100 {
		t.Error("Expect: foo read as 100-continue")
	}
}

func TestFieldKindHopByHop(t *testing.T) {
	hop := map[FieldKind]bool{
		KindConnection: true, KindKeepAlive: true, KindTE: true, KindTransferEncoding: true,
		KindUpgrade: true, KindTrailer: true, KindProxy: true, KindHTTP2Settings: true,
		KindConnectionListed: true,
	}
	for k := FieldKind(0); k < numKinds; k++ {
		if k.IsHopByHop() != hop[k] {
			t.Errorf("%v.IsHopByHop() = %v", k, k.IsHopByHop())
		}
		if got := ClassifyName([]byte(k.String())); k != KindOther && k != KindConnectionListed && got != k {
			t.Errorf("ClassifyName(%q) = %v", k.String(), got)
		}
	}
	for _, name := range []string{"proxy-", "Proxy-Connection", "PROXY"} {
		if ClassifyName([]byte(name)) != KindProxy {
			t.Errorf("ClassifyName(%q) is not KindProxy", name)
		}
	}
	for _, name := range []string{"", "x", "proxyx", "hosts", "te-x", "cookies", "content-lengt"} {
		if k := ClassifyName([]byte(name)); k != KindOther {
			t.Errorf("ClassifyName(%q) = %v, want other", name, k)
		}
	}
	if s := FieldKind(200).String(); s != "FieldKind(200)" {
		t.Errorf("String of unknown kind = %q", s)
	}
}

// Pipelined requests in one buffer parse one at a time, each n covering
// exactly its own head.
func TestParseRequestHeadPipelined(t *testing.T) {
	reqs := []string{
		crlf("GET /1 HTTP/1.1\nHost: a\n\n"),
		crlf("POST /2 HTTP/1.1\nHost: a\nContent-Length: 3\n\n") + "abc",
		crlf("\nGET /3 HTTP/1.1\nHost: b\nConnection: close\n\n"),
	}
	buf := []byte(strings.Join(reqs, ""))
	var h RequestHead
	targets := []string{"/1", "/2", "/3"}
	for i, want := range targets {
		n, err := ParseRequestHead(buf, &h, Limits{})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(h.Target) != want {
			t.Fatalf("request %d target %q, want %q", i, h.Target, want)
		}
		buf = buf[n:]
		if h.BodyMode() == BodyLength {
			buf = buf[h.ContentLength:]
		}
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left over", len(buf))
	}
	if h.KeepAlive {
		t.Error("last request should close")
	}
	if _, err := ParseRequestHead(buf, &h, Limits{}); err != ErrIncomplete {
		t.Fatalf("empty buffer: %v, want ErrIncomplete", err)
	}
}

// Every proper prefix of a valid head is ErrIncomplete: never an error, and
// never a successful parse of something shorter.
func TestParseRequestHeadTruncated(t *testing.T) {
	heads := []string{
		crlf("GET / HTTP/1.1\nHost: a\n\n"),
		crlf("\n\nPOST http://a.example:80/p?q HTTP/1.1\nHost: a.example\nContent-Length: 5\nConnection: keep-alive, X-A\nX-A: 1\n\n"),
		crlf("GET / HTTP/1.0\n\n"),
		browserRequest,
	}
	for _, head := range heads {
		for i := 0; i < len(head); i++ {
			var h RequestHead
			n, err := ParseRequestHead([]byte(head[:i]), &h, Limits{})
			if n != 0 || err != ErrIncomplete {
				t.Fatalf("prefix %q: n=%d err=%v, want ErrIncomplete", head[:i], n, err)
			}
		}
		var h RequestHead
		if n, err := ParseRequestHead([]byte(head), &h, Limits{}); err != nil || n != len(head) {
			t.Fatalf("whole head: n=%d err=%v", n, err)
		}
	}
}

func TestParseRequestHeadLimits(t *testing.T) {
	head := crlf("GET / HTTP/1.1\nHost: a\nA: 1\nB: 2\n\n")
	var h RequestHead
	tests := []struct {
		name   string
		in     string
		lim    Limits
		status int
		reason string
	}{
		{"fits_exactly", head, Limits{MaxHeadBytes: len(head)}, 0, ""},
		{"one_byte_over", head, Limits{MaxHeadBytes: len(head) - 1}, 431, "head_too_large"},
		{"incomplete_at_limit", head[:20], Limits{MaxHeadBytes: 20}, 431, "head_too_large"},
		{"incomplete_under_limit", head[:20], Limits{MaxHeadBytes: 21}, 0, "incomplete"},
		{"fields_fit", head, Limits{MaxFields: 3}, 0, ""},
		{"too_many_fields", head, Limits{MaxFields: 2}, 431, "too_many_fields"},
		{"default_head_limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", DefaultMaxHeadBytes), Limits{}, 431, "head_too_large"},
		{"default_field_limit", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: 1\r\n", DefaultMaxFields) + "\r\n", Limits{}, 431, "too_many_fields"},
		{"empty_lines_bounded", strings.Repeat("\r\n", maxLeadingEmptyLines+1) + head, Limits{}, 400, "too_many_empty_lines"},
		{"empty_lines_at_bound", strings.Repeat("\r\n", maxLeadingEmptyLines) + head, Limits{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequestHead([]byte(tt.in), &h, tt.lim)
			switch {
			case tt.reason == "":
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case tt.reason == "incomplete":
				if err != ErrIncomplete {
					t.Fatalf("err = %v, want ErrIncomplete", err)
				}
			default:
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.status || e.Reason != tt.reason {
					t.Fatalf("err = %v, want %d %s", err, tt.status, tt.reason)
				}
			}
		})
	}
}

// Reusing a RequestHead must not leak state from the previous request.
func TestParseRequestHeadReuse(t *testing.T) {
	var h RequestHead
	first := []byte(crlf("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nConnection: upgrade\nUpgrade: x\nExpect: 100-continue\nTE: trailers\n\n"))
	if _, err := ParseRequestHead(first, &h, Limits{}); err != nil {
		t.Fatal(err)
	}
	second := []byte(crlf("GET / HTTP/1.0\n\n"))
	if _, err := ParseRequestHead(second, &h, Limits{}); err != nil {
		t.Fatal(err)
	}
	if h.Chunked || h.Upgrade != nil || h.Expect100 || h.TETrailers || h.Host != nil || h.ContentLength != -1 || len(h.Fields) != 0 || h.KeepAlive {
		t.Errorf("state leaked: %+v", h)
	}
}

func TestErrorString(t *testing.T) {
	if s := errCLAndTE.Error(); s != "h1: cl_and_te (400)" {
		t.Errorf("Error() = %q", s)
	}
}
