package session

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/readiness"
)

// h1Session serves one HTTP/1.1 client connection: one request at a time
// (pipelined requests wait in the read buffer and are answered in order),
// each exchange run on this goroutine from start to finish.
//
// Buffers: rb holds the request head being parsed and then the request
// body as it streams; while a request is in flight its head stays pinned at
// the front of rb (the backend request and the access log alias it), and
// body bytes move through the space after it.
type h1Session struct {
	env  *Env
	info ConnInfo
	nc   net.Conn
	id   uint64
	// linger: the session ends with an answer the client may still be
	// sending toward; close lingering (linger.go).
	linger bool

	rb   []byte
	r, w int // unread input is rb[r:w]
	pin  int // rb[:pin] is the current request's head; compaction keeps it

	wb []byte // pending output

	iov    net.Buffers // vectored write of wb and a large body piece
	iovArr [3][]byte   // iov's backing array

	req  h1.RequestHead
	breq backend.Request
	res  backend.Result
	body h1Body
	resp h1Response

	requests int // requests served on this connection

	drainReq atomic.Bool // drain asked: finish the current exchange, then close
	inFlight atomic.Bool // a request head has been read and its response is not done
	closing  bool        // close after the current response

	// Parking (h1park.go): between keep-alive requests the session may
	// give back its goroutine and buffers and wait in the readiness
	// poller. park is parkRunning or parkParked; whoever moves it from
	// parked to running (readable socket, idle timer, drain, kill)
	// resumes the session.
	park      atomic.Int32
	parkable  int8                    // 0 not yet known, 1 yes, -1 no (mayPark)
	raw       syscall.RawConn         // the socket, when parkable
	reg       *readiness.Registration // nil until the first park
	idleTimer *time.Timer             // closes a parked session at the idle timeout
}

// h1Response is the state of the response being written.
type h1Response struct {
	status   int  // final status written, 0 until then
	chunked  bool // framing toward the client
	noBody   bool
	untilEOF bool // close-delimited toward an HTTP/1.0 client
	trailers []h1.Field
	bytesOut int64
}

// ServeH1 serves an HTTP/1.1 connection until it closes. initial holds bytes
// already read from conn (by protocol detection).
func (e *Env) ServeH1(info ConnInfo, initial []byte) {
	s := &h1Session{env: e, info: info, nc: info.Conn, id: sessionIDs.Add(1)}
	if !e.sessions.add(s) {
		info.Conn.Close()
		return
	}
	e.LMetrics.ActiveH1.Inc()
	s.takeBuffers()
	s.w = copy(s.rb, initial)
	e.LMetrics.BytesIn.Add(float64(len(initial))) // read by protocol detection, but client bytes all the same
	s.run(e.Now().Add(e.Limits.RequestTimeout))
}

// run serves requests until the connection ends, then finishes the
// session, or until it parks (another goroutine resumes it). headDeadline
// is the request timeout of the first request; zero when resumed.
func (s *h1Session) run(headDeadline time.Time) {
	if s.serve(headDeadline) == servedParked {
		return
	}
	s.finish()
}

// finish releases the session's buffers and closes the connection.
func (s *h1Session) finish() {
	if s.reg != nil {
		s.reg.Close()
		s.idleTimer.Stop()
	}
	if s.rb != nil {
		s.giveBackBuffers()
	}
	if s.linger && s.env.sim == nil {
		lingerClose(s.nc)
	} else {
		s.nc.Close()
	}
	s.env.LMetrics.ActiveH1.Dec()
	s.env.sessions.remove(s)
}

// takeBuffers gets the buffers a running session reads and writes with.
func (s *h1Session) takeBuffers() {
	s.rb = getInBuf(s.env.Limits.MaxHeadBytes)
	s.wb = getOutBuf()
	s.r, s.w, s.pin = 0, 0, 0
	if s.req.Fields = fieldSlices.Get(); cap(s.req.Fields) < 32 {
		s.req.Fields = make([]h1.Field, 0, 32)
	}
}

// giveBackBuffers returns them to their pools; nothing may alias them
// afterwards, so the parsed request is forgotten too.
func (s *h1Session) giveBackBuffers() {
	putInBuf(s.rb)
	putOutBuf(s.wb)
	fieldSlices.Put(s.req.Fields)
	s.rb, s.wb = nil, nil
	s.req = h1.RequestHead{}
}

func (s *h1Session) drain() {
	s.drainReq.Store(true)
	if s.wake() {
		return
	}
	if !s.inFlight.Load() {
		// Idle between requests: wake the blocked read so the loop sees
		// the drain and closes.
		s.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (s *h1Session) kill() {
	s.nc.Close()
	s.wake()
}

// serveResult says how serve returned.
type serveResult uint8

const (
	servedDone   serveResult = iota // the connection is to close
	servedParked                    // idle, parked: another goroutine resumes it
)

// serve runs the request loop. headDeadline bounds the arrival of the
// current request head; zero: keep-alive wait, bounded by the idle
// timeout until a first byte arrives. A new connection starts with the
// (shorter) request timeout: a client that connects and sends nothing is
// a slow loris.
func (s *h1Session) serve(headDeadline time.Time) serveResult {
	lim := h1.Limits{MaxHeadBytes: s.env.Limits.MaxHeadBytes, MaxFields: s.env.Limits.MaxHeaderCount}
	for {
		n, err := 0, h1.ErrIncomplete
		if s.r < s.w {
			n, err = h1.ParseRequestHead(s.rb[s.r:s.w], &s.req, lim)
		}
		if err == nil {
			s.inFlight.Store(true)
			keep := s.handle(n)
			s.inFlight.Store(false)
			if !keep || s.drainReq.Load() {
				// An answer that closes the connection may leave
				// request bytes unread: linger so they cannot turn
				// into a reset that destroys the answer.
				s.linger = !keep
				s.flush()
				return servedDone
			}
			if s.r == s.w {
				s.r, s.w = 0, 0
				// Keep-alive wait: the idle timeout applies until the
				// next request's first byte, then the request timeout.
				headDeadline = time.Time{}
			}
			continue
		}
		if err != h1.ErrIncomplete {
			s.reject(err)
			s.linger = true
			return servedDone
		}
		if s.drainReq.Load() && s.r == s.w {
			s.flush()
			return servedDone
		}
		partial := s.r < s.w
		if partial && headDeadline.IsZero() {
			headDeadline = s.env.Now().Add(s.env.Limits.RequestTimeout)
		}
		// Keep-alive wait with nothing read: read for parkAfter at most,
		// then park (h1park.go) until the idle timeout.
		deadline, parkAt := headDeadline, time.Time{}
		if deadline.IsZero() {
			now := s.env.Now()
			deadline = now.Add(s.env.Limits.FrontTimeout)
			if !partial && parkAfter < s.env.Limits.FrontTimeout && s.mayPark() {
				parkAt = now.Add(parkAfter)
				deadline = parkAt
			}
		}
		if !s.makeRoom() {
			s.reject(&h1.Error{Status: 431, Reason: "head_too_large"})
			s.linger = true
			return servedDone
		}
		if err := s.flush(); err != nil {
			return servedDone
		}
		s.nc.SetReadDeadline(deadline)
		if s.drainReq.Load() && s.r == s.w {
			// drain ran between the check above and the deadline we
			// just set, which overwrote its wake-up: close now rather
			// than wait out the idle timeout.
			return servedDone
		}
		m, rerr := s.nc.Read(s.rb[s.w:])
		s.w += m
		s.env.LMetrics.BytesIn.Add(float64(m))
		if m > 0 && headDeadline.IsZero() {
			headDeadline = s.env.Now().Add(s.env.Limits.RequestTimeout)
		}
		if m == 0 && !parkAt.IsZero() && isTimeout(rerr) {
			switch s.tryPark() {
			case parked:
				return servedParked
			case parkClosed:
				return servedDone
			}
			continue // cannot park: wait out the idle timeout as before
		}
		if rerr != nil && m == 0 {
			if isTimeout(rerr) && s.r < s.w && !s.drainReq.Load() {
				s.answerAndLog(408, accesslog.MsgClientTimeout, nil, nil)
			}
			return servedDone
		}
	}
}

// makeRoom makes space at the end of rb for a read, moving unread bytes down
// to the pin. It reports false when rb is full of unread head bytes.
func (s *h1Session) makeRoom() bool {
	if s.r == s.w {
		s.r, s.w = s.pin, s.pin
		return true
	}
	if s.w < len(s.rb) {
		return true
	}
	if s.r == s.pin {
		return false
	}
	s.w = s.pin + copy(s.rb[s.pin:], s.rb[s.r:s.w])
	s.r = s.pin
	return true
}

// reject answers a request the parser refused (400 or 431) and closes: after
// a framing error nothing else on the connection can be trusted.
func (s *h1Session) reject(err error) {
	status, reason := 400, "bad_request"
	var pe *h1.Error
	if errors.As(err, &pe) {
		status, reason = pe.Status, pe.Reason
	}
	s.env.Metrics.H1Rejected(reason)
	if (reason == "bad_request_line" || reason == "bad_version") && !speaksHTTP1(s.rb[s.r:s.w]) {
		// Not HTTP/1.x at all (a broken HTTP/2 preface, TLS to a plaintext
		// port, a scanner): there is no protocol to answer in; just close.
		return
	}
	msg := accesslog.MsgBadRequest
	if status == 431 {
		msg = accesslog.MsgRequestTooLarge
	}
	s.answerAndLog(status, msg, nil, nil)
}

// speaksHTTP1 reports whether the first line of b names an HTTP/1 version.
func speaksHTTP1(b []byte) bool {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.Contains(b, []byte("HTTP/1."))
}

// handle serves one parsed request whose head is n bytes at rb[r:]. It
// reports whether the connection may carry another request.
func (s *h1Session) handle(n int) bool {
	env := s.env
	start := env.Now()
	req := &s.req
	// Pin the head: everything aliasing it stays valid while the body
	// streams through the rest of rb.
	if s.r != 0 {
		// Move the head (and whatever follows) to the front so that the
		// body has the most room.
		s.w = copy(s.rb, s.rb[s.r:s.w])
		s.r = 0
		if _, err := h1.ParseRequestHead(s.rb[:s.w], req, h1.Limits{MaxHeadBytes: env.Limits.MaxHeadBytes, MaxFields: env.Limits.MaxHeaderCount}); err != nil {
			s.reject(err)
			return false
		}
	}
	s.pin = n
	s.r = n
	defer func() { s.pin = 0 }()
	s.requests++
	s.resp = h1Response{trailers: s.resp.trailers[:0]}
	s.closing = !req.KeepAlive || s.drainReq.Load()

	rec := accesslog.Record{Start: start, Method: req.Method, FrontProto: "http/1.1"}
	if string(req.Method) == "CONNECT" {
		s.answer(405, nil, true)
		rec.Status, rec.Message = 405, accesslog.MsgBadRequest
		s.finishLog(&rec, nil)
		return false
	}

	authority, path := req.Host, req.Target
	if len(path) > 0 && path[0] != '/' && path[0] != '*' {
		// absolute-form (RFC 9112 3.2.2): the parser checked that its
		// authority agrees with Host; route and forward its path.
		path = absolutePath(path)
	}
	rec.Authority, rec.Path = authority, path
	routes := env.Routes.Load()
	cl, ok := routes.Match(authority, stripQuery(path))
	if s.info.TLS != nil && s.info.TLS.Allows != nil {
		if allowed, coalesced := s.info.TLS.Allows(authority); !allowed {
			env.Metrics.Misdirected()
			rec.Status, rec.Message = 421, accesslog.MsgMisdirected
			return s.answerRequest(&rec, cl, 421)
		} else if coalesced {
			env.Metrics.H2CoalescingOK.Inc()
			env.logCoalesced(s.id, "http/1.1", s.info, authority)
		}
	}
	if !ok {
		rec.Status, rec.Message = 404, accesslog.MsgNoRoute
		return s.answerRequest(&rec, nil, 404)
	}
	rec.Cluster = cl.ID

	br := &s.breq
	*br = backend.Request{
		Method: req.Method, Scheme: s.scheme(), Authority: authority, Path: path,
		Fields: req.Fields, ContentLength: req.ContentLength,
		Expect100: req.Expect100, TETrailers: req.TETrailers, Upgrade: tunnelUpgrade(req.Upgrade),
		ClientIP: s.info.ClientIP, FrontProto: "http/1.1",
	}
	var body backend.Body
	switch req.BodyMode() {
	case h1.BodyLength:
		if req.ContentLength > 0 {
			br.HasBody = true
			s.body.start(s, req.ContentLength, false)
			body = &s.body
		}
	case h1.BodyChunked:
		br.HasBody = true
		br.ContentLength = -1
		s.body.start(s, -1, true)
		body = &s.body
	}

	// The result lives in the session: a local would escape to the heap
	// (the exchange's upload goroutine writes to it) once per request.
	res := &s.res
	*res = backend.Result{}
	var err error
	if sim := env.sim; sim != nil && sim.roundTrip != nil {
		err = sim.roundTrip(cl, br, body, s, res) // HTTP/2 backends, stepped
	} else {
		err = cl.RoundTrip(br, body, s, env.timeouts(), res)
	}
	rec.Status = res.Status
	rec.BackendConn, rec.TimeToFirst = res.ConnectTime, res.TTFB
	rec.BytesIn, rec.Retries = res.BytesIn, res.Retries
	if res.Backend != nil {
		rec.Backend = res.Backend.ID
		rec.BackProto = backProto(res.Backend)
	}
	keep := !s.closing
	if err != nil {
		var be *backend.Error
		switch {
		case errors.Is(err, backend.ErrClientGone):
			rec.Message = accesslog.MsgClientAborted
			keep = false
		case !res.HeadSent && errors.As(err, &be):
			rec.Message = be.Message
			if pe := (*h1.Error)(nil); errors.As(err, &pe) {
				s.env.Metrics.H1Rejected(pe.Reason) // a malformed chunked body
			}
			if be.Status == 400 { // the client's body broke off
				keep = false
				s.closing = true
			}
			rec.Status = be.Status
			s.answer(be.Status, cl, s.closing || !s.bodyConsumed(body))
			keep = keep && !s.closing // an answer that closes, or did not go out whole
			env.Metrics.DefaultAnswer(be.Status, be.Message)
		default:
			// The response started and cannot be completed: cut the
			// connection so the client sees a truncated response rather
			// than a wrong one.
			if errors.As(err, &be) {
				rec.Message = be.Message
			}
			keep = false
		}
	} else if res.Status == 101 {
		rec.Message = accesslog.MsgUpgraded
		keep = false
	} else {
		if err := s.endResponse(); err != nil {
			keep = false
		}
	}
	if res.BodyIncomplete || !s.bodyConsumed(body) {
		if rec.Message == "" && res.BodyIncomplete {
			rec.Message = accesslog.MsgRequestBodyIncomplete
		}
		keep = false
	}
	rec.BytesOut = s.resp.bytesOut
	s.finishLog(&rec, cl)
	return keep && !s.resp.untilEOF
}

// answerRequest answers a request that never reached a backend. The
// request body, if any, was not read, so unless it is empty the connection
// closes.
func (s *h1Session) answerRequest(rec *accesslog.Record, cl *backend.Cluster, status int) bool {
	hasBody := s.req.ContentLength > 0 || s.req.Chunked
	s.answer(status, cl, s.closing || hasBody)
	s.env.Metrics.DefaultAnswer(status, rec.Message)
	s.finishLog(rec, cl)
	return !s.closing && !hasBody
}

func (s *h1Session) bodyConsumed(body backend.Body) bool {
	return body == nil || s.body.done
}

func (s *h1Session) scheme() []byte {
	if s.env.TLS {
		return schemeHTTPS
	}
	return schemeHTTP
}

var (
	schemeHTTP  = []byte("http")
	schemeHTTPS = []byte("https")
)

func (s *h1Session) finishLog(rec *accesslog.Record, cl *backend.Cluster) {
	env := s.env
	rec.Total = env.Now().Sub(rec.Start)
	clusterID := ""
	if cl != nil {
		clusterID = cl.ID
	}
	env.Metrics.Requests(env.Listener, clusterID).Observe(rec.Status, rec.Total)
	if env.AccessLog != nil {
		rec.Session = s.id
		rec.Listener = env.Listener
		rec.Client = s.info.Client
		if t := s.info.TLS; t != nil {
			rec.TLSVersion, rec.TLSCipher, rec.SNI = t.Version, t.Cipher, t.SNI
		}
		env.AccessLog.Log(rec)
	}
}

// answerAndLog answers and logs a request that could not be parsed.
func (s *h1Session) answerAndLog(status int, msg string, method, path []byte) {
	s.req.Method = nil // the head did not parse: never treat it as HEAD
	s.answer(status, nil, true)
	s.env.Metrics.DefaultAnswer(status, msg)
	rec := accesslog.Record{Start: s.env.Now(), Status: status, Message: msg, FrontProto: "http/1.1", Method: method, Path: path}
	s.finishLog(&rec, nil)
	s.flush()
}

// absolutePath returns the path part of an absolute-form target
// ("http://host/p?q" -> "/p?q"; no path -> "/").
func absolutePath(t []byte) []byte {
	for i := 0; i+2 < len(t); i++ {
		if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
			rest := t[i+3:]
			for j, c := range rest {
				if c == '/' || c == '?' {
					if c == '?' {
						return append([]byte("/"), rest[j:]...)
					}
					return rest[j:]
				}
			}
			return slash
		}
	}
	return t
}

var slash = []byte("/")

// tunnelUpgrade returns the Upgrade offer to relay to a backend, or nil. An
// offer of h2c is never relayed: it asks to switch this one hop to HTTP/2
// (RFC 7540 3.2, dropped by RFC 9113 3.1), and a backend that accepted it
// through sluice's tunnel would then take raw HTTP/2 from the client past
// every routing decision (h2c smuggling). Such a request is served as
// plain HTTP/1.1.
func tunnelUpgrade(offer []byte) []byte {
	for rest := offer; len(rest) > 0; {
		var tok []byte
		if i := bytes.IndexByte(rest, ','); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) >= 3 && bytes.EqualFold(tok[:3], []byte("h2c")) && (len(tok) == 3 || tok[3] == '/') {
			return nil
		}
	}
	return offer
}

func stripQuery(p []byte) []byte {
	for i, c := range p {
		if c == '?' {
			return p[:i]
		}
	}
	return p
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var errAborted = errors.New("request body aborted")

// h1Body streams a request body from the client connection to the exchange.
// It hands out slices of the session's read buffer (no copy).
type h1Body struct {
	s         *h1Session
	remaining int64 // Content-Length bodies: bytes still to come
	chunked   bool
	dec       h1.ChunkedDecoder
	done      bool
	aborted   atomic.Bool
}

func (b *h1Body) start(s *h1Session, length int64, chunked bool) {
	b.s, b.remaining, b.chunked, b.done = s, length, chunked, false
	b.aborted.Store(false)
	if chunked {
		b.dec.Reset()
	}
}

// Buffered reports whether Next can answer from bytes already read.
func (b *h1Body) Buffered() bool {
	return b.done || b.s.r < b.s.w
}

func (b *h1Body) Trailers() []h1.Field {
	if b.chunked {
		return b.dec.Trailers()
	}
	return nil
}

func (b *h1Body) Abort() {
	b.aborted.Store(true)
	b.s.nc.SetReadDeadline(time.Unix(1, 0))
}

func (b *h1Body) Next() ([]byte, error) {
	s := b.s
	for {
		if b.done {
			return nil, io.EOF
		}
		if b.aborted.Load() {
			return nil, errAborted
		}
		if s.r < s.w {
			if !b.chunked {
				p := s.rb[s.r:s.w]
				if int64(len(p)) >= b.remaining {
					p = p[:b.remaining]
				}
				s.r += len(p)
				b.remaining -= int64(len(p))
				if b.remaining == 0 {
					b.done = true
					return p, io.EOF
				}
				return p, nil
			}
			consumed, data, done, err := b.dec.Next(s.rb[s.r:s.w])
			if err != nil {
				return nil, err
			}
			s.r += consumed
			if done {
				b.done = true
				return data, io.EOF
			}
			if len(data) > 0 {
				return data, nil
			}
			if consumed > 0 {
				if s.r < s.w {
					continue
				}
				// Only framing (a chunk's CRLF, a size line) was
				// buffered: return an empty piece instead of blocking,
				// so that Buffered stays true to its word. Otherwise the
				// request head waits in sluice for the client's next
				// chunk, and a client that waits for the response
				// before sending more deadlocks.
				return nil, nil
			}
		}
		if err := b.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more body bytes from the client, bounded by the idle timeout.
func (b *h1Body) fill() error {
	s := b.s
	if !s.makeRoom() {
		return &h1.Error{Status: 400, Reason: "chunk_line_too_long"}
	}
	s.nc.SetReadDeadline(s.env.Now().Add(s.env.Limits.FrontTimeout))
	n, err := s.nc.Read(s.rb[s.w:])
	s.w += n
	s.env.LMetrics.BytesIn.Add(float64(n))
	if n > 0 {
		return nil
	}
	if b.aborted.Load() {
		return errAborted
	}
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
