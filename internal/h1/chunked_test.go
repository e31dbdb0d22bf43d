package h1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// decoded is everything a ChunkedDecoder produced for one body.
type decoded struct {
	body     string
	trailers []string // "Name: value (kind)"
	rest     string   // input after the body
}

// decodeChunked feeds in to a fresh decoder step bytes at a time, the way a
// connection reader would: the decoder sees the unconsumed bytes read so
// far, in[start:fed].
func decodeChunked(in []byte, step int, lim Limits) (out decoded, err error) {
	var d ChunkedDecoder
	d.SetLimits(lim)
	var body []byte
	defer func() { out.body = string(body) }()
	start, fed := 0, 0
	for {
		for {
			pending := in[start:fed]
			n, data, done, err := d.Next(pending)
			if err != nil {
				return out, err
			}
			if n < 0 || n > len(pending) || len(data) > n {
				return out, errors.New("bad consumed count")
			}
			if data != nil && &data[0] != &pending[n-len(data)] {
				return out, errors.New("data is not the input just consumed")
			}
			body = append(body, data...)
			start += n
			if done {
				for _, f := range d.Trailers() {
					out.trailers = append(out.trailers, string(f.Name)+": "+string(f.Value)+" ("+f.Kind.String()+")")
				}
				out.rest = string(in[start:])
				return out, nil
			}
			if n == 0 {
				break
			}
		}
		if fed == len(in) {
			return out, io.ErrUnexpectedEOF
		}
		fed += min(step, len(in)-fed)
	}
}

func TestChunkedDecoderValid(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		body     string
		trailers []string
	}{
		{"empty_body", "0\r\n\r\n", "", nil},
		{"one_chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"two_chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", nil},
		{"upper_hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"lower_hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"leading_zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", nil},
		{"data_with_crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", nil},
		{"extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"extensions_bws", "5 ; a = b ;c\r\nhello\r\n0;last\r\n\r\n", "hello", nil},
		{"quoted_extension", "5;a=\"x y\\\"z;\"\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"trailers", "5\r\nhello\r\n0\r\nChecksum: abc\r\nExpires:  never \r\n\r\n", "hello",
			[]string{"Checksum: abc (other)", "Expires: never (other)"}},
		{"forbidden_trailer_classified", "0\r\nContent-Length: 5\r\n\r\n", "", []string{"Content-Length: 5 (content-length)"}},
		{"longest_line", "5;" + strings.Repeat("b", MaxChunkLine-4) + "\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"pipelined_after", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, err := decodeChunked([]byte(tt.in), len(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if whole.body != tt.body || strings.Join(whole.trailers, "|") != strings.Join(tt.trailers, "|") {
				t.Errorf("got %q %q, want %q %q", whole.body, whole.trailers, tt.body, tt.trailers)
			}
			if want := map[bool]string{true: "GET / HTTP/1.1\r\n"}[tt.name == "pipelined_after"]; whole.rest != want {
				t.Errorf("left %q, want %q", whole.rest, want)
			}
			for _, step := range []int{1, 2, 3, 7} {
				got, err := decodeChunked([]byte(tt.in), step, Limits{})
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if got.body != whole.body || strings.Join(got.trailers, "|") != strings.Join(whole.trailers, "|") || got.rest != whole.rest {
					t.Fatalf("step %d: %+v, at once %+v", step, got, whole)
				}
			}
		})
	}
}

var chunkedRejections = []rejection{
	{"bad_chunk_size", "not_hex", 400, "g\r\nx\r\n0\r\n\r\n"},
	{"bad_chunk_size", "plus_sign", 400, "+5\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "minus_sign", 400, "-5\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "leading_space", 400, " 5\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "leading_tab", 400, "\t5\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "0x_prefix", 400, "0x5\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "trailing_space", 400, "5 \r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "empty_line", 400, "\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_size", "overflow", 400, "8000000000000000\r\n"},
	{"bad_chunk_size", "overflow_long", 400, "10000000000000000\r\n"},
	{"bad_chunk_size", "bare_cr_after_size", 400, "5\rX\r\nhello\r\n0\r\n\r\n"},
	{"chunk_ext_too_long", "long_extension", 400, "5;a=" + strings.Repeat("b", MaxChunkLine) + "\r\nhello\r\n0\r\n\r\n"},
	{"chunk_ext_too_long", "unterminated_line", 400, "5;a=" + strings.Repeat("b", MaxChunkLine)},
	{"chunk_ext_too_long", "line_one_over", 400, "5;" + strings.Repeat("b", MaxChunkLine-3) + "\r\n"},
	{"bad_chunk_ext", "empty_name", 400, "5;\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_ext", "empty_value", 400, "5;a=\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_ext", "unterminated_quote", 400, "5;a=\"b\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_ext", "space_in_name", 400, "5;a b\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_ext", "nul", 400, "5;a\x00\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_ext", "bare_cr", 400, "5;a\rb\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_terminator", "data_too_long", 400, "3\r\nhello\r\n0\r\n\r\n"},
	{"bad_chunk_terminator", "cr_then_junk", 400, "5\r\nhello\rX0\r\n\r\n"},
	{"bad_chunk_terminator", "no_terminator", 400, "5\r\nhello0\r\n\r\n"},
	{"bare_lf", "size_line", 400, "5\nhello\r\n0\r\n\r\n"},
	{"bare_lf", "after_data", 400, "5\r\nhello\n0\r\n\r\n"},
	{"bare_lf", "last_chunk", 400, "5\r\nhello\r\n0\n\r\n"},
	{"bare_lf", "final_crlf", 400, "5\r\nhello\r\n0\r\n\n"},
	{"bare_lf", "trailer_line", 400, "0\r\nX: 1\n\r\n"},
	{"obs_fold", "trailer_fold", 400, "0\r\nX: 1\r\n 2\r\n\r\n"},
	{"control_char", "trailer_nul", 400, "0\r\nX: 1\x002\r\n\r\n"},
	{"space_before_colon", "trailer", 400, "0\r\nX : 1\r\n\r\n"},
	{"trailers_too_large", "over_default", 431, "0\r\nX: " + strings.Repeat("a", DefaultMaxHeadBytes) + "\r\n\r\n"},
	{"too_many_trailers", "over_default", 431, "0\r\n" + strings.Repeat("X: 1\r\n", DefaultMaxFields+1) + "\r\n"},
}

func TestChunkedDecoderRejects(t *testing.T) {
	for _, tt := range chunkedRejections {
		t.Run(tt.reason+"/"+tt.desc, func(t *testing.T) {
			for _, step := range []int{len(tt.in), 1} {
				_, err := decodeChunked([]byte(tt.in), step, Limits{})
				checkRejection(t, err, tt.status, tt.reason)
			}
		})
	}
}

func TestChunkedDecoderTrailerLimits(t *testing.T) {
	in := []byte("0\r\nA: 1\r\nB: 2\r\n\r\n")
	_, err := decodeChunked(in, len(in), Limits{MaxHeadBytes: len(in) - 4})
	checkRejection(t, err, 431, "trailers_too_large")
	_, err = decodeChunked(in, len(in), Limits{MaxFields: 1})
	checkRejection(t, err, 431, "too_many_trailers")
	if _, err = decodeChunked(in, len(in), Limits{MaxHeadBytes: len(in) - 3, MaxFields: 2}); err != nil {
		t.Fatal(err)
	}
}

// Every prefix of a valid body decodes without error and without done.
func TestChunkedDecoderTruncated(t *testing.T) {
	body := "5;x=\"y\"\r\nhello\r\n1a\r\n" + strings.Repeat("z", 26) + "\r\n0\r\nT: v\r\n\r\n"
	for i := 0; i < len(body); i++ {
		_, err := decodeChunked([]byte(body[:i]), len(body), Limits{})
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("prefix %q: %v", body[:i], err)
		}
	}
}

func TestChunkedDecoderStickyErrorAndReset(t *testing.T) {
	var d ChunkedDecoder
	bad := []byte("zz\r\n")
	if _, _, _, err := d.Next(bad); err == nil {
		t.Fatal("accepted bad size")
	}
	if n, data, done, err := d.Next([]byte("0\r\n\r\n")); err == nil || n != 0 || data != nil || done {
		t.Fatalf("after error: n=%d data=%q done=%v err=%v", n, data, done, err)
	}
	d.Reset()
	in := []byte("0\r\nA: b\r\n\r\n")
	n, _, done, err := d.Next(in)
	if err != nil || !done || n != len(in) || len(d.Trailers()) != 1 {
		t.Fatalf("after Reset: n=%d done=%v err=%v trailers=%v", n, done, err, d.Trailers())
	}
	// Done is sticky until Reset and consumes nothing more.
	if n, _, done, err := d.Next([]byte("5\r\n")); n != 0 || !done || err != nil {
		t.Fatalf("after done: n=%d done=%v err=%v", n, done, err)
	}
	d.Reset()
	if d.Trailers() != nil {
		t.Fatal("trailers before done")
	}
}

// Next hands data over one piece per call, never past the chunk.
func TestChunkedDecoderDataBoundaries(t *testing.T) {
	var d ChunkedDecoder
	in := []byte("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	var pieces []string
	for len(in) > 0 {
		n, data, done, err := d.Next(in)
		if err != nil {
			t.Fatal(err)
		}
		if data != nil {
			pieces = append(pieces, string(data))
		}
		in = in[n:]
		if done {
			break
		}
	}
	if strings.Join(pieces, ",") != "abc,de" || len(in) != 0 {
		t.Fatalf("pieces %q, left %q", pieces, in)
	}
}

// Round trip: what the serializers write, the decoder reads back.
func TestChunkedRoundTrip(t *testing.T) {
	var wire []byte
	var want bytes.Buffer
	for _, n := range []int{1, 15, 16, 255, 4096, 70000} {
		p := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		wire = AppendChunkHeader(wire, n)
		wire = append(wire, p...)
		wire = AppendChunkEnd(wire)
		want.Write(p)
	}
	wire = AppendLastChunk(wire, []Field{
		{Name: []byte("Checksum"), Value: []byte("1"), Kind: KindOther},
		{Name: []byte("Connection"), Value: []byte("close"), Kind: KindConnection},
		{Name: []byte("Content-Length"), Value: []byte("1"), Kind: KindContentLength},
	})
	got, err := decodeChunked(wire, 1000, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got.body != want.String() || strings.Join(got.trailers, "|") != "Checksum: 1 (other)" || got.rest != "" {
		t.Fatalf("round trip: %d bytes, trailers %q, rest %q", len(got.body), got.trailers, got.rest)
	}
}
