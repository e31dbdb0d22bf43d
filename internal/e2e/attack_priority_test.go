package e2e

import (
	"runtime"
	"testing"

	"golang.org/x/net/http2"
)

// TestAttackPriorityFlood: RFC 7540 PRIORITY frames (which sluice
// ignores: it announces SETTINGS_NO_RFC7540_PRIORITIES) and RFC 9218
// PRIORITY_UPDATE frames for streams that do not exist yet, half a
// million of each. Memory stays bounded (DESIGN.md 3.7: at most 4,096
// remembered priorities, and only for ids a little above the last
// stream), the extra signals are dropped and counted, and the connection
// keeps serving requests.
//
// Not parallel: it compares the process's live heap before and after.
func TestAttackPriorityFlood(t *testing.T) {
	at := startAttackTarget(t, nil)
	good := serveGoodClient(t, at.addr)
	a := dialAttacker(t, at.addr, 0)
	a.request(1, "GET", "/good", true)
	if status, _, _ := a.waitStream(1); status != "200" {
		t.Fatalf("first request: %s", status)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 500_000
	b := newBurst()
	for i := uint32(0); i < n; i++ {
		// A dependency tree over idle streams, as RFC 7540 clients built.
		b.fr.WritePriority(1001+2*i, http2.PriorityParam{StreamDep: 1 + 2*(i%500), Weight: uint8(i)})
		// Far-future streams, each a new id (a map that stored them all
		// would hold half a million entries), and a few near ones.
		id := 1001 + 2*i
		if i%100 == 0 {
			id = 3 + 2*(i/100%50)
		}
		b.fr.WritePriorityUpdate(id, "u=0, i")
		if b.buf.Len() > 1<<20 {
			if err := a.send(b); err != nil {
				t.Fatalf("after %d frames: %v", i, err)
			}
		}
	}
	a.send(b)
	a.request(3, "GET", "/good", true)
	if status, body, _ := a.waitStream(3); status != "200" || string(body) != "good" {
		t.Fatalf("request after the flood: %s %q", status, body)
	}
	after := heap()
	if after > before+8<<20 {
		t.Errorf("live heap grew by %d KiB during the flood (from %d KiB)", (after-before)>>10, before>>10)
	}
	t.Logf("live heap: %d KiB before, %d KiB after %d PRIORITY and %d PRIORITY_UPDATE frames", before>>10, after>>10, n, n)
	at.wantMetric(t, n, "sluice_h2_priority_updates_received_total")
	at.wantMetric(t, n-n/100, "sluice_h2_priorities_dropped_total")
	good.check()
}
