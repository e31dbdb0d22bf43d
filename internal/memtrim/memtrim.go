// Package memtrim returns to the operating system the heap that a burst
// left behind, once the process has gone quiet.
//
// Go's collector lets the heap grow to twice what was live after the last
// collection before it collects again, and its background scavenger
// returns to the system only what lies beyond that goal. For a proxy
// holding thousands of idle connections that is the wrong trade: a burst
// of TLS handshakes (tens of KiB of garbage each) grows the heap towards
// twice the connections' live state, and the process then idles for hours
// holding the difference: a quarter of its resident memory per idle
// connection, measured. A Trimmer watches the allocation rate and, when
// the process has been quiet for a tick while holding much more heap than
// is live, or quiet for long after allocating much, collects and returns
// the free memory (debug.FreeOSMemory).
//
// The cost is one collection, paid only while quiet: at the low
// allocation rates that allow a trim, it at most doubles how often the
// heap is collected (a trim needs the reclaimable heap to reach half of
// what is live, where the collector's own goal is all of it).
package memtrim

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says when a trim is worth its collection.
type Policy struct {
	// Every is how often the heap is looked at.
	Every time.Duration
	// QuietBytes: at most this many bytes allocated since the last look
	// count as quiet.
	QuietBytes uint64
	// MinReclaim is the least reclaimable heap worth a trim; the bar is
	// also at least half the live heap.
	MinReclaim uint64
	// LongQuiet: after this long quiet, a trim runs if MinReclaim bytes
	// were allocated since the last one, whatever the heap looks like.
	// Memory parked in pools (sync.Pool: buffers of connections that
	// went idle) counts as live until two collections pass, which an
	// idle process does not run.
	LongQuiet time.Duration
}

// DefaultPolicy looks four times a second, calls under 1 MiB per look
// (4 MiB/s) quiet, trims from 16 MiB reclaimable, and after 5 s of quiet.
var DefaultPolicy = Policy{Every: 250 * time.Millisecond, QuietBytes: 1 << 20, MinReclaim: 16 << 20, LongQuiet: 5 * time.Second}

// Sample is what a Trimmer reads of the heap, in bytes.
type Sample struct {
	Allocated uint64 // allocated since the process started
	Live      uint64 // live after the last collection
	Held      uint64 // heap the process holds: objects (live or not yet swept), unused span space, free spans not returned
	Returned  uint64 // heap returned to the system
}

// Reclaimable is the heap held beyond what was live at the last
// collection: garbage, free spans and fragments a collection and a
// scavenge would give back.
func (s Sample) Reclaimable() uint64 {
	if s.Held < s.Live {
		return 0
	}
	return s.Held - s.Live
}

// ShouldTrim decides from the previous and the current sample. floor is
// what was still reclaimable right after the last trim (fragments a trim
// cannot return); only growth beyond it counts, so a fragmented heap is
// not collected over and over.
func (p Policy) ShouldTrim(prev, cur Sample, floor uint64) bool {
	quiet := cur.Allocated-prev.Allocated <= p.QuietBytes
	bar := max(p.MinReclaim, cur.Live/2)
	return quiet && cur.Reclaimable() >= floor+bar
}

var sampleNames = [...]string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// Trimmer applies a Policy to this process's heap.
type Trimmer struct {
	policy  Policy
	samples []metrics.Sample
	prev    Sample
	floor   uint64 // reclaimable right after the last trim
	quiet   time.Duration
	// allocatedAtTrim is Sample.Allocated after the last trim.
	allocatedAtTrim uint64
}

// NewTrimmer returns a Trimmer that has taken its first sample.
func NewTrimmer(p Policy) *Trimmer {
	t := &Trimmer{policy: p, samples: make([]metrics.Sample, len(sampleNames))}
	for i, n := range sampleNames {
		t.samples[i].Name = n
	}
	t.prev = t.read()
	return t
}

func (t *Trimmer) read() Sample {
	metrics.Read(t.samples)
	v := func(i int) uint64 {
		if t.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return t.samples[i].Value.Uint64()
	}
	return Sample{
		Allocated: v(0),
		Live:      v(1),
		Held:      v(2) + v(3) + v(4),
		Returned:  v(5),
	}
}

// Tick looks at the heap once and trims if the policy says so; it reports
// the bytes returned to the system (0: no trim).
func (t *Trimmer) Tick() uint64 {
	cur := t.read()
	trim := t.policy.ShouldTrim(t.prev, cur, t.floor)
	if cur.Allocated-t.prev.Allocated <= t.policy.QuietBytes {
		t.quiet += t.policy.Every
	} else {
		t.quiet = 0
	}
	if t.policy.LongQuiet > 0 && t.quiet >= t.policy.LongQuiet && cur.Allocated-t.allocatedAtTrim >= t.policy.MinReclaim {
		trim = true
	}
	t.prev = cur
	if !trim {
		return 0
	}
	// Two collections: the first moves what pools hold to their victim
	// caches, the second frees it; FreeOSMemory runs the second and
	// returns every free page.
	runtime.GC()
	debug.FreeOSMemory()
	after := t.read()
	t.prev = after // the trim's own allocations do not count against quiet
	t.floor = after.Reclaimable()
	t.allocatedAtTrim = after.Allocated
	t.quiet = 0
	returned := uint64(0)
	if after.Returned > cur.Returned {
		returned = after.Returned - cur.Returned
	}
	trims.Add(1)
	trimmed.Add(returned)
	return returned
}

var (
	trims, trimmed atomic.Uint64
	startOnce      sync.Once
)

// Trims is how many trims this process ran.
func Trims() uint64 { return trims.Load() }

// Trimmed is how many bytes trims returned to the system.
func Trimmed() uint64 { return trimmed.Load() }

// Start runs a Trimmer with DefaultPolicy for the life of the process;
// calls after the first do nothing.
func Start() {
	startOnce.Do(func() {
		t := NewTrimmer(DefaultPolicy)
		go func() {
			for range time.Tick(DefaultPolicy.Every) {
				t.Tick()
			}
		}()
	})
}
