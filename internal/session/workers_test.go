package session

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestWorkersFollowTheLoad checks the idle-worker rule: workers a peak
// started stay parked while they may be needed again (no exit and
// restart, which regrows their stacks), and those not needed during a
// whole trim interval exit, down to minIdleWorkers.
func TestWorkersFollowTheLoad(t *testing.T) {
	var (
		release = make(chan struct{})
		started sync.WaitGroup
		done    sync.WaitGroup
	)
	w := &workers{do: func(job) {
		started.Done()
		<-release
		done.Done()
	}}
	before := runtime.NumGoroutine()
	const peak = 300
	started.Add(peak)
	done.Add(peak)
	for range peak {
		w.run(job{st: &h2Stream{}})
	}
	started.Wait()
	close(release)
	done.Wait()
	waitFor(t, func() bool { return w.idleCount() == peak }, "every worker of the peak parked")

	// A second peak of the same size reuses them all: nothing new starts.
	release = make(chan struct{})
	started.Add(peak)
	done.Add(peak)
	for range peak {
		w.run(job{st: &h2Stream{}})
	}
	started.Wait()
	if n := runtime.NumGoroutine() - before; n > peak+1 {
		t.Errorf("%d goroutines for a second peak of %d: workers were not reused", n, peak)
	}
	close(release)
	done.Wait()
	waitFor(t, func() bool { return w.idleCount() == peak }, "the workers parked again")

	// The first trim after activity keeps what the interval needed.
	w.trimIdle()
	if n := w.idleCount(); n != peak {
		t.Fatalf("after a busy interval %d idle workers, want %d kept", n, peak)
	}
	// An interval without work lets the unneeded ones go.
	w.trimIdle()
	if n := w.idleCount(); n != minIdleWorkers {
		t.Fatalf("after an idle interval %d idle workers, want %d", n, minIdleWorkers)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine()-before <= minIdleWorkers }, "trimmed workers exited")
	w.trimIdle()
	if n := w.idleCount(); n != minIdleWorkers {
		t.Fatalf("trimmed below the minimum: %d idle workers", n)
	}
	w.mu.Lock()
	armed := w.armed
	w.mu.Unlock()
	if armed {
		t.Error("trim timer still armed at the minimum")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
