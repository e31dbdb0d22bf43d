package e2e

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Attacks on field blocks (DESIGN.md 3.2, 3.7): HPACK bombs, oversized
// header lists, and field blocks trickled slowly (slow loris on HTTP/2).

// TestAttackHPACKBomb: a few bytes on the wire that decode into a huge
// header list. The client puts one 4 KiB field in its HPACK dynamic
// table, then sends blocks of references to it (one octet each): 20 of
// them are 80 KiB of header list, over the 64 KiB limit; 200 tiny
// literal fields are over the 128-field limit. Each such request is
// answered 431 and never reaches the backend; the decoder stops storing
// fields at the limit, so memory stays bounded; and a client that keeps
// doing it has its connection ended (each counts as a glitch).
func TestAttackHPACKBomb(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	big := strings.Repeat("b", 3800) // the entry (3,838 octets) fits the 4,096-octet table with the request's own
	var refs, fields []string
	for range 20 {
		refs = append(refs, "x-bomb", big)
	}
	for i := range 200 {
		fields = append(fields, "x-f", string(rune('a'+i%26)))
	}
	runs := good.during(2, func(int) {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		// The first request carries the field once: within limits.
		b.headers(1, true, a.reqBlock("GET", "/attack/seed", "x-bomb", big))
		a.send(b)
		if status, _, _ := a.waitStream(1); status != "200" {
			t.Fatalf("seed request: %s", status)
		}
		id := uint32(3)
		for i := 0; i < 100; i++ {
			block := a.reqBlock("GET", "/attack/bomb", refs...)
			if i%2 == 1 {
				// Never indexed: the table keeps the 3,800-octet entry.
				block = a.literalBlock("GET", "/attack/bomb", fields...)
			}
			if i == 0 && len(block) > 100 {
				t.Fatalf("the bomb is %d octets on the wire: not a bomb", len(block))
			}
			b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: len(block) <= 16384})
			if len(block) > 16384 {
				t.Fatalf("block of %d octets", len(block))
			}
			a.send(b)
			if status, _, _ := a.waitStream(id); status != "431" {
				t.Fatalf("bomb %d answered %q, want 431", i, status)
			}
			id += 2
		}
		// The 101st glitch ends the connection.
		b.headers(id, true, a.reqBlock("GET", "/attack/bomb", refs...))
		a.send(b)
		a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
	})
	at.wantFlood(t, "glitches", float64(runs))
	at.wantMetric(t, float64(100*runs), "sluice_default_answers_total", "status", "431", "reason", "request_header_too_large")
	if n := at.attackRequests.Load(); n != int64(runs) {
		t.Errorf("the backend saw %d attack requests, want only the %d seed requests", n, runs)
	}
	good.check()
}

// TestAttackOversizedHeaderList: one request whose header list is over
// SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB) while its encoded block, spread
// over CONTINUATION frames, is under the block cap (Huffman coding
// shrinks it). It is answered 431 (RFC 9113 10.5.1) and the connection
// serves the next request.
func TestAttackOversizedHeaderList(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	good.during(3, func(int) {
		a := dialAttacker(t, at.addr, 0)
		block := a.reqBlock("GET", "/attack/oversized", "x-long", strings.Repeat("a", 80000))
		if len(block) >= 64<<10 || len(block) <= 16384 {
			t.Fatalf("block of %d octets: want 16 KiB..64 KiB", len(block))
		}
		b := newBurst()
		b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:16384], EndStream: true})
		rest := block[16384:]
		for len(rest) > 0 {
			n := min(len(rest), 16384)
			b.fr.WriteContinuation(1, n == len(rest), rest[:n])
			rest = rest[n:]
		}
		a.send(b)
		if status, _, _ := a.waitStream(1); status != "431" {
			t.Fatalf("oversized header list answered %q, want 431", status)
		}
		a.request(3, "GET", "/good", true)
		if status, body, _ := a.waitStream(3); status != "200" || string(body) != "good" {
			t.Fatalf("next request on the connection: %s %q", status, body)
		}
	})
	at.wantMetric(t, 3, "sluice_default_answers_total", "status", "431", "reason", "request_header_too_large")
	if n := at.attackRequests.Load(); n != 0 {
		t.Errorf("the backend saw %d oversized requests", n)
	}
	good.check()
}

// TestAttackH2SlowLoris: HTTP/2 slow loris, bounded by the request
// timeout like HTTP/1.1's. A field block trickled one octet per
// CONTINUATION frame, slowly, stays under the CONTINUATION cap, and no
// other frame may interleave (RFC 9113 6.10): the connection is held
// until the block's deadline ends it with GOAWAY(ENHANCE_YOUR_CALM),
// counted as slow_headers, even on a connection that already served a
// request (whose idle timeout is a minute). The same for a block that
// is never finished. At connection start the connection's own request
// timeout may strike first (GOAWAY NO_ERROR); either way it ends. A
// connection that never sends a request is closed at the request
// timeout, PINGs notwithstanding.
func TestAttackH2SlowLoris(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, func(l *config.Listener) { l.RequestTimeout = 500 * time.Millisecond })
	good := serveGoodClient(t, at.addr)
	// served opens a connection that completed one request.
	served := func(t *testing.T) *attacker {
		a := dialAttacker(t, at.addr, 0)
		a.request(1, "GET", "/good", true)
		if status, _, _ := a.waitStream(1); status != "200" {
			t.Fatalf("first request: %s", status)
		}
		return a
	}
	// trickle sends block one octet per CONTINUATION every 100 ms.
	trickle := func(a *attacker, id uint32, block []byte) {
		b := newBurst()
		b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:1], EndStream: true})
		a.send(b)
		go func() {
			for i := 1; i < 15 && i < len(block); i++ {
				time.Sleep(100 * time.Millisecond)
				b := newBurst()
				b.fr.WriteContinuation(id, false, block[i:i+1])
				if a.send(b) != nil {
					return
				}
			}
		}()
	}
	t.Run("trickle", func(t *testing.T) {
		a := served(t)
		start := time.Now()
		trickle(a, 3, a.reqBlock("GET", "/attack/trickle", "x-slow", strings.Repeat("z", 40)))
		a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		if el := time.Since(start); el < 500*time.Millisecond {
			t.Errorf("closed after %v, before the request timeout", el)
		}
		at.wantFlood(t, "slow_headers", 1)
	})
	t.Run("unfinished", func(t *testing.T) {
		a := served(t)
		b := newBurst()
		b.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: a.reqBlock("GET", "/attack/unfinished"), EndStream: true})
		a.send(b)
		a.wantGoAway(t, http2.ErrCodeEnhanceYourCalm)
		at.wantFlood(t, "slow_headers", 2)
	})
	t.Run("trickle_at_start", func(t *testing.T) {
		a := dialAttacker(t, at.addr, 0)
		trickle(a, 1, a.reqBlock("GET", "/attack/trickle"))
		for {
			f, err := a.fr.ReadFrame()
			if err != nil {
				t.Fatalf("connection ended without GOAWAY: %v", err)
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				if g.ErrCode != http2.ErrCodeEnhanceYourCalm && g.ErrCode != http2.ErrCodeNo {
					t.Fatalf("GOAWAY(%v)", g.ErrCode)
				}
				break
			}
		}
		a.wantClosed(t)
	})
	t.Run("silent", func(t *testing.T) {
		a := dialAttacker(t, at.addr, 0)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i := 0; i < 100; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				b := newBurst()
				b.fr.WritePing(false, [8]byte{byte(i)})
				if a.send(b) != nil {
					return
				}
			}
		}()
		a.wantGoAway(t, http2.ErrCodeNo)
	})
	if n := at.attackRequests.Load(); n != 0 {
		t.Errorf("the backend saw %d requests", n)
	}
	good.check()
}
