package session

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/metrics"
	"github.com/sluice-proxy/sluice/internal/router"
)

// The simulator (docs/testing.md): one HTTP/2 session driven step by step
// by a seeded scheduler, over an in-memory connection, on a fake clock,
// with a client model (valid or hostile) and backend models; every
// invariant is checked after every step. A failure prints its seed and the
// command that replays it; the same seed replays the same trace.
var (
	simSeeds   = flag.Int("sim.seeds", 300, "simulator: number of seeds to run")
	simFirst   = flag.Int64("sim.first", 1, "simulator: first seed")
	simSeed    = flag.Int64("sim.seed", 0, "simulator: run only this seed (replay)")
	simSteps   = flag.Int("sim.steps", 2500, "simulator: scheduler steps in the active phase of a seed")
	simSoak    = flag.Duration("sim.soak", 0, "simulator: run consecutive seeds for this long and report steps per second")
	simTrace   = flag.Bool("sim.trace", false, "simulator: print every step of the seed")
	simHostile = flag.Int("sim.hostile", 4, "simulator: one seed in N uses the hostile client")
	simH1Back  = flag.Bool("sim.h1back", true, "simulator: seeds 2 and 4 mod 8 run the real HTTP/1.1 backend code against byte-level backend models")
	simH2Back  = flag.Int("sim.h2back", 2, "simulator: one seed in N (and one hostile seed in two) runs the real HTTP/2 backend code against byte-level backend models (0: never)")
	simFront   = flag.String("sim.front", "both", "simulator: the front sessions to run: h2, h1, or both (an HTTP/1.1-front seed for every two HTTP/2-front seeds)")
)

// simWorld is one kind of seed: the front session it runs.
type simWorld struct {
	front string // "h2" or "h1"
	run   func(seed int64, trace bool) *simResult
}

var (
	simH2World = simWorld{"h2", runSim}
	simH1World = simWorld{"h1", func(seed int64, trace bool) *simResult { return runSimH1(seed, trace, false) }}
)

// replay is the command that replays one seed of the world.
func (w simWorld) replay(seed int64) string {
	front := ""
	if w.front == "h1" {
		front = " -sim.front=h1"
	}
	return fmt.Sprintf("go test ./internal/session -run 'TestSim$'%s -sim.seed=%d -sim.trace", front, seed)
}

// check runs one seed and fails the test with its replay command.
func (w simWorld) check(t *testing.T, seed int64, trace bool) *simResult {
	r := w.run(seed, trace)
	if r.err != "" {
		t.Fatalf("%s front, seed %d: %s\nreplay: %s", w.front, seed, r.err, w.replay(seed))
	}
	return r
}

var simMetrics = metrics.New()

// TestSim runs the simulator over a range of seeds (CI runs the default
// range; see docs/testing.md for a soak).
func TestSim(t *testing.T) {
	var worlds []simWorld
	switch *simFront {
	case "h2":
		worlds = []simWorld{simH2World}
	case "h1":
		worlds = []simWorld{simH1World}
	case "both":
		worlds = []simWorld{simH2World, simH1World}
	default:
		t.Fatalf("-sim.front=%q: want h2, h1 or both", *simFront)
	}
	switch {
	case *simSeed != 0:
		// A replay runs one world: the HTTP/2 front unless -sim.front=h1.
		w := worlds[0]
		r := w.check(t, *simSeed, *simTrace)
		t.Logf("%s front, seed %d: %s", w.front, *simSeed, r.summary())
	case *simSoak > 0:
		start := time.Now()
		var total simResult
		seeds := 0
		for seed := *simFirst; time.Since(start) < *simSoak; seed++ {
			for _, w := range worlds {
				total.add(w.check(t, seed, false))
			}
			seeds++
		}
		el := time.Since(start)
		t.Logf("soak: %d seeds (%d to %d), %d steps in %v: %.0f steps/s; %s", seeds, *simFirst, *simFirst+int64(seeds)-1, total.steps, el.Round(time.Second), float64(total.steps)/el.Seconds(), total.summary())
	default:
		n := *simSeeds
		if testing.Short() || raceEnabled && n == 300 {
			// Under the race detector the default run is a smoke test:
			// .ci/run runs the full seed budget without it.
			n = min(n, 60)
		}
		for _, w := range worlds {
			// With both fronts, the HTTP/1.1 front runs half the
			// range (its first seeds, so one in four is hostile): its
			// seeds cost a fifth of the HTTP/2 front's.
			k := n
			if len(worlds) > 1 && w.front == "h1" {
				k = max(1, n/2)
			}
			var total simResult
			for seed := *simFirst; seed < *simFirst+int64(k); seed++ {
				total.add(w.check(t, seed, false))
			}
			t.Logf("%s front, %d seeds: %s", w.front, k, total.summary())
		}
	}
}

type simResult struct {
	err                                           string
	steps, requests, completed, resets, exchanges int
	trace                                         []string
	// The real HTTP/2 backend side (seeds that run it).
	h2Seeds, backConns, refused, goAways, deaths, bodies, badHeads, overruns int
	// The real HTTP/1.1 backend side.
	h1Seeds, h1Conns, h1IdleCloses, h1Requests int
	// The HTTP/1.1 front: seeds, attacks answered, requests left
	// unanswered when the connection ended.
	h1FrontSeeds, h1Rejected, h1Unanswered int
}

func (r *simResult) summary() string {
	s := fmt.Sprintf("%d steps, %d requests, %d complete, %d reset, %d exchanges", r.steps, r.requests, r.completed, r.resets, r.exchanges)
	if r.h2Seeds > 0 {
		s += fmt.Sprintf("; real HTTP/2 backends: %d seeds, %d connections, %d streams refused, %d GOAWAYs, %d connections died, %d request bodies checked, %d malformed response heads, %d window overruns",
			r.h2Seeds, r.backConns, r.refused, r.goAways, r.deaths, r.bodies, r.badHeads, r.overruns)
	}
	if r.h1Seeds > 0 {
		s += fmt.Sprintf("; real HTTP/1.1 backends: %d seeds, %d connections, %d requests received, %d idle connections closed by the backend",
			r.h1Seeds, r.h1Conns, r.h1Requests, r.h1IdleCloses)
	}
	if r.h1FrontSeeds > 0 {
		s += fmt.Sprintf("; HTTP/1.1 front: %d seeds, %d attacks answered, %d requests unanswered at the end; real HTTP/1.1 backends: %d connections, %d requests received, %d idle connections closed by the backend",
			r.h1FrontSeeds, r.h1Rejected, r.h1Unanswered, r.h1Conns, r.h1Requests, r.h1IdleCloses)
	}
	return s
}

func (r *simResult) add(o *simResult) {
	r.steps += o.steps
	r.requests += o.requests
	r.completed += o.completed
	r.resets += o.resets
	r.exchanges += o.exchanges
	r.h2Seeds += o.h2Seeds
	r.backConns += o.backConns
	r.refused += o.refused
	r.goAways += o.goAways
	r.deaths += o.deaths
	r.bodies += o.bodies
	r.badHeads += o.badHeads
	r.overruns += o.overruns
	r.h1Seeds += o.h1Seeds
	r.h1Conns += o.h1Conns
	r.h1IdleCloses += o.h1IdleCloses
	r.h1Requests += o.h1Requests
	r.h1FrontSeeds += o.h1FrontSeeds
	r.h1Rejected += o.h1Rejected
	r.h1Unanswered += o.h1Unanswered
}

// simRun is one seed's world.
type simRun struct {
	simCore
	rng    *rand.Rand
	conn   *simConn
	env    *Env
	s      *h2Session
	inv    *h2.InvariantChecker
	client *simClient
	be     *simBackend
	hb     *simH2Backend // the real HTTP/2 backend side (nil: not this seed)
	h1b    *simH1Backend // the real HTTP/1.1 backend side (nil: not this seed)
	ended  bool
	unfed  [][]byte // bytes posted to the session, not yet fed to the engine
}

// simCore is what a seed's world of either front has: its clock, result,
// first failure and trace.
type simCore struct {
	clock   *simClock
	res     *simResult
	trace   bool // print every step
	capture bool // keep every step in res.trace (to compare replays)
	failed  atomic.Bool
	chunks  int64 // bufpool chunks in use before the seed
}

func newSimCore(trace, capture bool) simCore {
	return simCore{clock: newSimClock(), res: &simResult{}, trace: trace, capture: capture, chunks: bufpool.Outstanding()}
}

func (r *simCore) fail(format string, args ...any) {
	if r.failed.Swap(true) {
		return
	}
	r.res.err = fmt.Sprintf(format, args...)
}

func (r *simCore) logf(format string, args ...any) {
	if !r.trace && !r.capture {
		return
	}
	line := fmt.Sprintf("[%s] %s", r.clock.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	if r.trace {
		fmt.Println(line)
	}
	if r.capture {
		r.res.trace = append(r.res.trace, line)
	}
}

// endChecks reports whether the end-of-seed checks apply: no failure yet,
// and the connection ended (a failure otherwise).
func (r *simCore) endChecks(ended bool) bool {
	if r.failed.Load() {
		return false
	}
	if !ended {
		r.fail("the connection did not end")
	}
	return ended
}

// chunksFreed checks that the seed left no body chunk in use.
func (r *simCore) chunksFreed() {
	if n := bufpool.Outstanding() - r.chunks; n != 0 {
		r.fail("after the end: %d body chunks not freed", n)
	}
}

// simWatch sits between the engine and the session to feed the invariant
// checker the handler callbacks.
type simWatch struct {
	h2.Handler
	r *simRun
}

func (w simWatch) OnRequest(s *h2.Stream, req *h2.Request) {
	w.r.inv.OnRequest(s)
	w.Handler.OnRequest(s, req)
}

func (w simWatch) OnClosed(s *h2.Stream) {
	w.r.inv.OnClosed(s)
	w.Handler.OnClosed(s)
}

func runSim(seed int64, trace bool) *simResult {
	r := &simRun{simCore: newSimCore(trace, false), rng: rand.New(rand.NewPCG(uint64(seed), 0x5111ce)), conn: &simConn{}}
	fail := func(format string, args ...any) { r.fail(format, args...) }
	hostile := *simHostile > 0 && seed%int64(*simHostile) == 0
	r.client = newSimClient(r.rng, hostile, fail)
	r.be = &simBackend{rng: r.rng, clock: r.clock, backTimeout: 30 * time.Second, fail: fail, malformed: r.client.malformedPaths}

	cl := backend.NewCluster("sim", backend.ClusterOptions{}, nil)
	hooks := &simHooks{startExchange: r.be.start, endExchanges: r.be.endAll,
		wrap: func(h h2.Handler) h2.Handler { return simWatch{Handler: h, r: r} }}
	// Real backends: odd seeds (with -sim.h2back=2), and one hostile
	// seed in two (hostile seeds are even).
	if n := int64(*simH2Back); n > 0 && (seed%n == 1%n || hostile && seed%8 == 0) {
		r.hb = newSimH2Backend(r.rng, r.clock, fail, r.logf, r.client.malformedPaths, r.client.brokenPaths, hostile)
		cl = r.hb.cl
		hooks.startExchange, hooks.endExchanges = r.hb.start, r.hb.endAll
	} else if *simH1Back && (seed%8 == 2 || seed%8 == 4) {
		// Real HTTP/1.1 backends: one even seed in four and one hostile
		// seed in two; seed%8 == 6 keeps the exchange-level models.
		r.h1b = newSimH1Backend(r.rng, r.clock, fail, r.logf, r.client.malformedPaths)
		cl = r.h1b.cl
		hooks.startExchange, hooks.endExchanges = r.h1b.start, r.h1b.endAll
	}
	env := newSimEnv(r.clock, cl, hooks)
	r.env = env
	r.s = env.newH2Session(ConnInfo{Conn: r.conn, ClientIP: []byte("192.0.2.1"), Client: "192.0.2.1:1"}, false)
	r.inv = h2.NewInvariantChecker(r.s.conn, func(msg string) { r.fail("engine %s", msg) })
	r.s.inflight = make(chan struct{}, maxReadsInFlight)
	r.engineStep(func() {
		if !r.s.begin(nil) {
			r.ended = true
		}
	})

	// Active phase: the scheduler picks who acts next.
	for i := 0; i < *simSteps && !r.ended && !r.failed.Load(); i++ {
		r.step(false)
	}
	// Drain phase: the client opens nothing more and grants every window;
	// every stream must end within the timeouts.
	r.client.stopped = true
	for i := 0; i < 40000 && !r.ended && !r.failed.Load(); i++ {
		if r.client.open() == 0 && r.exchanges() == 0 && r.s.live == 0 && len(r.client.toServer) == 0 && len(r.conn.out) == 0 {
			break
		}
		r.step(true)
	}
	if !r.ended && !r.failed.Load() {
		if r.client.open() != 0 || r.exchanges() != 0 || r.s.live != 0 {
			r.fail("liveness: after the drain phase %d client streams, %d exchanges and %d session streams are still open%s",
				r.client.open(), r.exchanges(), r.s.live, r.hb.describe()+r.h1b.describe())
		}
		// End the connection: a graceful drain or the client leaving.
		if r.rng.IntN(2) == 0 {
			r.s.mb.Post(event{kind: evDrain})
			for i := 0; i < 1000 && !r.ended && !r.failed.Load(); i++ {
				r.step(true)
			}
		}
		if !r.ended {
			r.s.mb.Post(event{kind: evRead, err: io.EOF})
			r.engineStep(func() { r.runOwner() })
		}
	}
	r.finalChecks()
	res := r.res
	res.requests = int(r.client.nextID / 2)
	res.completed, res.resets, res.exchanges = r.client.completed, r.client.resets, r.be.started
	if r.hb != nil {
		r.hb.count(res)
	}
	if h := r.h1b; h != nil {
		res.exchanges = h.started
		res.h1Seeds, res.h1Conns, res.h1IdleCloses = 1, len(h.peers), h.closes
		for _, n := range h.processed {
			res.h1Requests += n
		}
	}
	return res
}

// step lets one participant act. In the drain phase the scheduler favours
// progress: bytes are delivered, credit returned, time moves.
func (r *simRun) step(draining bool) {
	r.res.steps++
	c := r.client
	switch k := r.rng.IntN(100); {
	case k < 18:
		c.act()
		if draining {
			c.returnCredit(true)
		}
		r.logf("client acts (%d bytes pending to sluice)", len(c.toServer))
	case k < 38:
		r.deliverToSession()
	case k < 58:
		r.engineStep(func() { r.runOwner() })
	case k < 72:
		n := 1 + r.rng.IntN(max(1, len(r.conn.out)))
		if r.rng.IntN(8) == 0 {
			n = 1 // one byte at a time
		}
		p := r.conn.take(n)
		if len(p) > 0 {
			r.logf("client reads %d bytes", len(p))
			c.fromServer(p)
		}
		if r.conn.closed && len(r.conn.out) == 0 {
			r.ended = true
		}
	case k < 90 && r.hb != nil:
		r.hb.acts()
	case k < 90 && r.h1b != nil:
		r.h1b.acts()
	case k < 90:
		r.be.act()
		r.logf("backend acts (%d exchanges running)", len(r.be.running))
	case r.h1b != nil && r.rng.IntN(2) == 0:
		r.h1b.acts()
	case r.hb != nil && r.rng.IntN(2) == 0:
		// Real backends take many more steps per exchange than the
		// exchange-level models: time moves at half the pace, or every
		// request would meet its timeouts.
		r.hb.acts()
	default:
		d := time.Duration(r.rng.IntN(50)) * time.Millisecond
		if r.rng.IntN(10) == 0 {
			d = time.Duration(500+r.rng.IntN(35000)) * time.Millisecond
			// A long jump silences every backend connection past its
			// PING and SETTINGS timeouts (a black hole): with real
			// backends, mostly shorter ones.
			if r.hb != nil && r.rng.IntN(5) != 0 {
				d = time.Duration(500+r.rng.IntN(4000)) * time.Millisecond
			}
		}
		if draining {
			d = time.Duration(r.rng.IntN(2000)) * time.Millisecond
		}
		fired := r.clock.advance(d)
		r.be.timeouts()
		r.logf("time +%v (%d timers fired)", d, fired)
	}
	r.checkSession()
}

// deliverToSession moves some of the client's bytes to sluice as one read,
// respecting the reader's two-buffer budget.
func (r *simRun) deliverToSession() {
	c := r.client
	if len(c.toServer) == 0 || r.ended {
		return
	}
	select {
	case r.s.inflight <- struct{}{}:
	default:
		return // two reads already queued: the reader would wait
	}
	n := 1 + r.rng.IntN(len(c.toServer))
	if r.rng.IntN(6) == 0 {
		n = 1
	}
	n = min(n, readBufSize)
	b := readBufs.Get().(*readBuf)
	copy(b.b, c.toServer[:n])
	c.toServer = c.toServer[n:]
	r.unfed = append(r.unfed, append([]byte(nil), b.b[:n]...))
	if !r.s.mb.Post(event{kind: evRead, buf: b, n: n}) {
		putReadBuf(b)
		<-r.s.inflight
	}
	r.logf("sluice reads %d bytes", n)
}

// runOwner runs one owner step (what the owner goroutine does when woken).
func (r *simRun) runOwner() {
	if r.ended {
		return
	}
	switch r.s.step() {
	case stepEnded:
		r.ended = true
		r.logf("session ended")
	case stepParked:
		// Parked: the next post would start a new owner; the simulator
		// plays that owner on its next engine step.
		r.s.mb.Claim()
	}
}

// engineStep runs f as one checked step of the engine: the invariant
// checker sees the bytes written and checks the state afterwards.
func (r *simRun) engineStep(f func()) {
	if r.ended {
		return
	}
	r.inv.BeginStep()
	// The owner feeds every queued read in this step: the checker models
	// the peer's bytes as they reach the engine.
	for _, p := range r.unfed {
		r.inv.PeerBytes(p)
	}
	r.unfed = r.unfed[:0]
	before := len(r.conn.out)
	f()
	if len(r.conn.out) > before {
		r.inv.OurBytes(r.conn.out[before:])
	}
	r.inv.EndStep(len(r.s.conn.Pending()) == 0, true)
}

// checkSession checks the session's own invariants (DESIGN.md 3.1, 4.2,
// 4.3): every engine stream points at a live session stream that points
// back; the session's count of live streams matches what references
// them; a running exchange's stream is neither finished nor released.
func (r *simRun) checkSession() {
	if r.ended {
		return
	}
	s := r.s
	live := map[*h2Stream]bool{}
	s.conn.Streams(func(hs *h2.Stream) {
		st, ok := hs.App.(*h2Stream)
		if !ok {
			r.fail("session: engine stream %d has no session stream", hs.ID())
			return
		}
		if st.hs != hs || st.sess != s {
			r.fail("session: stream %d: the session stream points elsewhere", hs.ID())
		}
		live[st] = true
	})
	unsettled := r.unsettled()
	for _, st := range unsettled {
		if st.finished {
			r.fail("session: stream %d finished while its exchange runs", st.id)
		}
		if !st.running {
			r.fail("session: stream %d's exchange runs but the session does not know", st.id)
		}
		live[st] = true
	}
	for _, st := range s.pending {
		if st != nil {
			live[st] = true
		}
	}
	for _, st := range s.waiting {
		if !st.inWaiting {
			r.fail("session: stream %d in the waiting list without its flag", st.id)
		}
		live[st] = true
	}
	if len(live) != s.live {
		r.fail("session: %d live streams counted, %d referenced", s.live, len(live))
	}
	if s.running != len(unsettled) {
		r.fail("session: %d exchanges running for the session, %d for the backends", s.running, len(unsettled))
	}
}

// exchanges returns how many exchanges run in the backend models.
func (r *simRun) exchanges() int {
	if r.hb != nil {
		return len(r.hb.trips)
	}
	if r.h1b != nil {
		return len(r.h1b.trips)
	}
	return len(r.be.running)
}

// unsettled returns the streams whose exchange the session still counts
// as running.
func (r *simRun) unsettled() []*h2Stream {
	if r.hb != nil {
		return r.hb.unsettled()
	}
	if r.h1b != nil {
		return r.h1b.unsettled()
	}
	var out []*h2Stream
	for _, x := range r.be.unsettled() {
		out = append(out, x.st)
	}
	return out
}

// finalChecks runs when the connection is over: nothing is left behind.
func (r *simRun) finalChecks() {
	if !r.endChecks(r.ended) {
		return
	}
	if r.s.live != 0 || r.exchanges() != 0 || r.s.conn.ActiveStreams() != 0 {
		r.fail("after the end: %d session streams, %d exchanges, %d engine streams", r.s.live, r.exchanges(), r.s.conn.ActiveStreams())
	}
	if r.hb != nil {
		r.hb.windDown()
	}
	if r.h1b != nil {
		r.h1b.windDown()
	}
	r.chunksFreed()
}

// newSimEnv is the Env simulated sessions run in: the simulator's clock
// and hooks, and one route (sim.test/) to cl.
func newSimEnv(clock Clock, cl *backend.Cluster, hooks *simHooks) *Env {
	table, err := router.Build([]router.Rule[*backend.Cluster]{{Hostname: "sim.test", Path: "/", Target: cl}})
	if err != nil {
		panic(err)
	}
	env := NewEnv(Env{Listener: "sim", Clock: clock, Metrics: simMetrics, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: Limits{BackTimeout: 30 * time.Second}})
	env.Routes.Store(table)
	env.sim = hooks
	return env
}
