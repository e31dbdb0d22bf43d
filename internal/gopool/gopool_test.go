package gopool

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPoolFollowsTheLoad checks the idle rule: goroutines a peak started
// stay parked while they may be needed again (no exit and restart, which
// regrows their stacks), and those not needed during a whole trim interval
// exit, down to MinIdle.
func TestPoolFollowsTheLoad(t *testing.T) {
	var (
		release = make(chan struct{})
		started sync.WaitGroup
		done    sync.WaitGroup
	)
	p := &Pool[int]{Do: func(int) {
		started.Done()
		<-release
		done.Done()
	}}
	before := runtime.NumGoroutine()
	const peak = 300
	started.Add(peak)
	done.Add(peak)
	for i := range peak {
		p.Run(i)
	}
	started.Wait()
	close(release)
	done.Wait()
	waitFor(t, func() bool { return p.Idle() == peak }, "every goroutine of the peak parked")

	// A second peak of the same size reuses them all: nothing new starts.
	release = make(chan struct{})
	started.Add(peak)
	done.Add(peak)
	for i := range peak {
		p.Run(i)
	}
	started.Wait()
	if n := runtime.NumGoroutine() - before; n > peak+1 {
		t.Errorf("%d goroutines for a second peak of %d: parked ones were not reused", n, peak)
	}
	close(release)
	done.Wait()
	waitFor(t, func() bool { return p.Idle() == peak }, "the goroutines parked again")

	// The first trim after activity keeps what the interval needed.
	p.Trim()
	if n := p.Idle(); n != peak {
		t.Fatalf("after a busy interval %d idle goroutines, want %d kept", n, peak)
	}
	// An interval without work lets the unneeded ones go.
	p.Trim()
	if n := p.Idle(); n != MinIdle {
		t.Fatalf("after an idle interval %d idle goroutines, want %d", n, MinIdle)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine()-before <= MinIdle }, "trimmed goroutines exited")
	p.Trim()
	if n := p.Idle(); n != MinIdle {
		t.Fatalf("trimmed below the minimum: %d idle goroutines", n)
	}
	if p.armedForTrim() {
		t.Error("trim timer still armed at the minimum")
	}
}

// TestGoReusesTheParkedGoroutine checks what the pool is for: the next
// piece of work runs on the goroutine that ran the last one (whose stack
// has grown), not on a fresh goroutine.
func TestGoReusesTheParkedGoroutine(t *testing.T) {
	ids := make(chan string, 1)
	record := func() { ids <- goroutineID() }
	Go(record)
	first := <-ids
	for i := range 20 {
		waitFor(t, func() bool { return funcs.Idle() >= 1 }, "the goroutine parked")
		Go(record)
		if id := <-ids; id != first {
			t.Fatalf("run %d on goroutine %s, want the parked %s", i, id, first)
		}
	}
}

// goroutineID is the calling goroutine's number, from its stack header
// ("goroutine 42 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	return f[1]
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

// armedForTrim reports whether the trim timer is pending.
func (p *Pool[J]) armedForTrim() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.armed
}
