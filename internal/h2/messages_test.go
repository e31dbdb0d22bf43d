package h2

import (
	"slices"
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// HTTP message framing over a stream (RFC 9113 8.1): informational heads,
// trailers in both directions.

func TestRequestTrailers(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields("te", "trailers"))
	st.writeData(1, false, []byte("body"))
	st.writeHeaders(1, true, hf("x-checksum", "abc", "x-n", "2"))
	if got := st.h.trailers[1]; !slices.Equal(got, []string{"x-checksum: abc", "x-n: 2"}) {
		t.Fatalf("trailers %v", got)
	}
	if s := st.stream(1); s.State() != StateHalfClosedRemote {
		t.Fatalf("state %v after trailers", s.State())
	}
	// Trailers over CONTINUATION.
	st.writeHeaders(3, false, postFields())
	block := st.encode(hf("x-a", "1", "x-b", "2"))
	st.feed(frame.AppendHeaders(nil, 3, true, false, block[:2]))
	st.feed(frame.AppendContinuation(nil, 3, true, block[2:]))
	if got := st.h.trailers[3]; len(got) != 2 {
		t.Fatalf("trailers %v", got)
	}
	st.wantNoFrame()
}

func TestRequestTrailersMalformed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fields []string
	}{
		{"pseudo", []string{":path", "/x"}},
		{"uppercase", []string{"X-T", "1"}},
		{"connection_specific", []string{"transfer-encoding", "chunked"}},
		{"value_lf", []string{"x-t", "a\nb"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newServerTester(t)
			st.greet()
			st.writeHeaders(1, false, postFields())
			st.writeHeaders(1, true, hf(tt.fields...))
			st.wantRSTStream(1, frame.ProtocolError)
			if st.h.trailers[1] != nil {
				t.Fatalf("malformed trailers reached the handler")
			}
		})
	}
}

// TestResponseTrailers: WriteTrailers ends the response after its data,
// as a HEADERS with END_STREAM, even when the data waits on a window.
func TestResponseTrailers(t *testing.T) {
	st := newServerTester(t)
	st.greet(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 10})
	st.writeRequest(1)
	st.respond(1, 200, false, "trailer", "grpc-status")
	st.wantStatus(1, "200", false)
	st.queue(1, pattern(25))
	s := st.stream(1)
	st.do(func() {
		if err := st.c.WriteTrailers(s, []Field{{Name: []byte("grpc-status"), Value: []byte("0")}}); err != nil {
			t.Fatal(err)
		}
		// Nothing can follow the trailers.
		if err := st.c.EndStream(s); err != ErrStreamClosed {
			t.Errorf("EndStream after trailers: %v", err)
		}
	})
	if d := st.wantData(1, false); len(d) != 10 {
		t.Fatalf("data %d", len(d))
	}
	st.wantNoFrame() // the trailers wait behind the data
	st.writeWindowUpdate(1, 100)
	if d := st.wantData(1, false); len(d) != 15 {
		t.Fatalf("data %d", len(d))
	}
	if tr := st.wantHeaders(1, true); !slices.Equal(tr, []string{"grpc-status: 0"}) {
		t.Fatalf("trailers %v", tr)
	}
	st.wantClosed(1, frame.NoError)

	// No trailer fields: END_STREAM alone.
	st.writeRequest(3)
	st.respond(3, 200, false)
	st.wantStatus(3, "200", false)
	s3 := st.stream(3)
	st.do(func() { st.c.WriteTrailers(s3, nil) })
	if d := st.wantData(3, true); len(d) != 0 {
		t.Fatalf("data %q", d)
	}
}

// TestInformationalResponses: 1xx heads (100 Continue, 103 Early Hints)
// precede the final head on the same stream (RFC 9113 8.1).
func TestInformationalResponses(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields("expect", "100-continue"))
	st.respond(1, 100, false)
	st.wantStatus(1, "100", false)
	if st.stream(1).HeadersSent() {
		t.Fatalf("a 1xx counted as the final head")
	}
	st.respond(1, 103, false, "link", "</style.css>; rel=preload")
	if f := st.wantStatus(1, "103", false); !contains(f, "link: </style.css>; rel=preload") {
		t.Fatalf("103 head %v", f)
	}
	st.writeData(1, true, []byte("body"))
	st.respond(1, 200, false, "content-length", "2")
	st.wantStatus(1, "200", false)
	if !st.stream(1).HeadersSent() {
		t.Fatalf("final head not recorded")
	}
	st.queue(1, []byte("ok"))
	st.endStream(1)
	st.wantData(1, false)
	st.wantData(1, true)
	st.wantClosed(1, frame.NoError)
}

// TestLargeResponseHead: a head larger than the peer's max frame size is
// split into HEADERS and CONTINUATION frames.
func TestLargeResponseHead(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRequest(1)
	big := string(pattern(40000))
	st.respond(1, 200, true, "x-big", big)
	f := st.wantHeaders(1, true)
	if !contains(f, "x-big: "+big) {
		t.Fatalf("big field lost")
	}
	if st.obs.sent[frame.TypeContinuation] == 0 {
		t.Fatalf("no CONTINUATION used for a 40 KB head")
	}
}

// TestWriteAfterEnd: the handler cannot write on a stream it ended.
func TestWriteAfterEnd(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.respond(1, 204, true)
	st.wantStatus(1, "204", true)
	s := st.stream(1)
	st.do(func() {
		if err := st.c.WriteResponse(s, 200, nil, false); err != ErrStreamClosed {
			t.Errorf("WriteResponse after END_STREAM: %v", err)
		}
		if err := st.c.EndStream(s); err != ErrStreamClosed {
			t.Errorf("EndStream after END_STREAM: %v", err)
		}
	})
	st.wantNoFrame()
}
