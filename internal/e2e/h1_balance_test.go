package e2e

// Load balancing end to end (issue 2 item 7): the policies, with weights,
// measured by which backend answered.

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// balanceConfig is a cluster "app" with the given policy and two backends
// A and B of the given weights.
func balanceConfig(policy string, wa, wb int) string {
	return `
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
load_balancing = "` + policy + `"
frontends = [ { address = "@L1@", hostname = "127.0.0.1" } ]
backends = [
  { address = "@A@", id = "A", weight = ` + strconv.Itoa(wa) + ` },
  { address = "@B@", id = "B", weight = ` + strconv.Itoa(wb) + ` },
]
`
}

// sequence sends n sequential requests and returns who answered each.
func sequence(t *testing.T, s *Sluice, n int) []string {
	t.Helper()
	c := newClient(t)
	out := make([]string, n)
	for i := range out {
		code, body, _ := get(t, c, "http://"+s.Addr("@L1@")+"/")
		if code != 200 {
			t.Fatalf("request %d: status %d", i, code)
		}
		out[i] = body
	}
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestH1BalanceRoundRobinAlternates(t *testing.T) {
	a, b := namedBackend(t, "A"), namedBackend(t, "B")
	s := Start(t, balanceConfig("round_robin", 100, 100), map[string]string{"A": a.Addr, "B": b.Addr})
	got := sequence(t, s, 20)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("round robin repeated a backend: %v", got)
		}
	}
}

func TestH1BalanceRoundRobinWeights(t *testing.T) {
	a, b := namedBackend(t, "A"), namedBackend(t, "B")
	s := Start(t, balanceConfig("round_robin", 300, 100), map[string]string{"A": a.Addr, "B": b.Addr})
	got := sequence(t, s, 400)
	// Smooth weighted round robin is exact over whole cycles.
	if na := count(got, "A"); na != 300 {
		t.Fatalf("A served %d of 400 with weights 3:1, want 300", na)
	}
	// And smooth: B never waits more than 3 turns.
	run := 0
	for _, v := range got {
		if v == "A" {
			if run++; run > 3 {
				t.Fatalf("A served %d in a row: not smooth", run)
			}
		} else {
			run = 0
		}
	}
}

func TestH1BalanceRandomWeights(t *testing.T) {
	a, b := namedBackend(t, "A"), namedBackend(t, "B")
	s := Start(t, balanceConfig("random", 300, 100), map[string]string{"A": a.Addr, "B": b.Addr})
	got := sequence(t, s, 400)
	// Binomial(400, 3/4): mean 300, sd 8.7. The window is over 6 sd wide.
	if na := count(got, "A"); na < 240 || na > 360 {
		t.Fatalf("A served %d of 400 with weights 3:1, want about 300", na)
	}
}

func TestH1BalanceRandomZeroWeight(t *testing.T) {
	a, b := namedBackend(t, "A"), namedBackend(t, "B")
	s := Start(t, balanceConfig("random", 100, 0), map[string]string{"A": a.Addr, "B": b.Addr})
	if got := sequence(t, s, 50); count(got, "A") != 50 {
		t.Fatalf("a weight-0 backend was picked: %v", got)
	}
}

// loadedPair starts backends A and B (whose /slow requests block until
// release) and sluice over them with policy, and parks one slow request.
// It returns the backend holding it.
func loadedPair(t *testing.T, policy string) (s *Sluice, busy string, release func()) {
	t.Helper()
	hold := make(chan struct{})
	parked := make(chan string, 1)
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				parked <- name
				<-hold
			}
			w.Write([]byte(name))
		}
	}
	a, b := StartBackend(t, handler("A")), StartBackend(t, handler("B"))
	s = Start(t, balanceConfig(policy, 100, 100), map[string]string{"A": a.Addr, "B": b.Addr})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	go func() {
		if resp, err := http.Get("http://" + s.Addr("@L1@") + "/slow"); err == nil {
			readAll(resp)
		}
	}()
	return s, <-parked, release
}

func other(name string) string {
	if name == "A" {
		return "B"
	}
	return "A"
}

func TestH1BalanceLeastLoaded(t *testing.T) {
	s, busy, release := loadedPair(t, "least_loaded")
	defer release()
	if got := sequence(t, s, 20); count(got, other(busy)) != 20 {
		t.Fatalf("least_loaded with %s busy sent %v, want all to %s", busy, got, other(busy))
	}
	if v := s.MetricValue("sluice_backend_requests_active", map[string]string{"backend": busy}); v != 1 {
		t.Errorf("sluice_backend_requests_active{backend=%s} = %v, want 1", busy, v)
	}
}

func TestH1BalancePowerOfTwo(t *testing.T) {
	s, busy, release := loadedPair(t, "power_of_two")
	defer release()
	// With two backends both are always drawn: the less loaded one wins.
	if got := sequence(t, s, 20); count(got, other(busy)) != 20 {
		t.Fatalf("power_of_two with %s busy sent %v, want all to %s", busy, got, other(busy))
	}
}
