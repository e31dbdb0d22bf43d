package session

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/h2"
)

// h2Stream is the session's side of one HTTP/2 stream: the request copied
// out of the decoder, the link to a backend exchange, and the two hand-off
// buffers between the owner and the exchange goroutine.
//
// Ownership: fields above the "shared" line belong to the session owner
// (hs is nil once the engine closed the stream). The exchange goroutine
// reads breq and body only after the owner started it, and never writes
// them. The outbox is guarded by mu.
type h2Stream struct {
	sess *h2Session
	hs   *h2.Stream
	id   h2.StreamID
	gen  uint64 // bumped on reuse: events from a previous life are ignored

	store  []byte     // request field bytes
	fields []h1.Field // request fields, aliasing store
	breq   backend.Request
	cl     *backend.Cluster
	cancel backend.Cancel
	body   *bodyPipe // nil when the request has no body

	pendingLink bool // waiting for the end of the read batch to start its exchange
	running     bool // exchange goroutine started and not finished
	finished    bool // exchange's final event processed (or never started)
	answered    bool // a final head went out (from the backend or ours)
	rec         accesslog.Record
	status      int
	headMethod  bool // HEAD: no body toward the client
	inWaiting   bool // in the session's waiting list
	inPending   bool // in the session's pending-link list
	// spare is the chunk slice the owner handed back: it swaps with
	// chunks on every hand-off so neither side reallocates.
	spare []*bufpool.Chunk
	// xres is the exchange goroutine's result while it runs (a local
	// would escape to the heap through RoundTrip).
	xres backend.Result

	// shared: guarded by mu
	mu          sync.Mutex
	cond        sync.Cond // the exchange waits here for credit
	notified    bool      // an evStream for this stream is queued
	gone        bool      // the client side is gone: the exchange must stop
	infos       []respHead
	head        *respHead
	headBuf     respHead
	chunks      []*bufpool.Chunk
	outstanding int // response bytes accepted from the exchange, not yet on the wire
	trailers    []h1.Field
	trailerBuf  []byte
	done        bool
	err         error
	res         backend.Result
}

// respHead is a response head copied out of the exchange's buffer.
type respHead struct {
	status int
	fields []h2.Field
	store  []byte
	cl     int64
	noBody bool
}

// maxOutstanding bounds the response bytes one stream may have in sluice
// (taken from the backend, not yet written to the client). It is what
// makes a slow client slow the backend down instead of growing memory.
const maxOutstanding = 64 << 10

func (st *h2Stream) reset() {
	*st = h2Stream{gen: st.gen + 1, store: st.store[:0], fields: st.fields[:0], infos: st.infos[:0], chunks: st.chunks[:0], spare: st.spare[:0],
		trailerBuf: st.trailerBuf[:0], headBuf: respHead{fields: st.headBuf.fields[:0], store: st.headBuf.store[:0]}}
	st.cond.L = &st.mu
}

// The exchange goroutine's view: h2Stream is the backend.ResponseWriter.

func (st *h2Stream) WriteHead(h *backend.ResponseHead) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone {
		return backend.ErrClientGone
	}
	var rh *respHead
	if h.Status < 200 {
		if h.Status == 101 {
			return errNoUpgradeOnH2
		}
		st.infos = append(st.infos, respHead{})
		rh = &st.infos[len(st.infos)-1]
	} else {
		rh = &st.headBuf
		st.head = rh
	}
	rh.status, rh.cl, rh.noBody = h.Status, h.ContentLength, h.NoBody
	copyResponseFields(rh, h.Fields)
	return nil
}

var errNoUpgradeOnH2 = errors.New("101 Switching Protocols cannot be relayed over HTTP/2")

// copyResponseFields copies the end-to-end fields of an HTTP/1.1 response
// into HTTP/2 form: names lowercased, connection-specific fields dropped
// (RFC 9113 8.2.2), framing fields kept only as content-length.
func copyResponseFields(rh *respHead, fields []h1.Field) {
	store := rh.store[:0]
	type span struct{ n, v int }
	var spans [64]span
	sp := spans[:0]
	for i := range fields {
		f := &fields[i]
		if f.Kind.IsHopByHop() || f.Kind == h1.KindTransferEncoding {
			continue
		}
		if f.Kind == h1.KindContentLength && rh.noBody && rh.status != 200 {
			continue
		}
		store = h1.AppendLower(store, f.Name)
		store = append(store, f.Value...)
		sp = append(sp, span{len(f.Name), len(f.Value)})
	}
	rh.store = store
	out := rh.fields[:0]
	off := 0
	for _, s := range sp {
		out = append(out, h2.Field{Name: store[off : off+s.n : off+s.n], Value: store[off+s.n : off+s.n+s.v : off+s.n+s.v]})
		off += s.n + s.v
	}
	rh.fields = out
}

func (st *h2Stream) Write(p []byte) error {
	for len(p) > 0 {
		st.mu.Lock()
		for st.outstanding >= maxOutstanding && !st.gone {
			st.notifyLocked()
			st.cond.Wait()
		}
		if st.gone {
			st.mu.Unlock()
			return backend.ErrClientGone
		}
		var n int
		st.chunks, n = bufpool.Fill(st.chunks, p)
		st.outstanding += n
		st.res.BytesOut += int64(n)
		p = p[n:]
		st.mu.Unlock()
	}
	return nil
}

func (st *h2Stream) WriteTrailers(fields []h1.Field) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone {
		return backend.ErrClientGone
	}
	buf := st.trailerBuf[:0]
	tr := st.trailers[:0]
	type span struct{ n, v int }
	var spans [32]span
	sp := spans[:0]
	for i := range fields {
		f := &fields[i]
		if f.Kind.IsHopByHop() || !h1.TrailerAllowed(f.Kind) {
			continue
		}
		for _, c := range f.Name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
		}
		buf = append(buf, f.Value...)
		sp = append(sp, span{len(f.Name), len(f.Value)})
	}
	off := 0
	for _, s := range sp {
		tr = append(tr, h1.Field{Name: buf[off : off+s.n], Value: buf[off+s.n : off+s.n+s.v]})
		off += s.n + s.v
	}
	st.trailerBuf, st.trailers = buf, tr
	if st.trailers == nil {
		st.trailers = []h1.Field{}
	}
	return nil
}

// Flush hands what the exchange wrote so far to the owner.
func (st *h2Stream) Flush() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone {
		return backend.ErrClientGone
	}
	st.notifyLocked()
	return nil
}

func (st *h2Stream) Tunnel(conn net.Conn, buffered []byte) error {
	conn.Close()
	return errNoUpgradeOnH2
}

// notifyLocked posts one evStream for the stream unless one is queued.
func (st *h2Stream) notifyLocked() {
	if st.notified {
		return
	}
	if st.head == nil && len(st.infos) == 0 && len(st.chunks) == 0 && st.trailers == nil && !st.done {
		return
	}
	st.notified = true
	st.sess.mb.Post(event{kind: evStream, st: st, gen: st.gen})
}

// run is the exchange goroutine.
func (st *h2Stream) run(t backend.Timeouts) {
	var body backend.Body
	if st.body != nil {
		body = st.body
	}
	st.xres = backend.Result{}
	err := st.cl.RoundTrip(&st.breq, body, st, t, &st.xres)
	st.complete(err, &st.xres)
}

// complete ends the exchange side: the owner gets a final event carrying
// the outcome.
func (st *h2Stream) complete(err error, res *backend.Result) {
	st.mu.Lock()
	bytesOut := st.res.BytesOut
	st.res = *res
	st.res.BytesOut = bytesOut
	st.err = err
	st.done = true
	st.notified = false // always deliver the final event
	st.notifyLocked()
	st.mu.Unlock()
}

// writeRoom returns how many bytes Write takes now without waiting for
// response credit (the simulator's backends never write more).
func (st *h2Stream) writeRoom() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone {
		return 1 << 30
	}
	return max(0, maxOutstanding-st.outstanding)
}

// bodyPipe carries a request body from the owner (DATA frames) to the
// exchange goroutine. Its size is bounded by the stream's receive window:
// the peer cannot send more than we advertised, and window only comes back
// as the exchange consumes.
//
// Credit accounting: pushed counts bytes the owner put in, consumed bytes
// the exchange is done with, credited bytes the owner has returned to the
// peer. The owner returns consumed-credited as it goes and pushed-credited
// when the stream ends, so every byte's credit comes back exactly once.
type bodyPipe struct {
	mu       sync.Mutex
	cond     sync.Cond
	st       *h2Stream
	chunks   []*bufpool.Chunk
	cur      *bufpool.Chunk // handed to the exchange by the last Next
	ended    bool
	aborted  bool
	trailers []h1.Field
	trStore  []byte
	pushed   int64
	consumed int64
	credited int64
	notified bool // an evCredit is queued
}

func newBodyPipe(st *h2Stream) *bodyPipe {
	p := &bodyPipe{st: st}
	p.cond.L = &p.mu
	return p
}

// creditThreshold batches credit notifications from the exchange.
const creditThreshold = 16 << 10

// push appends DATA bytes (owner side). It reports false when the
// exchange no longer reads (the caller credits the bytes at once).
func (p *bodyPipe) push(b []byte, end bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aborted {
		return false
	}
	p.pushed += int64(len(b))
	p.chunks = bufpool.AppendBytes(p.chunks, b)
	if end {
		p.ended = true
	}
	p.cond.Signal()
	return true
}

// setTrailers records request trailers and ends the body (owner side).
func (p *bodyPipe) setTrailers(fields []h2.Field) {
	p.mu.Lock()
	defer p.mu.Unlock()
	store := p.trStore[:0]
	for i := range fields {
		store = append(store, fields[i].Name...)
		store = append(store, fields[i].Value...)
	}
	p.trStore = store
	off := 0
	tr := p.trailers[:0]
	for i := range fields {
		n, v := len(fields[i].Name), len(fields[i].Value)
		name := store[off : off+n]
		tr = append(tr, h1.Field{Name: name, Value: store[off+n : off+n+v], Kind: h1.ClassifyName(name)})
		off += n + v
	}
	p.trailers = tr
	p.ended = true
	p.cond.Signal()
}

// abort stops the exchange's reads and frees what it will never read.
func (p *bodyPipe) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aborted {
		return
	}
	p.aborted = true
	for _, ch := range p.chunks {
		ch.Free()
	}
	p.chunks = nil
	p.cond.Broadcast()
}

// takeCredit returns bytes consumed and not yet credited (owner side).
func (p *bodyPipe) takeCredit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notified = false
	n := p.consumed - p.credited
	p.credited = p.consumed
	return int(n)
}

// close ends the pipe once the exchange is finished and returns every
// byte not yet credited (owner side).
func (p *bodyPipe) close() int {
	p.abort()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.cur.Free()
		p.cur = nil
	}
	n := p.pushed - p.credited
	p.credited = p.pushed
	return int(n)
}

// Next implements backend.Body (exchange side).
func (p *bodyPipe) Next() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.consumed += int64(len(p.cur.B))
		p.cur.Free()
		p.cur = nil
		if !p.notified && !p.aborted && (p.consumed-p.credited >= creditThreshold || len(p.chunks) == 0) {
			p.notified = true
			p.st.sess.mb.Post(event{kind: evCredit, st: p.st, gen: p.st.gen})
		}
	}
	for len(p.chunks) == 0 && !p.ended && !p.aborted {
		p.cond.Wait()
	}
	if p.aborted {
		return nil, errBodyAborted
	}
	if len(p.chunks) == 0 {
		return nil, io.EOF
	}
	p.cur = p.chunks[0]
	p.chunks[0] = nil
	p.chunks = p.chunks[1:]
	if len(p.chunks) == 0 && p.ended {
		return p.cur.B, io.EOF
	}
	return p.cur.B, nil
}

var errBodyAborted = errors.New("request body aborted: the client reset the stream")

// Buffered implements backend.Body.
func (p *bodyPipe) Buffered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.chunks) > 0 || p.ended || p.aborted
}

// Trailers implements backend.Body.
func (p *bodyPipe) Trailers() []h1.Field {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.trailers
}

// Abort implements backend.Body.
func (p *bodyPipe) Abort() { p.abort() }
