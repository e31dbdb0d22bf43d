package bufpool

import "testing"

func TestSlicesRecycleAndClear(t *testing.T) {
	var p Slices[*int]
	if s := p.Get(); s != nil {
		t.Fatalf("empty pool gave %v", s)
	}
	x := 1
	s := append(p.Get(), &x, &x)
	p.Put(s)
	got := p.Get()
	// sync.Pool may drop entries (GC); when it kept the slice it must be
	// empty and cleared, so the pool pins nothing.
	if got != nil {
		if len(got) != 0 {
			t.Fatalf("recycled slice has %d elements", len(got))
		}
		for _, v := range got[:cap(got)] {
			if v != nil {
				t.Fatal("recycled slice still points at its old elements")
			}
		}
	}
}

func TestSlicesDropsLargeOnes(t *testing.T) {
	p := Slices[byte]{MaxCap: 8}
	p.Put(make([]byte, 0, 9))
	if s := p.Get(); s != nil {
		t.Fatalf("a slice above MaxCap came back (cap %d)", cap(s))
	}
}

func TestSlicesSteadyStateAllocatesNothing(t *testing.T) {
	var p Slices[int]
	p.Put(make([]int, 0, 4))
	n := testing.AllocsPerRun(1000, func() {
		s := p.Get()
		if s == nil {
			s = make([]int, 0, 4)
		}
		p.Put(append(s, 1))
	})
	if n > 0.1 { // a GC may empty the pool once in a while
		t.Fatalf("%v allocations per Get/Put", n)
	}
}
