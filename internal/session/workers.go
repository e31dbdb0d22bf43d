package session

import (
	"sync"
	"time"
)

// workers run backend exchanges. A goroutine per exchange would start
// with a small stack and grow it (copying it, unwinding every frame) on
// every request, since an exchange runs deep; a parked worker keeps the
// stack it grew, and taking it costs about what starting a goroutine does.
//
// How many idle workers to keep follows the load: as many as recent peaks
// needed. A fixed bound below the concurrency of a busy listener made the
// workers above it exit and be started again all the time, each growing
// its stack anew (a 16-connection x 32-stream load to an HTTP/2 backend
// spent 6.6% of its CPU in copystack with a bound of 256). Instead, every
// workerTrimEvery, the idle workers that were not needed during the whole
// interval (the low-water mark of the idle stack) exit, down to
// minIdleWorkers. Under steady load the low-water mark over a second is
// near zero, so workers stay; after a burst (a few KiB of stack each) the
// pool shrinks back within two seconds, so the memory of a peak does not
// linger beside thousands of idle connections.
type workers struct {
	do func(job) // runs one job (runExchange; tests substitute theirs)

	mu      sync.Mutex
	idle    []*worker // LIFO: the most recently used on top, warm
	lowIdle int       // fewest idle workers since the last trim
	trim    *time.Timer
	armed   bool
}

type worker struct{ jobs chan job }

type job struct {
	st *h2Stream // nil: the worker is to exit (trim)
	s  *h2Session
}

const (
	// minIdleWorkers are kept however long they idle.
	minIdleWorkers = 64
	// maxIdleWorkers bounds the idle stack whatever the peak was.
	maxIdleWorkers = 8192
	// workerTrimEvery is how often unneeded idle workers exit.
	workerTrimEvery = time.Second
)

var exchangeWorkers = workers{do: runExchange}

func runExchange(j job) {
	j.st.run(j.s.env.timeouts())
	j.s.exchRuns.Done()
}

// run starts j on an idle worker, or a new one.
func (w *workers) run(j job) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		wk := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.lowIdle = min(w.lowIdle, n-1)
		w.mu.Unlock()
		wk.jobs <- j
		return
	}
	w.lowIdle = 0
	w.mu.Unlock()
	wk := &worker{jobs: make(chan job, 1)}
	go wk.loop(w, j)
}

func (wk *worker) loop(w *workers, j job) {
	for {
		w.do(j)
		if !w.park(wk) {
			return
		}
		if j = <-wk.jobs; j.st == nil {
			return
		}
	}
}

// park puts a worker that finished its job on the idle stack; false when
// the stack is full and the worker is to exit.
func (w *workers) park(wk *worker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.idle) >= maxIdleWorkers {
		return false
	}
	w.idle = append(w.idle, wk)
	if len(w.idle) > minIdleWorkers && !w.armed {
		w.armed = true
		if w.trim == nil {
			w.trim = time.AfterFunc(workerTrimEvery, w.trimIdle)
		} else {
			w.trim.Reset(workerTrimEvery)
		}
	}
	return true
}

// trimIdle lets the workers that stayed idle through the last interval
// exit (the bottom of the stack: the least recently used), keeping
// minIdleWorkers, and rearms while more than that are idle.
func (w *workers) trimIdle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(w.lowIdle, len(w.idle)-minIdleWorkers)
	if n > 0 {
		for i, wk := range w.idle[:n] {
			wk.jobs <- job{} // idle: its channel is empty
			w.idle[i] = nil
		}
		w.idle = append(w.idle[:0], w.idle[n:]...)
		clear(w.idle[len(w.idle):cap(w.idle)])
	}
	w.lowIdle = len(w.idle)
	w.armed = len(w.idle) > minIdleWorkers
	if w.armed {
		w.trim.Reset(workerTrimEvery)
	}
}

// idleCount is the number of idle workers (tests).
func (w *workers) idleCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.idle)
}
