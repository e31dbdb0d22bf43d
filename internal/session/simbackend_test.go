package session

import (
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// simBackend models backends at the level of the exchange a session links
// a stream to: it reads the request body from the stream's pipe, answers
// through the stream's ResponseWriter side, and completes the exchange,
// exactly as a backend exchange goroutine does, but one small step at a
// time when the scheduler says so. By the request path it answers, streams
// slowly, stalls (and times out at back_timeout like a real exchange),
// resets, dies before answering, or breaks off mid-response.
type simBackend struct {
	rng         *rand.Rand
	clock       *simClock
	backTimeout time.Duration
	fail        func(string, ...any)
	malformed   map[string]bool
	running     []*simExchange
	finishing   []*simExchange // completed; the session has not taken the final event yet
	started     int
}

// unsettled returns the exchanges the session still counts as running:
// those running in the model and those whose final event is queued.
func (b *simBackend) unsettled() []*simExchange {
	b.finishing = pruneSettled(b.finishing)
	return append(append([]*simExchange(nil), b.running...), b.finishing...)
}

// linked is an exchange's stream and the stream's generation when the
// exchange started (a released stream is reused under a new one).
type linked struct {
	st  *h2Stream
	gen uint64
}

func (l *linked) link() *linked { return l }

// pruneSettled drops the completed exchanges whose final event the
// session has taken (the stream moved on, or stopped counting them).
func pruneSettled[T interface{ link() *linked }](xs []T) []T {
	keep := xs[:0]
	for _, x := range xs {
		if l := x.link(); l.st.gen == l.gen && l.st.running {
			keep = append(keep, x)
		}
	}
	clear(xs[len(keep):])
	return keep
}

type simExchange struct {
	linked
	mode     string
	size     int
	path     string
	started  time.Time
	lastMove time.Time
	bodyDone bool
	bodyIn   int
	headSent bool
	sent     int
	body     []byte
	done     bool
}

func (b *simBackend) start(st *h2Stream) {
	path := string(st.breq.Path)
	if b.malformed[path] {
		b.fail("backend: a malformed request reached a backend: %s", path)
	}
	mode, size, ok := parseSimPath(path)
	if !ok {
		b.fail("backend: unexpected path %q", path)
		mode = "die"
	}
	now := b.clock.Now()
	x := &simExchange{linked: linked{st, st.gen}, mode: mode, size: size, path: path, started: now, lastMove: now, body: simBody(path, size)}
	x.bodyDone = st.body == nil
	b.running = append(b.running, x)
	b.started++
}

// act advances one exchange by one step.
func (b *simBackend) act() {
	if len(b.running) == 0 {
		return
	}
	i := b.rng.IntN(len(b.running))
	x := b.running[i]
	b.step(x)
	if x.done {
		b.running = append(b.running[:i], b.running[i+1:]...)
	}
}

// timeouts makes exchanges that waited longer than back_timeout end like
// a real one does (504 before a response, an abort during one).
func (b *simBackend) timeouts() {
	now := b.clock.Now()
	keep := b.running[:0]
	for _, x := range b.running {
		if now.Sub(x.lastMove) >= b.backTimeout {
			msg := accesslog.MsgBackendTimeout
			if x.headSent {
				msg = accesslog.MsgBackendResponseTimeout
			}
			b.complete(x, &backend.Error{Status: 504, Message: msg, Err: errors.New("sim: backend timeout")})
			continue
		}
		keep = append(keep, x)
	}
	b.running = keep
}

// endAll finishes every exchange (the session ended and cancelled them).
func (b *simBackend) endAll() {
	for _, x := range b.running {
		b.complete(x, backend.ErrClientGone)
	}
	b.running = nil
}

func (b *simBackend) complete(x *simExchange, err error) {
	if x.done {
		return
	}
	x.done = true
	b.finishing = append(b.finishing, x)
	res := backend.Result{Status: 0, HeadSent: x.headSent}
	if x.headSent {
		res.Status = 200
	}
	x.st.complete(err, &res)
}

func (b *simBackend) step(x *simExchange) {
	st := x.st
	now := b.clock.Now()
	if st.cancel.Cancelled() {
		// The session abandoned the stream: the exchange ends with the
		// client gone, as RoundTrip does.
		b.complete(x, backend.ErrClientGone)
		return
	}
	// Consume the request body first (a backend that reads it).
	if !x.bodyDone {
		p := st.body
		if !p.Buffered() {
			return // waiting for the client's DATA
		}
		data, err := p.Next()
		x.bodyIn += len(data)
		x.lastMove = now
		if err == io.EOF {
			x.bodyDone = true
		} else if err != nil {
			b.complete(x, backend.ErrClientGone)
			return
		}
		return
	}
	switch x.mode {
	case "stall":
		return // never answers: back_timeout ends it
	case "die":
		b.complete(x, &backend.Error{Status: 502, Message: accesslog.MsgBackendConnectFailed, Err: errors.New("sim: backend died")})
		return
	case "reset":
		b.complete(x, &backend.Error{Status: 502, Message: accesslog.MsgBackendReset, Reset: true, ResetCode: uint32(frame.InternalError), Err: errors.New("sim: backend reset")})
		return
	}
	if !x.headSent {
		fields := []h1.Field{{Name: []byte("Content-Length"), Value: []byte(strconv.Itoa(x.size)), Kind: h1.KindContentLength}, {Name: []byte("X-Sim"), Value: []byte(x.mode)}}
		if x.mode == "trailers" {
			fields = fields[1:] // chunked: trailers follow
		}
		cl := int64(x.size)
		if x.mode == "trailers" {
			cl = -1
		}
		if err := st.WriteHead(&backend.ResponseHead{Status: 200, Fields: fields, ContentLength: cl}); err != nil {
			b.complete(x, err)
			return
		}
		x.headSent = true
		x.lastMove = now
		if b.rng.IntN(2) == 0 {
			st.Flush()
		}
		return
	}
	if x.mode == "mid" && x.sent >= x.size/2 {
		b.complete(x, &backend.Error{Status: 502, Message: accesslog.MsgBackendReset, Err: errors.New("sim: backend closed mid-response")})
		return
	}
	if x.sent < x.size {
		room := st.writeRoom()
		if room == 0 {
			st.Flush()
			return // a slow client: the exchange waits for credit
		}
		n := min(x.size-x.sent, 1+b.rng.IntN(20000), room)
		if x.mode == "slow" {
			n = min(n, 1+b.rng.IntN(100))
		}
		if err := st.Write(x.body[x.sent : x.sent+n]); err != nil {
			b.complete(x, err)
			return
		}
		x.sent += n
		x.lastMove = now
		if b.rng.IntN(3) == 0 {
			st.Flush()
		}
		return
	}
	if x.mode == "trailers" {
		if err := st.WriteTrailers([]h1.Field{{Name: []byte("Grpc-Status"), Value: []byte("0")}}); err != nil {
			b.complete(x, err)
			return
		}
	}
	st.Flush()
	b.complete(x, nil)
}
