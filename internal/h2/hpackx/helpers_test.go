package hpackx

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// hf builds a field list from "name", "value" pairs.
func hf(pairs ...string) []hpack.HeaderField {
	var out []hpack.HeaderField
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

var (
	h2loadRequest = hf(
		":method", "GET",
		":scheme", "https",
		":authority", "127.0.0.1:8443",
		":path", "/",
		"user-agent", "h2load nghttp2/1.64.0",
	)
	browserRequest = hf(
		":method", "GET",
		":authority", "www.example.com",
		":scheme", "https",
		":path", "/assets/js/app.3f9a2c71.js",
		"sec-ch-ua", `"Chromium";v="130", "Google Chrome";v="130", "Not?A_Brand";v="99"`,
		"sec-ch-ua-mobile", "?0",
		"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		"sec-ch-ua-platform", `"Linux"`,
		"accept", "*/*",
		"sec-fetch-site", "same-origin",
		"sec-fetch-mode", "no-cors",
		"sec-fetch-dest", "script",
		"referer", "https://www.example.com/",
		"accept-encoding", "gzip, deflate, br, zstd",
		"accept-language", "en-US,en;q=0.9",
		"cookie", "session=4f9c1e2a8b7d6c5e4f3a2b1c0d9e8f7a; theme=dark; _ga=GA1.2.1234567890.1700000000",
		"priority", "u=1",
	)
	responseHeaders = hf(
		":status", "200",
		"content-type", "text/html; charset=utf-8",
		"content-length", "5123",
		"date", "Tue, 25 Nov 2025 21:19:00 GMT",
		"server", "sluice",
		"cache-control", "public, max-age=3600",
		"etag", `"5f3a-61b2c9e4"`,
		"vary", "Accept-Encoding",
		"x-content-type-options", "nosniff",
		"strict-transport-security", "max-age=63072000; includeSubDomains; preload",
		"alt-svc", `h3=":443"; ma=86400`,
	)
)

// xnetBlock encodes fields with x/net's Encoder (the reference peer).
// Writing to a bytes.Buffer cannot fail.
func xnetBlock(enc *hpack.Encoder, buf *bytes.Buffer, fields []hpack.HeaderField) []byte {
	buf.Reset()
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			panic(err)
		}
	}
	return bytes.Clone(buf.Bytes())
}

// ourBlock encodes fields with our Encoder.
func ourBlock(enc *Encoder, fields []hpack.HeaderField) []byte {
	var b []byte
	for _, f := range fields {
		b = enc.AppendField(b, []byte(f.Name), []byte(f.Value), f.Sensitive)
	}
	return b
}

// decodeBlock runs one block through d in the given fragments.
func decodeBlock(d *Decoder, fragments ...[]byte) ([]Field, LimitKind, error) {
	d.Begin()
	for _, f := range fragments {
		if err := d.Write(f); err != nil {
			return nil, LimitNone, err
		}
	}
	return d.End()
}

// equalFields compares decoded fields, sensitivity included, with the
// expected list (see withSensitive for what our Encoder adds).
func equalFields(got []Field, want []hpack.HeaderField) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d fields, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i := range got {
		if string(got[i].Name) != want[i].Name || string(got[i].Value) != want[i].Value {
			return fmt.Errorf("field %d: got %q: %q, want %q: %q", i, got[i].Name, got[i].Value, want[i].Name, want[i].Value)
		}
		if got[i].Sensitive != want[i].Sensitive {
			return fmt.Errorf("field %d (%s): sensitive %v, want %v", i, want[i].Name, got[i].Sensitive, want[i].Sensitive)
		}
	}
	return nil
}

func dump(fs []Field) string {
	var sb strings.Builder
	for _, f := range fs {
		sb.WriteString("  " + f.String() + "\n")
	}
	return sb.String()
}

// wantAnyCompressionError fails unless err is a COMPRESSION_ERROR
// connection error.
func wantAnyCompressionError(t testing.TB, err error) {
	t.Helper()
	var ce *frame.ConnError
	if !errors.As(err, &ce) || ce.Code != frame.CompressionError {
		t.Fatalf("got %v (%T), want COMPRESSION_ERROR", err, err)
	}
}

// wantCompressionError fails unless err is a COMPRESSION_ERROR connection
// error with the given reason.
func wantCompressionError(t testing.TB, err error, reason string) {
	t.Helper()
	var ce *frame.ConnError
	if !errors.As(err, &ce) || ce.Code != frame.CompressionError {
		t.Fatalf("got %v (%T), want COMPRESSION_ERROR", err, err)
	}
	if ce.Reason != reason {
		t.Fatalf("got reason %q, want %q", ce.Reason, reason)
	}
}

// withSensitive returns fields with Sensitive set as our Encoder sets it.
func withSensitive(fields []hpack.HeaderField) []hpack.HeaderField {
	out := make([]hpack.HeaderField, len(fields))
	for i, f := range fields {
		f.Sensitive = f.Sensitive || isSensitive([]byte(f.Name), []byte(f.Value))
		out[i] = f
	}
	return out
}
