package h2

import (
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Request validation (RFC 9113 8.1, 8.2, 8.3; DESIGN.md 3.2): a malformed
// request is answered with RST_STREAM(PROTOCOL_ERROR) and never reaches
// the handler, so it can never be forwarded.

// pseudo builds the four request pseudo-fields with the given values
// ("" leaves one out).
func pseudo(method, scheme, authority, path string) []hpack.HeaderField {
	var f []hpack.HeaderField
	add := func(n, v string) {
		if v != "" {
			f = append(f, hpack.HeaderField{Name: n, Value: v})
		}
	}
	add(":method", method)
	add(":scheme", scheme)
	add(":authority", authority)
	add(":path", path)
	return f
}

func TestRequestValidation(t *testing.T) {
	get := func(extra ...string) []hpack.HeaderField { return reqFields(extra...) }
	tests := []struct {
		name   string
		fields []hpack.HeaderField
		ok     bool
	}{
		{"valid", get("accept", "*/*"), true},
		{"valid_te_trailers", get("te", "trailers"), true},
		{"valid_host_only", append(pseudo("GET", "https", "", "/"), hf("host", "example.com")...), true},
		{"valid_host_matches_authority", get("host", "EXAMPLE.com"), true},
		{"valid_options_star", pseudo("OPTIONS", "https", "example.com", "*"), true},
		{"valid_empty_value", get("x-empty", ""), true},
		{"valid_content_length_duplicate_equal", get("content-length", "0", "content-length", "0"), true},

		// Pseudo-fields: known, once, first (RFC 9113 8.3).
		{"pseudo_after_regular", append(hf(":method", "GET", ":scheme", "https", "accept", "*/*"), hf(":authority", "example.com", ":path", "/")...), false},
		{"duplicate_method", append(get(), hf(":method", "POST")...)[:5], false},
		{"duplicate_path", append(pseudo("GET", "https", "example.com", "/"), hf(":path", "/x")...), false},
		{"unknown_pseudo", append(pseudo("GET", "https", "example.com", "/"), hf(":foo", "bar")...), false},
		{"response_pseudo", append(pseudo("GET", "https", "example.com", "/"), hf(":status", "200")...), false},
		{"missing_method", pseudo("", "https", "example.com", "/"), false},
		{"missing_scheme", pseudo("GET", "", "example.com", "/"), false},
		{"missing_path", pseudo("GET", "https", "example.com", ""), false},
		{"empty_path", append(pseudo("GET", "https", "example.com", ""), hf(":path", "")...), false},
		{"relative_path", pseudo("GET", "https", "example.com", "index.html"), false},
		{"star_path_not_options", pseudo("GET", "https", "example.com", "*"), false},
		{"missing_authority_and_host", pseudo("GET", "https", "", "/"), false},
		{"bad_method", pseudo("GE T", "https", "example.com", "/"), false},
		{"protocol_without_connect", append(pseudo("GET", "https", "example.com", "/"), hf(":protocol", "websocket")...), false},

		// Field names (RFC 9113 8.2.1).
		{"uppercase_name", get("X-Upper", "1"), false},
		{"bad_name_char", get("x@y", "1"), false},
		{"space_in_name", get("x y", "1"), false},
		{"empty_name", get("", "1"), false},
		{"empty_pseudo_name", append(hf(":", "x"), get()...), false},

		// Field values: no CR, LF, NUL, no surrounding whitespace.
		{"value_cr", get("x-v", "a\rb"), false},
		{"value_lf", get("x-v", "a\nb"), false},
		{"value_nul", get("x-v", "a\x00b"), false},
		{"value_leading_space", get("x-v", " a"), false},
		{"value_trailing_tab", get("x-v", "a\t"), false},
		{"pseudo_value_lf", pseudo("GET", "https", "example.com", "/a\nb"), false},

		// Connection-specific fields (RFC 9113 8.2.2).
		{"connection", get("connection", "keep-alive"), false},
		{"proxy_connection", get("proxy-connection", "keep-alive"), false},
		{"keep_alive", get("keep-alive", "timeout=5"), false},
		{"transfer_encoding", get("transfer-encoding", "chunked"), false},
		{"upgrade", get("upgrade", "h2c"), false},
		{"te_gzip", get("te", "gzip"), false},
		{"te_trailers_gzip", get("te", "trailers, gzip"), false},

		// Framing and Host.
		{"content_length_not_number", get("content-length", "12a"), false},
		{"content_length_negative", get("content-length", "-1"), false},
		{"content_length_conflict", get("content-length", "1", "content-length", "2"), false},
		{"content_length_with_end_stream", get("content-length", "5"), false},
		{"host_authority_mismatch", get("host", "evil.example"), false},
		{"duplicate_host", append(pseudo("GET", "https", "", "/"), hf("host", "a.example", "host", "a.example")...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeHeaders(1, true, tt.fields)
			if tt.ok {
				st.wantNoFrame()
				st.h.request(1)
				return
			}
			st.wantRSTStream(1, frame.ProtocolError)
			if len(st.h.requests) != 0 {
				t.Fatalf("malformed request reached the handler: %v", st.h.requests)
			}
			if st.err != nil {
				t.Fatalf("connection error %v, want a stream error", st.err)
			}
			// The connection and its HPACK state survive.
			st.writeRequest(3)
			st.h.request(3)
		})
	}
}

// TestRequestFieldsExposed: what OnRequest sees of a valid request.
func TestRequestFieldsExposed(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields("content-length", "3", "te", "trailers", "cookie", "a=1", "cookie", "b=2", "priority", "u=1"))
	r := st.h.request(1)
	if r.method != "POST" || r.path != "/upload" || r.contentLength != 3 || !r.te || r.endStream {
		t.Fatalf("request %+v", r)
	}
	if !contains(r.fields, "cookie: a=1") || !contains(r.fields, "cookie: b=2") {
		t.Fatalf("cookie crumbs lost: %v", r.fields)
	}
	if p := st.stream(1).Priority(); p.Urgency != 1 {
		t.Fatalf("priority %+v from the priority field", p)
	}
	st.writeData(1, true, []byte("abc"))
	if string(st.h.data[1]) != "abc" {
		t.Fatalf("body %q", st.h.data[1])
	}
	// Validation also runs on requests whose field block used the
	// dynamic table (the second request is mostly indexed).
	st.writeHeaders(3, false, postFields("content-length", "3", "te", "trailers"))
	if r := st.h.request(3); r.contentLength != 3 {
		t.Fatalf("request %+v", r)
	}
}

// TestContentLengthVsData: content-length must equal the DATA received
// (RFC 9113 8.1.1); the mismatch is caught when it becomes certain.
func TestContentLengthVsData(t *testing.T) {
	tests := []struct {
		name string
		run  func(st *serverTester)
	}{
		{"short_end_stream", func(st *serverTester) { st.writeData(1, true, []byte("abc")) }},
		{"long", func(st *serverTester) { st.writeData(1, false, []byte("abcdef")) }},
		{"long_over_frames", func(st *serverTester) {
			st.writeData(1, false, []byte("abc"))
			st.writeData(1, false, []byte("def"))
		}},
		{"short_then_trailers", func(st *serverTester) {
			st.writeData(1, false, []byte("abc"))
			st.writeHeaders(1, true, hf("x-t", "1"))
		}},
		{"none_then_trailers", func(st *serverTester) { st.writeHeaders(1, true, hf("x-t", "1")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeHeaders(1, false, postFields("content-length", "5"))
			st.h.request(1)
			tt.run(st)
			st.wantRSTStream(1, frame.ProtocolError)
			st.wantClosed(1, frame.ProtocolError)
			if st.h.dataEnd[1] || st.h.trailers[1] != nil {
				t.Fatalf("the handler saw the body end as if valid")
			}
		})
	}
	t.Run("exact", func(t *testing.T) {
		st := newServerTester(t)
		st.greet()
		st.writeHeaders(1, false, postFields("content-length", "5"))
		st.writeData(1, false, []byte("ab"))
		st.writeData(1, true, []byte("cde"))
		st.wantNoFrame()
		if string(st.h.data[1]) != "abcde" || !st.h.dataEnd[1] {
			t.Fatalf("body %q end %v", st.h.data[1], st.h.dataEnd[1])
		}
	})
}

// TestConnectValidation: CONNECT (RFC 9113 8.5) carries :method and
// :authority only; extended CONNECT (RFC 8441) adds :protocol with the
// others. Valid ones reach the handler (the session refuses tunnels with
// a clean answer); malformed ones are reset.
func TestConnectValidation(t *testing.T) {
	tests := []struct {
		name   string
		fields []hpack.HeaderField
		ok     bool
	}{
		{"connect", hf(":method", "CONNECT", ":authority", "example.com:443"), true},
		{"connect_with_path", hf(":method", "CONNECT", ":authority", "example.com:443", ":path", "/"), false},
		{"connect_with_scheme", hf(":method", "CONNECT", ":scheme", "https", ":authority", "example.com:443"), false},
		{"connect_without_authority", hf(":method", "CONNECT"), false},
		{"extended_connect", append(pseudo("CONNECT", "https", "example.com", "/chat"), hf(":protocol", "websocket")...), true},
		{"extended_connect_without_path", append(pseudo("CONNECT", "https", "example.com", ""), hf(":protocol", "websocket")...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.h.onRequest = func(s *Stream, req *Request) {
				// Refuse cleanly from inside the callback, as the session
				// does.
				if err := st.c.WriteResponse(s, 405, nil, true); err != nil {
					t.Errorf("WriteResponse: %v", err)
				}
			}
			st.writeHeaders(1, false, tt.fields)
			if !tt.ok {
				st.wantRSTStream(1, frame.ProtocolError)
				if len(st.h.requests) != 0 {
					t.Fatalf("malformed CONNECT reached the handler")
				}
				return
			}
			if r := st.h.request(1); r.method != "CONNECT" {
				t.Fatalf("request %v", r)
			}
			st.wantStatus(1, "405", true)
			// The tunnel's bytes that were already in flight are taken
			// and credited; the client ends its side.
			st.writeData(1, true, []byte("tunnel bytes"))
			st.wantClosed(1, frame.NoError)
			st.wantNoFrame()
		})
	}
}

// TestOversizedHeaderList: a field block over the header list limit is
// answered 431 by the engine itself (RFC 9113 10.5.1) and never reaches
// the handler.
func TestOversizedHeaderList(t *testing.T) {
	st := newServerTester(t, func(c *Config) { c.Flood.HeaderListSize = 1000 })
	st.greet()
	st.writeHeaders(1, true, reqFields("x-big", string(pattern(2000))))
	st.wantStatus(1, "431", true)
	if len(st.h.requests) != 0 {
		t.Fatalf("oversized request reached the handler")
	}
	// Too many fields, with a body the client keeps sending.
	st2 := newServerTester(t, func(c *Config) { c.Flood.HeaderFields = 5 })
	st2.greet()
	st2.writeHeaders(1, false, postFields("a", "1", "b", "2"))
	st2.wantStatus(1, "431", true)
	st2.writeData(1, true, []byte("body"))
	st2.wantNoFrame()
	if len(st2.h.requests) != 0 || st2.c.ActiveStreams() != 0 {
		t.Fatalf("requests %v, streams %d", st2.h.requests, st2.c.ActiveStreams())
	}
	st2.writeRequest(3)
	st2.h.request(3)
}
