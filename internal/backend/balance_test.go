package backend

import (
	"slices"
	"testing"
)

// backends makes backends with the given weights (ids "b0", "b1", ...).
func backends(weights ...int) []*Backend {
	bs := make([]*Backend, len(weights))
	for i, w := range weights {
		bs[i] = NewBackend("c", "b"+string(rune('0'+i)), "127.0.0.1:1", w, Options{})
	}
	return bs
}

func TestSmoothSchedule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
		want    []uint16
	}{
		{"single", []int{7}, []uint16{0}},
		{"equal weights reduce to one round", []int{100, 100}, []uint16{0, 1}},
		// nginx's classic example: the heavy backend's turns are spread.
		{"nginx 5:1:1", []int{5, 1, 1}, []uint16{0, 0, 1, 0, 2, 0, 0}},
		{"3:1", []int{300, 100}, []uint16{0, 0, 1, 0}},
		{"zero weight never scheduled", []int{3, 0, 1}, []uint16{0, 0, 2, 0}},
		{"all zero: plain rotation", []int{0, 0, 0}, []uint16{0, 1, 2}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := smoothSchedule(backends(tc.weights...)); !slices.Equal(got, tc.want) {
				t.Fatalf("smoothSchedule(%v) = %v, want %v", tc.weights, got, tc.want)
			}
		})
	}
}

// TestSmoothScheduleProportions: over one schedule each backend appears in
// proportion to its (gcd-reduced) weight, and a pathological weight set is
// capped yet keeps every positive weight.
func TestSmoothScheduleProportions(t *testing.T) {
	s := smoothSchedule(backends(6, 4, 2))
	if n := []int{count16(s, 0), count16(s, 1), count16(s, 2)}; !slices.Equal(n, []int{3, 2, 1}) {
		t.Fatalf("counts %v, want [3 2 1]", n)
	}
	big := smoothSchedule(backends(1000, 999, 998, 997, 996, 1))
	if len(big) > 4096 {
		t.Fatalf("schedule of %d entries, want at most 4096", len(big))
	}
	for i := range 6 {
		if count16(big, uint16(i)) == 0 {
			t.Fatalf("backend %d lost its turn in the capped schedule", i)
		}
	}
}

func count16(s []uint16, v uint16) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestPickRoundRobin(t *testing.T) {
	bs := backends(1, 1, 1)
	lb := newBalancer(RoundRobin, bs)
	var got []*Backend
	for range 6 {
		got = append(got, lb.pick(nil))
	}
	want := []*Backend{bs[0], bs[1], bs[2], bs[0], bs[1], bs[2]}
	if !slices.Equal(got, want) {
		t.Fatalf("round robin order wrong")
	}
	// Excluded and down backends are skipped.
	bs[1].MarkDown()
	for range 6 {
		if b := lb.pick([]*Backend{bs[0]}); b != bs[2] {
			t.Fatalf("picked %s, want b2 (b0 excluded, b1 down)", b.ID)
		}
	}
	bs[2].SetWeight(0)
	if b := lb.pick([]*Backend{bs[0]}); b != nil {
		t.Fatalf("picked %s with nothing eligible", b.ID)
	}
}

func TestPickRandomWeighted(t *testing.T) {
	bs := backends(300, 100, 0)
	lb := newBalancer(Random, bs)
	n := map[*Backend]int{}
	for range 4000 {
		n[lb.pick(nil)]++
	}
	// Binomial(4000, 3/4): mean 3000, sd 27; the window is 10 sd wide.
	if n[bs[0]] < 2730 || n[bs[0]] > 3270 || n[bs[2]] != 0 || n[nil] != 0 {
		t.Fatalf("counts b0=%d b1=%d b2=%d nil=%d", n[bs[0]], n[bs[1]], n[bs[2]], n[nil])
	}
	if b := lb.pick([]*Backend{bs[0], bs[1]}); b != nil {
		t.Fatalf("picked %s with only a weight-0 backend left", b.ID)
	}
}

func TestPickLeastLoaded(t *testing.T) {
	bs := backends(100, 100, 200)
	lb := newBalancer(LeastLoaded, bs)
	bs[0].acquire()
	bs[0].acquire()
	bs[1].acquire()
	bs[2].acquire()
	bs[2].acquire()
	// Loads per weight: b0 2/100, b1 1/100, b2 2/200 = 1/100. b1 and b2
	// tie; the rotating tie-break serves both, never b0.
	seen := map[*Backend]int{}
	for range 10 {
		seen[lb.pick(nil)]++
	}
	if seen[bs[0]] != 0 || seen[bs[1]] == 0 || seen[bs[2]] == 0 {
		t.Fatalf("picks b0=%d b1=%d b2=%d", seen[bs[0]], seen[bs[1]], seen[bs[2]])
	}
	bs[1].acquire()
	for range 5 {
		if b := lb.pick(nil); b != bs[2] {
			t.Fatalf("picked %s, want the least loaded b2", b.ID)
		}
	}
	for _, b := range bs {
		for b.Active() > 0 {
			b.release()
		}
	}
}

func TestPickPowerOfTwo(t *testing.T) {
	bs := backends(100, 100)
	lb := newBalancer(PowerOfTwo, bs)
	bs[0].acquire()
	defer bs[0].release()
	// With two candidates both are always drawn: the idle one wins.
	for range 50 {
		if b := lb.pick(nil); b != bs[1] {
			t.Fatalf("picked %s, want b1", b.ID)
		}
	}
	// With the idle one excluded, the busy one is still chosen.
	if b := lb.pick([]*Backend{bs[1]}); b != bs[0] {
		t.Fatalf("picked %v with b1 excluded", b)
	}
	bs[0].MarkDown()
	if b := lb.pick([]*Backend{bs[1]}); b != nil {
		t.Fatalf("picked %s with nothing eligible", b.ID)
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{RoundRobin, Random, LeastLoaded, PowerOfTwo} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if p, err := ParsePolicy(""); err != nil || p != RoundRobin {
		t.Errorf("empty policy: %v %v", p, err)
	}
	if _, err := ParsePolicy("fastest"); err == nil {
		t.Error("unknown policy accepted")
	}
}

func BenchmarkPick(b *testing.B) {
	for _, p := range []Policy{RoundRobin, Random, LeastLoaded, PowerOfTwo} {
		b.Run(p.String(), func(b *testing.B) {
			lb := newBalancer(p, backends(100, 200, 300, 100))
			b.ReportAllocs()
			for b.Loop() {
				if lb.pick(nil) == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}
