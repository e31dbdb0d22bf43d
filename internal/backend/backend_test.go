package backend

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// value reads a gauge or counter.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// fakeClock is an injected clock that only moves when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestMarkDownBackoff: each consecutive connect failure doubles the time a
// backend stays down, up to the cap; a successful connection resets it.
func TestMarkDownBackoff(t *testing.T) {
	clk := newFakeClock()
	m := metrics.New()
	b := NewBackend("app", "b1", "127.0.0.1:1", 100, Options{
		BackoffMin: time.Second, BackoffMax: 5 * time.Second, Now: clk.Now, Metrics: m,
	})
	set := m.Backend("app", "b1")
	if !b.Up() || value(set.Up) != 1 {
		t.Fatal("a new backend is up")
	}
	for i, down := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		b.MarkDown()
		if b.Up() {
			t.Fatalf("failure %d: still up", i+1)
		}
		if value(set.Up) != 0 {
			t.Fatalf("failure %d: up gauge not 0", i+1)
		}
		clk.Advance(down - time.Millisecond)
		if b.Up() {
			t.Fatalf("failure %d: up before %v", i+1, down)
		}
		clk.Advance(time.Millisecond)
		if !b.Up() {
			t.Fatalf("failure %d: still down after %v", i+1, down)
		}
	}
	if n := value(set.ConnectFail); n != 5 {
		t.Fatalf("connect failures %v, want 5", n)
	}
	// Eligible again is not yet proven up: the gauge says 0 until a
	// connection succeeds.
	if value(set.Up) != 0 {
		t.Fatal("up gauge back to 1 without a successful connection")
	}
	b.markUp()
	if value(set.Up) != 1 {
		t.Fatal("up gauge not 1 after a successful connection")
	}
	// The backoff starts over.
	b.MarkDown()
	clk.Advance(time.Second)
	if !b.Up() {
		t.Fatal("backoff did not reset after recovery")
	}
}

// TestUpWeightAndRetire: weight 0 and retirement take a backend out of
// rotation; weight changes apply live.
func TestUpWeightAndRetire(t *testing.T) {
	b := NewBackend("app", "", "127.0.0.1:1", 0, Options{})
	if b.ID != "127.0.0.1:1" {
		t.Fatalf("default id %q, want the address", b.ID)
	}
	if b.Up() {
		t.Fatal("weight 0 is up")
	}
	b.SetWeight(10)
	if !b.Up() || b.Weight() != 10 {
		t.Fatal("weight change not applied")
	}
	b.Retire()
	if b.Up() {
		t.Fatal("a retired backend is up")
	}
}
