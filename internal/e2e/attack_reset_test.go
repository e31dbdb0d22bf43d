package e2e

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Attacks built on RST_STREAM (DESIGN.md 3.7).

// TestAttackRapidReset is CVE-2023-44487: streams opened and reset at
// once, at full speed, before any response could start. The connection
// ends with GOAWAY(ENHANCE_YOUR_CALM) after 50 such resets, and the
// backend sees almost none of the requests: a stream reset in the read
// batch that opened it is never linked to a backend.
func TestAttackRapidReset(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	runs := good.during(4, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		for i := uint32(0); i < 1000; i++ {
			id := 1 + 2*i
			b.headers(id, true, a.reqBlock("GET", "/attack/slow"))
			b.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		a.send(b)
		before, g := a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		if g.LastStreamID > 2*51 {
			t.Errorf("GOAWAY last stream %d: more than 51 streams processed", g.LastStreamID)
		}
		if len(before) > 0 {
			t.Errorf("frames before the GOAWAY: %s", frameSummary(before))
		}
	})
	at.wantFlood(t, "rst_stream_abusive", float64(runs))
	// The backend may see a stream whose HEADERS ended one read and whose
	// RST_STREAM began the next: at most a couple per connection.
	if n := at.attackRequests.Load(); n > int64(2*runs) {
		t.Errorf("the backend saw %d of %d attack requests (%d connections)", n, 1000*runs, runs)
	}
	t.Logf("%d connections, %d attack requests reached the backend", runs, at.attackRequests.Load())
	good.check()
}

// TestAttackMadeYouReset is CVE-2025-8671: valid-looking frames that make
// sluice reset streams, so it does the work a Rapid Reset would while the
// resets are its own. In a loop, stream after stream: a WINDOW_UPDATE of
// 0, DATA over the stream window, a second field block without
// END_STREAM. Each provoked reset is one RST_STREAM with the RFC's code,
// never two on a stream, and the 501st reset sluice emits ends the
// connection.
//
// DATA over the window only provokes a reset when it beats the credit
// sluice returns: a stream already linked to a backend has its body
// consumed and its window reopened, so not every stream of the loop is
// reset. The count that matters is sluice's: exactly 501 resets before
// the GOAWAY.
func TestAttackMadeYouReset(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, func(l *config.Listener) { l.H2InitialWindowSize = 65535 })
	good := serveGoodClient(t, at.addr)
	chunk := make([]byte, 16384)
	kinds := []struct {
		code http2.ErrCode
		data bool
		send func(b *burst, a *attacker, id uint32)
	}{
		{http2.ErrCodeProtocol, false, func(b *burst, _ *attacker, id uint32) { b.fr.WriteWindowUpdate(id, 0) }},
		{http2.ErrCodeFlowControl, true, func(b *burst, _ *attacker, id uint32) {
			// 4 x 16 KiB is one octet over the 65,535-octet window.
			for range 4 {
				b.fr.WriteData(id, false, chunk)
			}
		}},
		{http2.ErrCodeProtocol, false, func(b *burst, a *attacker, id uint32) {
			b.headers(id, false, a.block("x-not-trailers", "1"))
		}},
	}
	runs := good.during(1, func(int) {
		a := dialAttacker(t, at.addr, 0)
		// A reader collects sluice's frames while the loop writes, and
		// counts the connection credit it returns: the attacker respects
		// the connection window (1 MiB), as one that wants to look like
		// a client would.
		var (
			mu      sync.Mutex
			frames  []http2.Frame
			readErr error
		)
		credit := make(chan int64, 1024)
		goaway := make(chan *http2.GoAwayFrame, 1)
		go func() {
			defer close(credit)
			for {
				f, err := a.fr.ReadFrame()
				if err != nil {
					mu.Lock()
					readErr = err
					mu.Unlock()
					return
				}
				f = summarize(f)
				mu.Lock()
				frames = append(frames, f)
				mu.Unlock()
				switch f := f.(type) {
				case *http2.WindowUpdateFrame:
					if f.StreamID == 0 {
						credit <- int64(f.Increment)
					}
				case *http2.GoAwayFrame:
					goaway <- f
				}
			}
		}()
		connWin := int64(1 << 20)
		b := newBurst()
		id := uint32(1)
	loop:
		for i := 0; i < 3000; i++ {
			k := kinds[i%len(kinds)]
			for k.data && connWin < 4*16384 {
				a.send(b)
				select {
				case n, ok := <-credit:
					if !ok {
						break loop
					}
					connWin += n
				case <-time.After(5 * time.Second):
					t.Fatalf("no connection credit back after %d streams", i)
				}
			}
			select {
			case <-goaway:
				goaway <- nil
				break loop
			default:
			}
			if k.data {
				connWin -= 4 * 16384
			}
			b.headers(id, false, a.reqBlock("POST", "/attack/made-you-reset"))
			k.send(b, a, id)
			id += 2
			if b.buf.Len() > 64<<10 {
				if a.send(b) != nil {
					break
				}
			}
		}
		a.send(b)
		select {
		case <-goaway:
		case <-time.After(10 * time.Second):
			t.Fatalf("no GOAWAY after %d streams", id/2)
		}
		for range credit { // until the reader ends: the connection closed
		}
		mu.Lock()
		defer mu.Unlock()
		var g *http2.GoAwayFrame
		resets := map[uint32]int{}
		codes := map[http2.ErrCode]int{}
		for _, f := range frames {
			switch f := f.(type) {
			case *http2.RSTStreamFrame:
				if g != nil {
					t.Fatalf("RST_STREAM after the GOAWAY")
				}
				if resets[f.StreamID]++; resets[f.StreamID] > 1 {
					t.Fatalf("stream %d reset twice", f.StreamID)
				}
				codes[f.ErrCode]++
			case *http2.GoAwayFrame:
				g = f
			}
		}
		if g == nil || g.ErrCode != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM (read ended: %v)", g, readErr)
		}
		if len(resets) != 501 || codes[http2.ErrCodeProtocol] == 0 || codes[http2.ErrCodeFlowControl] == 0 {
			t.Fatalf("%d streams reset (by code %v), want 501 with both codes", len(resets), codes)
		}
	})
	at.wantFlood(t, "rst_stream_emitted", float64(runs))
	good.check()
}
