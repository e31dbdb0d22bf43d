package backend

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// Policy is a load-balancing algorithm.
type Policy uint8

// Load-balancing policies (config key load_balancing).
const (
	RoundRobin  Policy = iota // weighted round robin (smooth, precomputed schedule)
	Random                    // weighted random
	LeastLoaded               // fewest in-flight requests per unit of weight
	PowerOfTwo                // two weighted random picks, the less loaded wins
)

func (p Policy) String() string {
	switch p {
	case RoundRobin:
		return "round_robin"
	case Random:
		return "random"
	case LeastLoaded:
		return "least_loaded"
	case PowerOfTwo:
		return "power_of_two"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy maps the config spelling to a Policy.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "round_robin":
		return RoundRobin, nil
	case "random":
		return Random, nil
	case "least_loaded":
		return LeastLoaded, nil
	case "power_of_two":
		return PowerOfTwo, nil
	}
	return 0, fmt.Errorf("unknown load_balancing %q", s)
}

// balancer picks among an immutable set of backends. Only the backends'
// own atomics change while it is in use, so picks take no lock.
type balancer struct {
	policy   Policy
	backends []*Backend
	schedule []uint16 // round robin: backend indexes in smooth weighted order
	cursor   atomic.Uint64
}

func newBalancer(p Policy, bs []*Backend) *balancer {
	lb := &balancer{policy: p, backends: bs}
	if p == RoundRobin {
		lb.schedule = smoothSchedule(bs)
	}
	return lb
}

// smoothSchedule precomputes nginx-style smooth weighted round robin: the
// sequence spreads a heavy backend's turns instead of bunching them. Weights
// are reduced by their gcd and the sequence capped so a pathological weight
// set cannot make it huge.
func smoothSchedule(bs []*Backend) []uint16 {
	if len(bs) == 0 {
		return nil
	}
	w := make([]int, len(bs))
	g := 0
	for i, b := range bs {
		w[i] = b.Weight()
		if w[i] > 0 {
			g = gcd(g, w[i])
		}
	}
	if g == 0 { // every weight is zero: plain rotation, Up() filters
		s := make([]uint16, len(bs))
		for i := range s {
			s[i] = uint16(i)
		}
		return s
	}
	total := 0
	for i := range w {
		w[i] /= g
		total += w[i]
	}
	const maxLen = 4096
	for total > maxLen { // scale down, keeping every positive weight >= 1
		total = 0
		for i := range w {
			if w[i] > 1 {
				w[i] = (w[i] + 1) / 2
			}
			total += w[i]
		}
	}
	cur := make([]int, len(bs))
	s := make([]uint16, 0, total)
	for range total {
		best := -1
		for i := range w {
			if w[i] == 0 {
				continue
			}
			cur[i] += w[i]
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		s = append(s, uint16(best))
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pick chooses a backend that is up and not in exclude, or nil.
func (lb *balancer) pick(exclude []*Backend) *Backend {
	bs := lb.backends
	if len(bs) == 0 {
		return nil
	}
	ok := func(b *Backend) bool { return b.Up() && !contains(exclude, b) }
	switch lb.policy {
	case RoundRobin:
		n := uint64(len(lb.schedule))
		start := lb.cursor.Add(1) - 1
		for i := range n {
			if b := bs[lb.schedule[(start+i)%n]]; ok(b) {
				return b
			}
		}
		return nil
	case Random:
		return lb.weightedRandom(ok)
	case LeastLoaded:
		return lb.leastLoaded(ok)
	case PowerOfTwo:
		a := lb.weightedRandom(ok)
		if a == nil {
			return nil
		}
		b := lb.weightedRandom(func(x *Backend) bool { return x != a && ok(x) })
		if b == nil || loadOf(a) <= loadOf(b) {
			return a
		}
		return b
	}
	return nil
}

// loadOf is in-flight requests per unit of weight, compared by cross
// multiplication to stay in integers.
func loadOf(b *Backend) float64 {
	w := b.Weight()
	if w <= 0 {
		w = 1
	}
	return float64(b.Active()) / float64(w)
}

func (lb *balancer) weightedRandom(ok func(*Backend) bool) *Backend {
	total := 0
	for _, b := range lb.backends {
		if ok(b) {
			total += b.Weight()
		}
	}
	if total <= 0 {
		return nil
	}
	r := rand.IntN(total)
	for _, b := range lb.backends {
		if !ok(b) {
			continue
		}
		if r -= b.Weight(); r < 0 {
			return b
		}
	}
	return nil
}

func (lb *balancer) leastLoaded(ok func(*Backend) bool) *Backend {
	n := uint64(len(lb.backends))
	start := lb.cursor.Add(1) - 1 // rotate the tie-break so equal loads alternate
	var best *Backend
	var bestLoad float64
	for i := range n {
		b := lb.backends[(start+i)%n]
		if !ok(b) {
			continue
		}
		if l := loadOf(b); best == nil || l < bestLoad {
			best, bestLoad = b, l
		}
	}
	return best
}

func contains(list []*Backend, b *Backend) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}
