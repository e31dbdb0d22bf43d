package bufpool

import "sync"

// Slices recycles the backing arrays of []T scratch slices between
// connections, so that a connection can give its scratch back when it
// goes idle (an idle connection should hold no scratch) and take one
// again on its next burst without allocating.
//
// Put and Get allocate nothing in steady state: a slice travels in a
// holder (*[]T), and emptied holders are recycled too. Slices above
// MaxCap are dropped rather than kept, so one burst cannot pin a large
// array in the pool.
type Slices[T any] struct {
	// MaxCap bounds the capacity of a slice Put keeps (0: no bound).
	MaxCap int
	// Plain: T holds no pointers, so Put need not clear the elements.
	Plain   bool
	full    sync.Pool // *[]T holding a slice
	holders sync.Pool // *[]T holding nil
}

// Get returns an empty slice, with some capacity when one was put back.
func (p *Slices[T]) Get() []T {
	h, _ := p.full.Get().(*[]T)
	if h == nil {
		return nil
	}
	s := (*h)[:0]
	*h = nil
	p.holders.Put(h)
	return s
}

// Put gives s's backing array to the pool. The caller must not use s
// again. Its elements are cleared so the pool pins nothing they point to.
func (p *Slices[T]) Put(s []T) {
	if cap(s) == 0 || p.MaxCap > 0 && cap(s) > p.MaxCap {
		return
	}
	if !p.Plain {
		clear(s[:cap(s)])
	}
	h, _ := p.holders.Get().(*[]T)
	if h == nil {
		h = new([]T)
	}
	*h = s[:0]
	p.full.Put(h)
}
