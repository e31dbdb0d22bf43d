package h2

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// rapidResetRead is what one Rapid Reset connection sends before the
// abusive-reset limit ends it: the preface and 50 HEADERS + RST_STREAM
// pairs in one read.
func rapidResetRead() []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/attack"}}
	block := func() []byte {
		hb.Reset()
		for _, f := range fields {
			enc.WriteField(f)
		}
		return bytes.Clone(hb.Bytes())
	}
	first, steady := block(), block() // the first indexes the fields; the rest refer to them
	in := append([]byte(frame.ClientPreface), frame.AppendSettings(nil)...)
	for id := StreamID(1); id < 100; id += 2 {
		b := steady
		if id == 1 {
			b = first
		}
		in = frame.AppendHeaders(in, id, true, true, b)
		in = frame.AppendRSTStream(in, id, frame.Cancel)
	}
	return in
}

// BenchmarkRapidResetConnection: the engine's cost of one Rapid Reset
// connection, from NewConn to its 50th reset. Closed streams are handed
// back frame by frame, so the connection reuses one Stream for all 50
// instead of allocating each (what a connection flood of Rapid Resets
// turns into garbage).
func BenchmarkRapidResetConnection(b *testing.B) {
	in := rapidResetRead()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		h := &benchHandler{}
		c := NewConn(Config{Role: Server}, h, nil, time.Now)
		h.c = c
		c.Start()
		if err := c.Feed(in); err != nil {
			b.Fatal(err)
		}
		c.Written(len(c.Pending()))
	}
}

// BenchmarkRapidResetSteady: 49 HEADERS + RST_STREAM pairs on a warm
// connection (limits raised so it lives on): no allocation per stream.
func BenchmarkRapidResetSteady(b *testing.B) {
	full := rapidResetRead()
	// Every pair but the first (which fills the HPACK table) replays
	// as is.
	pairs := full[len(frame.ClientPreface)+frame.HeaderLen:]
	for i := 0; i < 2; i++ {
		_, _, n, _ := frame.Next(pairs, frame.MaxMaxFrameSize)
		pairs = pairs[n:]
	}
	h := &benchHandler{}
	cfg := Config{Role: Server}
	cfg.Flood.RSTStreamAbusiveLifetime = 1 << 30
	cfg.Flood.RSTStreamLifetime = 1 << 30
	cfg.Flood.RSTStreamPerWindow = 1 << 30
	c := NewConn(cfg, h, nil, time.Now)
	h.c = c
	c.Start()
	if err := c.Feed(full); err != nil {
		b.Fatal(err)
	}
	c.Written(len(c.Pending()))
	// Stream ids must grow: rewrite them in place each round.
	next := StreamID(101)
	pairs = bytes.Clone(pairs)
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(pairs); {
			h, _, n, err := frame.Next(pairs[off:], frame.MaxMaxFrameSize)
			if err != nil || n == 0 {
				b.Fatal(err)
			}
			id := next // a pair's HEADERS and RST_STREAM share the id
			if h.Type == frame.TypeRSTStream {
				next += 2
			}
			pairs[off+5], pairs[off+6], pairs[off+7], pairs[off+8] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
			off += n
		}
		if err := c.Feed(pairs); err != nil {
			b.Fatal(err)
		}
		c.Written(len(c.Pending()))
	}
}
