package memtrim

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

const mib = 1 << 20

// TestShouldTrim is the policy's table: a trim needs a quiet interval and
// enough reclaimable heap beyond what the last trim left.
func TestShouldTrim(t *testing.T) {
	p := Policy{Every: time.Second, QuietBytes: 1 * mib, MinReclaim: 16 * mib}
	prev := Sample{Allocated: 1000 * mib}
	for _, c := range []struct {
		name  string
		cur   Sample
		floor uint64
		want  bool
	}{
		{"quiet after a burst: heap twice the live size", Sample{Allocated: 1000*mib + 512<<10, Live: 60 * mib, Held: 120 * mib}, 0, true},
		{"still busy", Sample{Allocated: 1010 * mib, Live: 60 * mib, Held: 120 * mib}, 0, false},
		{"quiet, little to reclaim", Sample{Allocated: 1000 * mib, Live: 60 * mib, Held: 80 * mib}, 0, false},
		{"small heap: under MinReclaim", Sample{Allocated: 1000 * mib, Live: 4 * mib, Held: 18 * mib}, 0, false},
		{"small heap: over MinReclaim", Sample{Allocated: 1000 * mib, Live: 4 * mib, Held: 21 * mib}, 0, true},
		{"fragments the last trim left do not count", Sample{Allocated: 1000 * mib, Live: 40 * mib, Held: 70 * mib}, 25 * mib, false},
		{"growth beyond the fragments does", Sample{Allocated: 1000 * mib, Live: 40 * mib, Held: 90 * mib}, 25 * mib, true},
		{"held below live (sampled mid-collection)", Sample{Allocated: 1000 * mib, Live: 60 * mib, Held: 50 * mib}, 0, false},
	} {
		if got := p.ShouldTrim(prev, c.cur, c.floor); got != c.want {
			t.Errorf("%s: ShouldTrim = %v, want %v", c.name, got, c.want)
		}
	}
}

var keep [][]byte

// TestTrimReturnsABurstsGarbage runs the real thing: a burst allocates
// and drops 64 MiB beside 8 MiB kept live, the process goes quiet, and
// the next tick collects and returns the garbage to the system; the tick
// after that, with nothing new, does not collect again.
func TestTrimReturnsABurstsGarbage(t *testing.T) {
	keep = make([][]byte, 0, 1024)
	for range 1024 {
		keep = append(keep, make([]byte, 8<<10))
	}
	runtime.GC()
	tr := NewTrimmer(Policy{Every: time.Second, QuietBytes: 1 * mib, MinReclaim: 16 * mib})

	// The burst: garbage in handshake-sized pieces, with the collector
	// held off so it stays in the heap as it would between collections.
	old := debug.SetGCPercent(-1)
	var sink []byte
	for range 64 << 10 {
		sink = make([]byte, 1<<10)
	}
	_ = sink
	debug.SetGCPercent(old)
	if n := tr.Tick(); n != 0 {
		t.Fatalf("trimmed %d bytes during the burst", n)
	}
	gcs := numGC()
	returned := tr.Tick() // quiet now
	if returned < 32*mib {
		t.Fatalf("quiet tick after a 64 MiB burst returned %d bytes, want at least 32 MiB", returned)
	}
	if numGC() == gcs {
		t.Error("the trim did not collect")
	}
	gcs = numGC()
	if n := tr.Tick(); n != 0 || numGC() != gcs {
		t.Errorf("a second quiet tick trimmed again (%d bytes, %d collections)", n, numGC()-gcs)
	}
	runtime.KeepAlive(keep)
}

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// TestLongQuietEmptiesPools: buffers parked in a sync.Pool count as live,
// so no heap rule sees them; after LongQuiet without allocation, a trim
// runs anyway, and its two collections empty the pool.
func TestLongQuietEmptiesPools(t *testing.T) {
	tr := NewTrimmer(Policy{Every: time.Second, QuietBytes: 1 * mib, MinReclaim: 16 * mib, LongQuiet: 3 * time.Second})
	var pool sync.Pool
	for range 32 {
		pool.Put(make([]byte, mib))
	}
	if n := tr.Tick(); n != 0 {
		t.Fatalf("trimmed while allocating: %d bytes", n)
	}
	for i := 1; i < 3; i++ {
		if n := tr.Tick(); n != 0 {
			t.Fatalf("trimmed after %d quiet ticks, before LongQuiet", i)
		}
	}
	if pool.Get() == nil {
		t.Fatal("the pool was emptied before the trim")
	}
	if n := tr.Tick(); n < 16*mib {
		t.Fatalf("long-quiet trim returned %d bytes, want the pool's 31 MiB", n)
	}
	if pool.Get() != nil {
		t.Error("the pool still holds buffers after the trim")
	}
	if n := tr.Tick(); n != 0 {
		t.Errorf("trimmed again with nothing allocated since: %d bytes", n)
	}
}
