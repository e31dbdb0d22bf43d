// Package gopool runs short pieces of work on parked goroutines that keep
// the stacks they grew.
//
// A goroutine starts with a small stack and grows it by copying (unwinding
// and relocating every frame) when a call chain runs deep, as an HTTP/2
// session owner, a TLS decrypt or a backend exchange does. A goroutine per
// piece of work pays that growth every time; a parked goroutine that is
// handed the next piece does not, and handing it over costs about what
// starting a goroutine does.
//
// How many idle goroutines a pool keeps follows the load: as many as recent
// peaks needed. A fixed bound below the concurrency of a busy listener made
// the goroutines above it exit and be started again all the time, each
// growing its stack anew (a 16-connection x 32-stream load to an HTTP/2
// backend spent 6.6% of its CPU in copystack with a bound of 256). Instead,
// every TrimEvery, the idle goroutines that were not needed during the
// whole interval (the low-water mark of the idle stack) exit, down to
// MinIdle. Under steady load the low-water mark over an interval is near
// zero, so they stay; after a burst (a few KiB of stack each) the pool
// shrinks back within two intervals, so the memory of a peak does not
// linger beside thousands of idle connections.
//
// Work that waits for long (an idle connection's read) must not run on a
// pool: the goroutine would hold its grown stack all that time. Wait on a
// fresh goroutine and hand the work that follows the wait to a pool.
package gopool

import (
	"sync"
	"time"
)

const (
	// MinIdle idle goroutines are kept however long they idle.
	MinIdle = 64
	// MaxIdle bounds the idle stack whatever the peak was.
	MaxIdle = 8192
	// TrimEvery is how often unneeded idle goroutines exit.
	TrimEvery = time.Second
)

// Pool runs jobs of type J with Do on parked goroutines. The zero value
// with Do set is ready to use.
type Pool[J any] struct {
	Do func(J) // runs one job

	mu      sync.Mutex
	idle    []*worker[J] // LIFO: the most recently used on top, warm
	lowIdle int          // fewest idle goroutines since the last trim
	trim    *time.Timer
	armed   bool
}

type worker[J any] struct{ jobs chan task[J] }

type task[J any] struct {
	j    J
	exit bool // trimmed: the goroutine is to return
}

// Run starts j on an idle goroutine, or a new one. It never blocks.
func (p *Pool[J]) Run(j J) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		wk := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.lowIdle = min(p.lowIdle, n-1)
		p.mu.Unlock()
		wk.jobs <- task[J]{j: j} // capacity 1, and an idle worker's is empty
		return
	}
	p.lowIdle = 0
	p.mu.Unlock()
	wk := &worker[J]{jobs: make(chan task[J], 1)}
	go wk.loop(p, j)
}

func (wk *worker[J]) loop(p *Pool[J], j J) {
	var zero J
	for {
		p.Do(j)
		j = zero // hold nothing of the last job while parked
		if !p.park(wk) {
			return
		}
		t := <-wk.jobs
		if t.exit {
			return
		}
		j = t.j
	}
}

// park puts a goroutine that finished its job on the idle stack; false
// when the stack is full and the goroutine is to exit.
func (p *Pool[J]) park(wk *worker[J]) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= MaxIdle {
		return false
	}
	p.idle = append(p.idle, wk)
	if len(p.idle) > MinIdle && !p.armed {
		p.armed = true
		if p.trim == nil {
			p.trim = time.AfterFunc(TrimEvery, p.Trim)
		} else {
			p.trim.Reset(TrimEvery)
		}
	}
	return true
}

// Trim lets the goroutines that stayed idle through the last interval exit
// (the bottom of the stack: the least recently used), keeping MinIdle, and
// rearms while more than that are idle. A timer calls it; tests may too.
func (p *Pool[J]) Trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(p.lowIdle, len(p.idle)-MinIdle)
	if n > 0 {
		for i, wk := range p.idle[:n] {
			wk.jobs <- task[J]{exit: true}
			p.idle[i] = nil
		}
		p.idle = append(p.idle[:0], p.idle[n:]...)
		clear(p.idle[len(p.idle):cap(p.idle)])
	}
	p.lowIdle = len(p.idle)
	p.armed = len(p.idle) > MinIdle
	if p.armed {
		if p.trim == nil {
			p.trim = time.AfterFunc(TrimEvery, p.Trim)
		} else {
			p.trim.Reset(TrimEvery)
		}
	}
}

// Idle is the number of parked goroutines.
func (p *Pool[J]) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

var funcs = Pool[func()]{Do: func(f func()) { f() }}

// Go runs f on a parked goroutine of a process-wide pool, or a new one.
// Pass a func value made once (a method value kept in a struct field):
// making a closure per call allocates.
func Go(f func()) { funcs.Run(f) }
