package session

import (
	"sync"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/h2"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// h2Observer feeds the engine's counters to Prometheus. One per process
// (the labels are resolved once); it holds no per-connection state.
type h2Observer struct {
	m  *metrics.H2Set
	mm *metrics.Metrics
}

var (
	h2ObsMu  sync.Mutex
	h2ObsFor = map[*metrics.Metrics]*h2Observer{}
)

func (e *Env) h2Observer() *h2Observer {
	h2ObsMu.Lock()
	defer h2ObsMu.Unlock()
	o := h2ObsFor[e.Metrics]
	if o == nil {
		o = &h2Observer{mm: e.Metrics, m: e.Metrics.H2(
			func(t uint8) string { return frame.FrameType(t).String() },
			func(c uint32) string { return frame.ErrCode(c).String() },
		)}
		h2ObsFor[e.Metrics] = o
	}
	return o
}

func (o *h2Observer) FrameReceived(t frame.FrameType) { o.m.FramesIn[t].Inc() }
func (o *h2Observer) FrameSent(t frame.FrameType)     { o.m.FramesOut[t].Inc() }
func (o *h2Observer) GoAwaySent(c h2.ErrCode)         { o.m.Code(0, uint32(c)).Inc() }
func (o *h2Observer) GoAwayReceived(c h2.ErrCode)     { o.m.Code(1, uint32(c)).Inc() }
func (o *h2Observer) RSTSent(c h2.ErrCode)            { o.m.Code(2, uint32(c)).Inc() }
func (o *h2Observer) RSTReceived(c h2.ErrCode)        { o.m.Code(3, uint32(c)).Inc() }
func (o *h2Observer) Flood(k h2.FloodKind)            { o.m.Flood(string(k)) }
func (o *h2Observer) Reaped(reason string)            { o.m.Reaped(reason) }
func (o *h2Observer) Refused()                        { o.m.Refused.Inc() }
func (o *h2Observer) MCSShrunk()                      { o.m.MCSShrunk.Inc() }
func (o *h2Observer) PriorityUpdate()                 { o.m.PriorityUpdates.Inc() }
func (o *h2Observer) PriorityDropped()                { o.m.PriorityDropped.Inc() }

// HeadersTooLarge counts the engine's own 431 answers with HTTP/1.1's.
func (o *h2Observer) HeadersTooLarge() {
	o.mm.DefaultAnswer(431, accesslog.MsgRequestTooLarge)
}
