package h1

import "testing"

// TestChunkedDecoderEmptyTrailersBeforePipelined is a regression test: a
// chunked body with no trailers followed, in the same buffer, by a
// pipelined request. The empty trailer section must end at its own CRLF;
// scanning on to the next request's empty line used to trip an internal
// panic in parseFields (a crash any client could cause).
func TestChunkedDecoderEmptyTrailersBeforePipelined(t *testing.T) {
	in := "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	for step := 1; step <= len(in); step++ {
		out, err := decodeChunked([]byte(in), step, Limits{})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if out.body != "abc" || len(out.trailers) != 0 || out.rest != "GET /next HTTP/1.1\r\nHost: a\r\n\r\n" {
			t.Fatalf("step %d: %+v", step, out)
		}
	}
	// With trailers, too: the section ends at its own empty line.
	in = "0\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
	out, err := decodeChunked([]byte(in), len(in), Limits{})
	if err != nil || len(out.trailers) != 1 || out.rest != "GET / HTTP/1.1\r\nHost: a\r\n\r\n" {
		t.Fatalf("with trailers: %+v %v", out, err)
	}
}
