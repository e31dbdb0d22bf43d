package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// The fuzz targets check properties, not just absence of panics:
//   - a parsed head is self-delimiting (its own bytes parse the same, one
//     byte less is ErrIncomplete) and aliases only its own bytes;
//   - what we accept re-serializes to something we parse identically;
//   - what we accept, Go's net/http reads with the same framing (a
//     disagreement on body length between two parsers is a smuggling bug);
//   - the chunked decoder gives the same result whatever the read sizes.

func FuzzParseRequestHead(f *testing.F) {
	for _, s := range requestSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(checkRequestProperties)
}

// accepted counts heads both we and net/http accepted (for
// TestGeneratedRequests to check that its generator is not vacuous).
var accepted int

// checkRequestProperties is the body of FuzzParseRequestHead, shared with
// TestGeneratedRequests.
func checkRequestProperties(t *testing.T, data []byte) {
	{
		lim := Limits{MaxHeadBytes: 4096, MaxFields: 32}
		var h RequestHead
		n, err := ParseRequestHead(data, &h, lim)
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			checkErrorValue(t, err)
			return
		}
		if n <= 0 || n > len(data) || n > lim.MaxHeadBytes || h.HeadBytes != n {
			t.Fatalf("n = %d, HeadBytes %d, len %d", n, h.HeadBytes, len(data))
		}
		head := data[:n]
		checkAliases(t, head, h.Method, h.Target, h.Host, h.Upgrade)
		checkFields(t, head, h.Fields)
		if !isToken(h.Method) || h.Minor > 1 || h.ContentLength < -1 || h.Chunked && h.ContentLength >= 0 {
			t.Fatalf("inconsistent head %+v", h)
		}
		if h.Minor == 1 && h.Host == nil {
			t.Fatal("HTTP/1.1 request without Host accepted")
		}

		var again RequestHead
		if m, err := ParseRequestHead(head, &again, lim); m != n || err != nil {
			t.Fatalf("head alone: n=%d err=%v, want %d", m, err, n)
		}
		if m, err := ParseRequestHead(head[:n-1], &again, lim); m != 0 || err != ErrIncomplete {
			t.Fatalf("head minus one byte: n=%d err=%v", m, err)
		}

		// Re-serialize and parse again: same request.
		out := append([]byte(nil), h.Method...)
		out = append(out, ' ')
		out = append(out, h.Target...)
		out = append(out, " HTTP/1."...)
		out = strconv.AppendInt(out, int64(h.Minor), 10)
		out = append(out, "\r\n"...)
		for _, fl := range h.Fields {
			out = AppendField(out, fl.Name, fl.Value)
		}
		out = append(out, "\r\n"...)
		var rt RequestHead
		if _, err := ParseRequestHead(out, &rt, Limits{MaxHeadBytes: 2 * len(out), MaxFields: 32}); err != nil {
			t.Fatalf("re-serialized head rejected: %v\n%q", err, out)
		}
		if !sameRequest(&h, &rt) {
			t.Fatalf("re-serialized head differs:\n%+v\n%+v", h, rt)
		}

		// Differential check against net/http's framing.
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			return // net/http is stricter here (e.g. on URL escapes): fine
		}
		accepted++
		switch h.BodyMode() {
		case BodyChunked:
			if req.ContentLength != -1 || len(req.TransferEncoding) != 1 {
				t.Fatalf("we read chunked, net/http CL=%d TE=%v", req.ContentLength, req.TransferEncoding)
			}
		case BodyLength:
			if req.ContentLength != h.ContentLength {
				t.Fatalf("we read CL=%d, net/http CL=%d", h.ContentLength, req.ContentLength)
			}
		case BodyNone:
			if req.ContentLength != 0 || len(req.TransferEncoding) != 0 {
				t.Fatalf("we read no body, net/http CL=%d TE=%v", req.ContentLength, req.TransferEncoding)
			}
		}
		if req.Method != string(h.Method) {
			t.Fatalf("method %q vs net/http %q", h.Method, req.Method)
		}
	}
}

func FuzzParseResponseHead(f *testing.F) {
	for _, s := range responseSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxHeadBytes: 4096, MaxFields: 32}
		var h ResponseHead
		n, err := ParseResponseHead(data, &h, lim)
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			checkErrorValue(t, err)
			return
		}
		if n <= 0 || n > len(data) || n > lim.MaxHeadBytes || h.HeadBytes != n {
			t.Fatalf("n = %d, HeadBytes %d, len %d", n, h.HeadBytes, len(data))
		}
		head := data[:n]
		checkAliases(t, head, h.Reason, h.Upgrade)
		checkFields(t, head, h.Fields)
		if h.Status < 100 || h.Status > 599 || h.ContentLength < -1 || h.Chunked && h.ContentLength >= 0 {
			t.Fatalf("inconsistent head %+v", h)
		}
		var again ResponseHead
		if m, err := ParseResponseHead(head[:n-1], &again, lim); m != 0 || err != ErrIncomplete {
			t.Fatalf("head minus one byte: n=%d err=%v", m, err)
		}
		out := AppendStatusLine(nil, h.Minor, h.Status, h.Reason)
		for _, fl := range h.Fields {
			out = AppendField(out, fl.Name, fl.Value)
		}
		out = append(out, "\r\n"...)
		if _, err := ParseResponseHead(out, &again, Limits{MaxHeadBytes: 2 * len(out), MaxFields: 32}); err != nil {
			t.Fatalf("re-serialized head rejected: %v\n%q", err, out)
		}
		if again.Status != h.Status || again.ContentLength != h.ContentLength || again.Chunked != h.Chunked ||
			again.KeepAlive != h.KeepAlive || !bytes.Equal(again.Upgrade, h.Upgrade) || !sameFields(h.Fields, again.Fields) {
			t.Fatalf("re-serialized head differs:\n%+v\n%+v", h, again)
		}
		for _, m := range []string{"GET", "HEAD", "CONNECT"} {
			if mode := ResponseBodyMode([]byte(m), &h); mode > BodyTunnel {
				t.Fatalf("mode %v", mode)
			}
		}
	})
}

func FuzzChunkedDecoder(f *testing.F) {
	for _, s := range chunkedSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(checkChunkedProperties)
}

// checkChunkedProperties is the body of FuzzChunkedDecoder.
func checkChunkedProperties(t *testing.T, data []byte) {
	if len(data) > 8192 {
		// Feeding one byte at a time re-scans a pending line per byte;
		// long inputs add run time, not coverage.
		data = data[:8192]
	}
	{
		lim := Limits{MaxHeadBytes: 512, MaxFields: 8}
		whole, errWhole := decodeChunked(data, len(data), lim)
		for _, step := range []int{1, 3} {
			got, err := decodeChunked(data, step, lim)
			if fmt.Sprint(err) != fmt.Sprint(errWhole) {
				t.Fatalf("step %d: err %v, at once %v", step, err, errWhole)
			}
			if got.body != whole.body || strings.Join(got.trailers, "\x00") != strings.Join(whole.trailers, "\x00") || got.rest != whole.rest {
				t.Fatalf("step %d: %+v\nat once: %+v", step, got, whole)
			}
		}
		if errWhole != nil {
			return
		}
		// Re-encode and decode: the same body and forwardable trailers.
		var d ChunkedDecoder
		d.SetLimits(lim)
		var trailers []Field
		in := data
		for {
			n, _, done, err := d.Next(in)
			if err != nil {
				t.Fatal(err)
			}
			in = in[n:]
			if done {
				trailers = d.Trailers()
				break
			}
		}
		var wire []byte
		if len(whole.body) > 0 {
			wire = AppendChunkHeader(wire, len(whole.body))
			wire = append(wire, whole.body...)
			wire = AppendChunkEnd(wire)
		}
		wire = AppendLastChunk(wire, trailers)
		re, err := decodeChunked(wire, len(wire), lim)
		if err != nil || re.body != whole.body || re.rest != "" {
			t.Fatalf("re-encoded: %v %+v", err, re)
		}
		var want []string
		for _, tr := range whole.trailers {
			if !strings.HasSuffix(tr, "(content-length)") && !strings.HasSuffix(tr, "(host)") &&
				!strings.HasSuffix(tr, "(connection)") && !strings.HasSuffix(tr, "(te)") &&
				!strings.HasSuffix(tr, "(transfer-encoding)") && !strings.HasSuffix(tr, "(keep-alive)") &&
				!strings.HasSuffix(tr, "(upgrade)") && !strings.HasSuffix(tr, "(trailer)") &&
				!strings.HasSuffix(tr, "(proxy)") && !strings.HasSuffix(tr, "(http2-settings)") {
				want = append(want, tr)
			}
		}
		if strings.Join(re.trailers, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("re-encoded trailers %q, want %q", re.trailers, want)
		}
	}
}

func checkErrorValue(t *testing.T, err error) {
	t.Helper()
	if err == ErrIncomplete {
		return
	}
	e, ok := err.(*Error)
	if !ok || e.Reason == "" || (e.Status != 400 && e.Status != 431 && e.Status != 501 && e.Status != 505) {
		t.Fatalf("unexpected error %#v", err)
	}
}

// checkAliases fails unless every non-empty slice lies inside head.
func checkAliases(t *testing.T, head []byte, slices ...[]byte) {
	t.Helper()
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(head)))
	hi := lo + uintptr(len(head))
	for _, s := range slices {
		if len(s) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
		if p < lo || p+uintptr(len(s)) > hi {
			t.Fatalf("%q does not alias the head", s)
		}
	}
}

func checkFields(t *testing.T, head []byte, fields []Field) {
	t.Helper()
	for _, f := range fields {
		checkAliases(t, head, f.Name, f.Value)
		if !ValidFieldName(f.Name) || !ValidFieldValue(f.Value) {
			t.Fatalf("invalid field accepted: %q: %q", f.Name, f.Value)
		}
		if k := ClassifyName(f.Name); k != f.Kind && f.Kind != KindConnectionListed {
			t.Fatalf("field %q kind %v, want %v", f.Name, f.Kind, k)
		}
	}
}

func sameFields(a, b []Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Name, b[i].Name) || !bytes.Equal(a[i].Value, b[i].Value) || a[i].Kind != b[i].Kind {
			return false
		}
	}
	return true
}

func sameRequest(a, b *RequestHead) bool {
	return bytes.Equal(a.Method, b.Method) && bytes.Equal(a.Target, b.Target) && a.Minor == b.Minor &&
		bytes.Equal(a.Host, b.Host) && (a.Host == nil) == (b.Host == nil) &&
		a.ContentLength == b.ContentLength && a.Chunked == b.Chunked && a.KeepAlive == b.KeepAlive &&
		bytes.Equal(a.Upgrade, b.Upgrade) && a.Expect100 == b.Expect100 && a.TETrailers == b.TETrailers &&
		sameFields(a.Fields, b.Fields)
}

func requestSeeds() []string {
	seeds := []string{browserRequest, tinyRequest,
		crlf("POST /up HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nExpect: 100-continue\nTE: trailers\n\n"),
		crlf("GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade, X-A\nUpgrade: websocket\nX-A: 1\n\n"),
		crlf("\nGET http://a.example:80/x HTTP/1.0\nConnection: keep-alive\nContent-Length: 3\n\nabc"),
		crlf("CONNECT a.example:443 HTTP/1.1\nHost: a.example:443\n\n"),
		crlf("OPTIONS * HTTP/1.1\nHost: [::1]:8080\n\n"),
	}
	for _, r := range requestRejections {
		seeds = append(seeds, r.in)
	}
	return seeds
}

func responseSeeds() []string {
	seeds := []string{backendResponse,
		crlf("HTTP/1.1 204\n\n"),
		crlf("HTTP/1.1 101 Switching Protocols\nConnection: upgrade\nUpgrade: websocket\n\n"),
		crlf("HTTP/1.0 200 OK\nConnection: keep-alive\nTransfer-Encoding: chunked\n\n"),
		crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nTrailer: X\n\n"),
	}
	for _, r := range responseRejections {
		seeds = append(seeds, r.in)
	}
	return seeds
}

func chunkedSeeds() []string {
	seeds := []string{
		"0\r\n\r\n",
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"5 ; a = \"b\\\"c\" ;d\r\nhello\r\n0\r\nChecksum: x\r\nContent-Length: 1\r\n\r\nGET",
		"A\r\n0123456789\r\n0;x\r\nA: 1\r\nB:2\r\n\r\n",
		// Regression: an empty trailer section followed by a pipelined
		// request once ran on to the request's empty line.
		"3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
	}
	for _, r := range chunkedRejections {
		if len(r.in) < 2048 {
			seeds = append(seeds, r.in)
		}
	}
	return seeds
}

// TestWriteFuzzSeeds regenerates testdata/fuzz from the tables above when
// SLUICE_WRITE_FUZZ_SEEDS=1; otherwise it checks the corpus is present.
func TestWriteFuzzSeeds(t *testing.T) {
	targets := map[string][]string{
		"FuzzParseRequestHead":  requestSeeds(),
		"FuzzParseResponseHead": responseSeeds(),
		"FuzzChunkedDecoder":    chunkedSeeds(),
	}
	for target, seeds := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		if os.Getenv("SLUICE_WRITE_FUZZ_SEEDS") != "1" {
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) == 0 {
				t.Errorf("no seed corpus in %s: %v", dir, err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\n"
			name := filepath.Join(dir, fmt.Sprintf("seed-%03d", i))
			if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestGeneratedRequests runs the fuzz properties over heads assembled at
// random from fragments around the framing rules: the mutation fuzzer
// rarely builds two well-formed framing fields, this generator mostly does.
func TestGeneratedRequests(t *testing.T) {
	lines := []string{"GET / HTTP/1.1", "POST /x HTTP/1.1", "GET / HTTP/1.0", "GET http://a/ HTTP/1.1",
		"CONNECT a:443 HTTP/1.1", "OPTIONS * HTTP/1.1", "GET  / HTTP/1.1", "GET / HTTP/1.1 "}
	names := []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE",
		"Expect", "X-A", "content-length", "Transfer-encoding", "Host ", " Host", "X\x00"}
	values := []string{"a", "b", "5", "0", "05", "-1", "5, 5", "chunked", "Chunked", "gzip, chunked",
		"chunked, gzip", "close", "keep-alive", "upgrade", "Upgrade, X-A", "websocket", "100-continue",
		"trailers", "", " chunked", "chunked ", "a\x00", "a:80", "[::1]", "\x80"}
	ends := []string{"\r\n", "\r\n", "\r\n", "\r\n", "\n", "\r"}
	r := rand.New(rand.NewPCG(7, 9))
	accepted = 0
	for range 20000 {
		var b strings.Builder
		b.WriteString(lines[r.IntN(len(lines))])
		b.WriteString("\r\n")
		if r.IntN(10) < 7 {
			b.WriteString("Host: a\r\n")
		}
		for range r.IntN(5) {
			b.WriteString(names[r.IntN(len(names))])
			b.WriteString(":")
			if r.IntN(2) == 0 {
				b.WriteString(" ")
			}
			b.WriteString(values[r.IntN(len(values))])
			b.WriteString(ends[r.IntN(len(ends))])
		}
		b.WriteString("\r\n")
		checkRequestProperties(t, []byte(b.String()))
	}
	if accepted < 2000 {
		t.Fatalf("only %d generated heads accepted by both parsers", accepted)
	}
}
