package session

import (
	"sync"

	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// RFC 9218 bits of the HTTP/2 session: the backend's priority response
// header, and the ready-incremental gauge.

var hdrPriority = []byte("priority")

// responsePriority returns the value of a response head's priority field
// (RFC 9218 5), or nil. Names are lowercase in HTTP/2 form.
func responsePriority(fields []h2.Field) []byte {
	for i := range fields {
		if string(fields[i].Name) == string(hdrPriority) {
			return fields[i].Value
		}
	}
	return nil
}

// readyGauge sums, per urgency, every session's ready incremental streams
// as of its last write pass, into sluice_h2_ready_incremental_streams.
// Sessions report only changes, so a connection whose streams are not
// incremental (the common case: clients default to u=3 non-incremental)
// never takes the lock.
type readyGauge struct {
	mu  sync.Mutex
	sum [8]int
	m   *metrics.Metrics
}

var (
	readyGaugesMu sync.Mutex
	readyGauges   = map[*metrics.Metrics]*readyGauge{}
)

func readyGaugeFor(m *metrics.Metrics) *readyGauge {
	readyGaugesMu.Lock()
	defer readyGaugesMu.Unlock()
	g := readyGauges[m]
	if g == nil {
		g = &readyGauge{m: m}
		readyGauges[m] = g
	}
	return g
}

// move replaces one session's contribution from to to.
func (g *readyGauge) move(from, to *[8]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for u := range to {
		if d := to[u] - from[u]; d != 0 {
			g.sum[u] += d
			g.m.SetReadyIncremental(u, g.sum[u])
		}
	}
}

// publishReady reports the engine's ready incremental counts after a
// write pass, when they changed.
func (s *h2Session) publishReady() {
	r := s.conn.ReadyIncremental()
	if r == s.readyInc {
		return
	}
	readyGaugeFor(s.env.Metrics).move(&s.readyInc, &r)
	s.readyInc = r
}

// unpublishReady withdraws the session's contribution when it ends.
func (s *h2Session) unpublishReady() {
	if s.readyInc == ([8]int{}) {
		return
	}
	var zero [8]int
	readyGaugeFor(s.env.Metrics).move(&s.readyInc, &zero)
	s.readyInc = zero
}
