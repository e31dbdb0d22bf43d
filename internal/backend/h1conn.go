package backend

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/h1"
)

// h1Conn is one HTTP/1.1 connection to a backend. While in use it belongs
// to exactly one exchange; in the pool it holds no buffers.
type h1Conn struct {
	nc      net.Conn
	pool    *h1Pool
	rb, wb  *buffer // attached while in use
	r, w    int     // unread response bytes are rb.b[r:w]
	lastUse time.Time
	resp    h1.ResponseHead
	rh      ResponseHead // the head handed to the writer
	dec     h1.ChunkedDecoder

	// Upload of a chunked body (used by one goroutine at a time).
	iov      net.Buffers
	iovArr   [3][]byte
	chunkHdr [20]byte
}

func (c *h1Conn) attach() {
	c.rb, c.wb = getBuf(), getBuf()
	c.r, c.w = 0, 0
}

func (c *h1Conn) detach() {
	if c.rb != nil {
		putBuf(c.rb)
		putBuf(c.wb)
		c.rb, c.wb = nil, nil
	}
	c.resp.Fields = c.resp.Fields[:0]
}

// responseLimits bound what a backend may send as a head: a backend is not
// trusted more than a client.
var responseLimits = h1.Limits{MaxHeadBytes: bufSize, MaxFields: 256}

// expectWait is how long sluice waits for a backend's 100 Continue before
// sending the body anyway (RFC 9110 10.1.1 lets a client stop waiting).
const expectWait = time.Second

// exchange runs one request/response on the connection and then returns
// the connection to the pool or closes it. Errors before any response byte
// are *staleConnError so the caller can decide about a retry.
func (c *h1Conn) exchange(req *Request, body Body, w ResponseWriter, t Timeouts, res *Result) (err error) {
	p := c.pool
	reusable := false
	tunnelled := false
	defer func() {
		if !req.Cancel.detach() {
			reusable = false
		}
		switch {
		case tunnelled: // the writer owns nc now
			c.detach()
			p.mu.Lock()
			p.open--
			p.mu.Unlock()
			p.gauges(0, -1)
		case reusable:
			p.put(c)
		default:
			p.discard(c, true)
		}
	}()

	// Write the head, and the body too when it is already buffered: a
	// small POST costs one write.
	wb := appendRequestHead(c.wb.b[:0], req)
	chunked := req.HasBody && req.ContentLength < 0
	bodyDone := !req.HasBody || body == nil
	if !bodyDone && !req.Expect100 {
		var cerr error
		wb, bodyDone, cerr = c.writeBufferedBody(wb, body, chunked, t, res)
		if cerr != nil {
			return cerr
		}
	}
	if err := c.write(wb, t); err != nil {
		return &staleConnError{e: &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: err}}
	}
	sentAt := c.pool.b.now()

	var up *upload
	expectPending := !bodyDone && req.Expect100
	if !bodyDone && !expectPending {
		up = c.startUpload(body, chunked, t, res)
	}
	defer func() {
		if up != nil && !up.finished() {
			// The backend answered (or failed) before taking the whole
			// body: stop the upload and never reuse either side.
			body.Abort()
			c.nc.Close()
			c.waitUpload(up, 0)
			res.BodyIncomplete = true
			reusable = false
		}
	}()

	// Read the response head, forwarding 1xx answers.
	gotAny := false
	deadline := sentAt.Add(t.Response)
	if expectPending {
		deadline = sentAt.Add(min(expectWait, t.Response))
	}
	c.nc.SetReadDeadline(deadline)
	var upProgress int64
	for {
		n, perr := 0, h1.ErrIncomplete
		if c.r < c.w {
			n, perr = h1.ParseResponseHead(c.rb.b[c.r:c.w], &c.resp, responseLimits)
		}
		if perr == nil {
			status := c.resp.Status
			if status >= 200 || status == 101 {
				break
			}
			// Informational (RFC 9110 15.2): forward, then keep reading.
			c.rh = ResponseHead{Status: status, Reason: c.resp.Reason, Fields: c.resp.Fields, ContentLength: -1, NoBody: true}
			if err := w.WriteHead(&c.rh); err != nil {
				return clientGone(err)
			}
			if err := w.Flush(); err != nil {
				return clientGone(err)
			}
			c.r += n
			if status == 100 && expectPending {
				expectPending = false
				up = c.startUpload(body, chunked, t, res)
				c.nc.SetReadDeadline(c.pool.b.now().Add(t.Response))
			}
			continue
		}
		if perr != h1.ErrIncomplete {
			return &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: perr}
		}
		if !c.makeRoom() {
			return &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: errHeadTooLarge}
		}
		m, rerr := c.nc.Read(c.rb.b[c.w:])
		if m > 0 {
			if !gotAny {
				gotAny = true
				res.TTFB = c.pool.b.now().Sub(sentAt)
			}
			c.w += m
		}
		if rerr != nil && m == 0 {
			if e := up.clientError(); e != nil {
				// The client's body broke off (malformed chunk, client
				// gone or idle): the upload closed the backend
				// connection to wake this read. Answer the client's
				// fault, not a backend failure.
				return e
			}
			if isTimeout(rerr) {
				now := c.pool.b.now()
				if expectPending {
					// No 100 Continue in time: send the body anyway.
					expectPending = false
					up = c.startUpload(body, chunked, t, res)
					c.nc.SetReadDeadline(now.Add(t.Response))
					continue
				}
				if up != nil && !up.finished() && up.progress.Load() != upProgress {
					// A long upload is still moving: the response
					// timeout runs from the end of the request.
					upProgress = up.progress.Load()
					c.nc.SetReadDeadline(now.Add(t.Response))
					continue
				}
				// Never a stale-connection retry: a backend that stays
				// silent may be working on the request, and a replay
				// would run it twice and multiply the client's wait.
				return &Error{Status: 504, Message: accesslog.MsgBackendTimeout, Err: rerr}
			}
			e := &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: rerr}
			if !gotAny && (up == nil || up.err() == nil) {
				return &staleConnError{e: e}
			}
			return e
		}
	}

	head := &c.resp
	mode := h1.ResponseBodyMode(req.Method, head)
	if expectPending {
		// A final answer without 100 Continue: the body was not wanted.
		res.BodyIncomplete = true
	}
	// rh lives in the connection: handed to an interface method, a local
	// would escape to the heap once per response.
	rh := &c.rh
	*rh = ResponseHead{Status: head.Status, Reason: head.Reason, Fields: head.Fields, ContentLength: -1, NoBody: mode == h1.BodyNone}
	if mode == h1.BodyLength {
		rh.ContentLength = head.ContentLength
	}
	if head.Status == 101 {
		if req.Upgrade == nil {
			return &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: errors.New("101 to a request that did not ask to upgrade")}
		}
		res.Status = 101
		res.HeadSent = true
		if err := w.WriteHead(rh); err != nil {
			return clientGone(err)
		}
		c.r += head.HeadBytes
		rest := append([]byte(nil), c.rb.b[c.r:c.w]...)
		c.nc.SetDeadline(time.Time{})
		tunnelled = true
		return w.Tunnel(c.nc, rest)
	}
	res.Status = head.Status
	res.HeadSent = true
	if err := w.WriteHead(rh); err != nil {
		return clientGone(err)
	}
	c.r += head.HeadBytes

	switch mode {
	case h1.BodyNone:
	case h1.BodyLength:
		err = c.copyLength(head.ContentLength, w, t, res)
	case h1.BodyChunked:
		err = c.copyChunked(w, t, res)
	case h1.BodyUntilClose:
		err = c.copyUntilClose(w, t, res)
	default:
		err = &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: errors.New("unexpected response framing")}
	}
	if err != nil {
		if e := up.clientError(); e != nil {
			return e
		}
		return err
	}
	if up != nil {
		if !up.finished() && up.read.Load() {
			// The whole body was read from the client and its last bytes
			// are on their way to the backend (which answered as soon as
			// it had them): let the upload finish rather than mistake it
			// for an early answer and lose the client connection.
			c.waitUpload(up, lastWriteWait)
		}
		if !up.finished() {
			return nil // deferred cleanup aborts the upload; response is complete
		}
		if up.err() != nil {
			res.BodyIncomplete = true
			return nil
		}
	}
	reusable = head.KeepAlive && mode != h1.BodyUntilClose && c.r == c.w && !res.BodyIncomplete
	return nil
}

var errHeadTooLarge = errors.New("response head too large")

func clientGone(err error) error {
	if errors.Is(err, ErrClientGone) {
		return err
	}
	return errors.Join(ErrClientGone, err)
}

// makeRoom makes space at the end of the read buffer, moving unread bytes
// to the front. It reports false when the buffer is full of unread bytes.
func (c *h1Conn) makeRoom() bool {
	if c.r == c.w {
		c.r, c.w = 0, 0
		return true
	}
	if c.w < len(c.rb.b) {
		return true
	}
	if c.r == 0 {
		return false
	}
	c.w = copy(c.rb.b, c.rb.b[c.r:c.w])
	c.r = 0
	return true
}

// fill waits for more response bytes (after flushing the client side, so
// nothing sits in sluice while it waits).
func (c *h1Conn) fill(w ResponseWriter, t Timeouts) error {
	if err := w.Flush(); err != nil {
		return clientGone(err)
	}
	if !c.makeRoom() {
		return &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: errors.New("chunk framing line too long")}
	}
	c.nc.SetReadDeadline(c.pool.b.now().Add(t.Response))
	n, err := c.nc.Read(c.rb.b[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if isTimeout(err) {
		return &Error{Status: 504, Message: accesslog.MsgBackendResponseTimeout, Err: err}
	}
	return &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: err}
}

func (c *h1Conn) copyLength(n int64, w ResponseWriter, t Timeouts, res *Result) error {
	for n > 0 {
		if c.r == c.w {
			if err := c.fill(w, t); err != nil {
				return err
			}
		}
		avail := int64(c.w - c.r)
		if avail > n {
			avail = n
		}
		if err := w.Write(c.rb.b[c.r : c.r+int(avail)]); err != nil {
			return clientGone(err)
		}
		c.r += int(avail)
		n -= avail
		res.BytesOut += avail
	}
	return nil
}

func (c *h1Conn) copyChunked(w ResponseWriter, t Timeouts, res *Result) error {
	c.dec.Reset()
	for {
		consumed, data, done, err := c.dec.Next(c.rb.b[c.r:c.w])
		if err != nil {
			return &Error{Status: 502, Message: accesslog.MsgBackendBadResponse, Err: err}
		}
		if len(data) > 0 {
			if err := w.Write(data); err != nil {
				return clientGone(err)
			}
			res.BytesOut += int64(len(data))
		}
		c.r += consumed
		if done {
			if tr := c.dec.Trailers(); len(tr) > 0 {
				if err := w.WriteTrailers(tr); err != nil {
					return clientGone(err)
				}
			}
			return nil
		}
		if consumed == 0 || c.r == c.w {
			if err := c.fill(w, t); err != nil {
				return err
			}
		}
	}
}

func (c *h1Conn) copyUntilClose(w ResponseWriter, t Timeouts, res *Result) error {
	for {
		if c.r < c.w {
			if err := w.Write(c.rb.b[c.r:c.w]); err != nil {
				return clientGone(err)
			}
			res.BytesOut += int64(c.w - c.r)
			c.r = c.w
		}
		err := c.fill(w, t)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && errors.Is(e.Err, io.EOF) {
				return nil // the close is the end of the body (RFC 9112 6.3 item 8)
			}
			return err
		}
	}
}

func (c *h1Conn) write(p []byte, t Timeouts) error {
	if len(p) == 0 {
		return nil
	}
	c.nc.SetWriteDeadline(c.pool.b.now().Add(t.Response))
	_, err := c.nc.Write(p)
	return err
}

// writeBufferedBody appends to wb as much of the body as is available
// without blocking, writing out wb when a piece does not fit. It reports
// whether the whole body was consumed.
func (c *h1Conn) writeBufferedBody(wb []byte, body Body, chunked bool, t Timeouts, res *Result) ([]byte, bool, error) {
	for body.Buffered() {
		p, err := body.Next()
		if err != nil && err != io.EOF {
			return wb, false, (&clientBodyError{err}).answer()
		}
		if len(p) > 0 {
			res.BytesIn += int64(len(p))
			if len(wb)+len(p)+chunkOverhead > cap(wb) {
				if werr := c.write(wb, t); werr != nil {
					return wb, false, &staleConnError{e: &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: werr}}
				}
				wb = wb[:0]
			}
			if len(p)+chunkOverhead > cap(wb) {
				if werr := c.writeChunk(p, chunked, t); werr != nil {
					return wb, false, &Error{Status: 502, Message: accesslog.MsgBackendReset, Err: werr}
				}
			} else {
				if chunked {
					wb = h1.AppendChunkHeader(wb, len(p))
				}
				wb = append(wb, p...)
				if chunked {
					wb = h1.AppendChunkEnd(wb)
				}
			}
		}
		if err == io.EOF {
			if chunked {
				wb = h1.AppendLastChunk(wb, body.Trailers())
			}
			return wb, true, nil
		}
	}
	return wb, false, nil
}

const chunkOverhead = 32

// writeChunk writes one body piece straight from the caller's buffer
// (no copy), framed when chunked.
func (c *h1Conn) writeChunk(p []byte, chunked bool, t Timeouts) error {
	if !chunked {
		return c.write(p, t)
	}
	// The vector and the size line live in the connection: locals would
	// escape to the heap on every chunk (WriteTo hands them to an
	// interface).
	c.iovArr = [3][]byte{h1.AppendChunkHeader(c.chunkHdr[:0], len(p)), p, crlf}
	c.iov = c.iovArr[:]
	c.nc.SetWriteDeadline(c.pool.b.now().Add(t.Response))
	_, err := c.iov.WriteTo(c.nc)
	c.iovArr = [3][]byte{}
	return err
}

var crlf = []byte("\r\n")

// upload streams the rest of a request body to the backend on its own
// goroutine, so the response can be read at the same time (a backend may
// stream its answer while it reads, or answer early).
type upload struct {
	done     chan struct{}
	progress atomic.Int64 // bytes written so far
	read     atomic.Bool  // set by the upload once the client's body has been read to its end
	failure  error        // set before done is closed
}

// lastWriteWait bounds how long a complete response waits for an upload
// that has read the whole body and is writing its last bytes.
const lastWriteWait = time.Second

func (u *upload) finished() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

func (u *upload) err() error {
	if u.finished() {
		return u.failure
	}
	return nil
}

// clientError returns the exchange error when the upload ended because the
// client's side of the body failed, else nil. u may be nil.
func (u *upload) clientError() *Error {
	if u == nil {
		return nil
	}
	var ce *clientBodyError
	if errors.As(u.err(), &ce) {
		return ce.answer()
	}
	return nil
}

// clientBodyError is a failure to read the request body from the client, as
// opposed to a failure to write it to the backend.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// answer classifies the failure: a malformed body (RFC 9112 7.1 chunk
// framing) is the client's bad request; an idle client timed out; anything
// else means the client went away mid-body.
func (e *clientBodyError) answer() *Error {
	var pe *h1.Error
	switch {
	case errors.As(e.err, &pe):
		return &Error{Status: 400, Message: accesslog.MsgBadRequest, Err: e.err}
	case isTimeout(e.err):
		return &Error{Status: 408, Message: accesslog.MsgClientTimeout, Err: e.err}
	}
	return &Error{Status: 400, Message: accesslog.MsgClientAborted, Err: e.err}
}

// waitUpload waits for the upload to end, at most d (0: no bound).
func (c *h1Conn) waitUpload(up *upload, d time.Duration) {
	if sim := c.pool.b.sim; sim != nil {
		sim.Wait(up.done, d) // on the simulator's scheduler and clock
		return
	}
	if d == 0 {
		<-up.done
		return
	}
	timer := time.NewTimer(d)
	select {
	case <-up.done:
	case <-timer.C:
	}
	timer.Stop()
}

func (c *h1Conn) startUpload(body Body, chunked bool, t Timeouts, res *Result) *upload {
	u := &upload{done: make(chan struct{})}
	c.pool.b.spawn(func() {
		err := c.uploadRest(body, chunked, t, u)
		res.BytesIn += u.progress.Load()
		u.failure = err
		close(u.done)
		var ce *clientBodyError
		if errors.As(err, &ce) {
			// The backend now holds a truncated request and waits for the
			// rest: close its connection so the exchange stops waiting
			// for a response (it then reports this error).
			c.nc.Close()
		}
	})
	return u
}

func (c *h1Conn) uploadRest(body Body, chunked bool, t Timeouts, u *upload) error {
	for {
		p, err := body.Next()
		if err != nil && err != io.EOF {
			return &clientBodyError{err}
		}
		if err == io.EOF {
			u.read.Store(true)
		}
		if len(p) > 0 {
			if werr := c.writeChunk(p, chunked, t); werr != nil {
				return werr
			}
			u.progress.Add(int64(len(p)))
		}
		if err == io.EOF {
			if chunked {
				var buf [256]byte
				return c.write(h1.AppendLastChunk(buf[:0], body.Trailers()), t)
			}
			return nil
		}
	}
}
