package session

import "sync"

// workers run backend exchanges. A goroutine per exchange would start
// with a small stack and grow it (copying it) on every request, since an
// exchange runs deep; a parked worker keeps the stack it grew, and taking
// it costs about what starting a goroutine does. Idle workers are bounded;
// beyond the bound a finished worker exits.
type workers struct {
	mu   sync.Mutex
	idle []*worker
}

type worker struct{ jobs chan job }

type job struct {
	st *h2Stream
	s  *h2Session
}

const maxIdleWorkers = 256

var exchangeWorkers workers

// run starts st's exchange on an idle worker, or a new one.
func (w *workers) run(j job) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		wk := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		wk.jobs <- j
		return
	}
	w.mu.Unlock()
	wk := &worker{jobs: make(chan job, 1)}
	go wk.loop(w, j)
}

func (wk *worker) loop(w *workers, j job) {
	for {
		j.st.run(j.s.env.timeouts())
		j.s.exchRuns.Done()
		w.mu.Lock()
		if len(w.idle) >= maxIdleWorkers {
			w.mu.Unlock()
			return
		}
		w.idle = append(w.idle, wk)
		w.mu.Unlock()
		j = <-wk.jobs
	}
}
