package session

import (
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h1"
)

// The h1Session is the backend.ResponseWriter of its own exchanges: the
// response is serialized straight into the client write buffer, and a small
// response leaves in the same write as its head.

// WriteHead writes a 1xx or the final response head, choosing the framing
// toward the client: the backend's Content-Length when known, else chunked
// for HTTP/1.1 clients, else (HTTP/1.0) a close-delimited body.
func (s *h1Session) WriteHead(h *backend.ResponseHead) error {
	wb := h1.AppendStatusLine(s.wb, 1, h.Status, h.Reason)
	for i := range h.Fields {
		f := &h.Fields[i]
		switch f.Kind {
		case h1.KindContentLength:
			// Re-framed below, except on bodiless answers where the
			// backend's value describes the representation (HEAD, 304).
			if !h.NoBody || h.Status < 200 || h.Status == 204 {
				continue
			}
		case h1.KindTransferEncoding:
			continue
		case h1.KindUpgrade:
			if h.Status != 101 {
				continue
			}
		default:
			if f.Kind.IsHopByHop() {
				continue
			}
		}
		wb = h1.AppendField(wb, f.Name, f.Value)
	}
	if h.Status < 200 {
		if h.Status == 101 {
			wb = append(wb, "Connection: upgrade\r\n"...)
		}
		s.wb = append(wb, '\r', '\n')
		return nil
	}
	r := &s.resp
	r.status = h.Status
	r.noBody = h.NoBody || string(s.req.Method) == "HEAD"
	switch {
	case r.noBody:
	case h.ContentLength >= 0:
		wb = append(wb, "Content-Length: "...)
		wb = strconv.AppendInt(wb, h.ContentLength, 10)
		wb = append(wb, '\r', '\n')
	case s.req.Minor >= 1:
		wb = append(wb, "Transfer-Encoding: chunked\r\n"...)
		r.chunked = true
	default:
		r.untilEOF = true
		s.closing = true
	}
	if s.closing || s.drainReq.Load() {
		s.closing = true
		wb = append(wb, "Connection: close\r\n"...)
	} else if s.req.Minor == 0 {
		wb = append(wb, "Connection: keep-alive\r\n"...)
	}
	s.wb = append(wb, '\r', '\n')
	return nil
}

// Write sends response body bytes. Small pieces are buffered; a large piece
// goes out together with the buffer in one vectored write, uncopied.
func (s *h1Session) Write(p []byte) error {
	r := &s.resp
	if r.noBody || len(p) == 0 {
		return nil
	}
	r.bytesOut += int64(len(p))
	if r.chunked {
		s.wb = h1.AppendChunkHeader(s.wb, len(p))
	}
	if len(s.wb)+len(p)+2 <= cap(s.wb) {
		s.wb = append(s.wb, p...)
		if r.chunked {
			s.wb = h1.AppendChunkEnd(s.wb)
		}
		return nil
	}
	var tail []byte
	if r.chunked {
		tail = crlf
	}
	return s.writev(p, tail)
}

// WriteTrailers keeps trailers for the last chunk; without chunked framing
// toward the client they cannot be carried and are dropped.
func (s *h1Session) WriteTrailers(fields []h1.Field) error {
	if !s.resp.chunked {
		return nil
	}
	// Serialize now: the fields alias the exchange's buffer.
	s.wb = append(s.wb, '0', '\r', '\n')
	for i := range fields {
		if fields[i].Kind.IsHopByHop() || fields[i].Kind == h1.KindContentLength {
			continue
		}
		s.wb = h1.AppendField(s.wb, fields[i].Name, fields[i].Value)
	}
	s.wb = append(s.wb, '\r', '\n')
	s.resp.chunked = false // the last chunk is written
	return nil
}

// Flush writes buffered output to the client.
func (s *h1Session) Flush() error { return s.flush() }

// endResponse completes the response: the last chunk when chunked. The
// buffer is flushed now unless another pipelined request is already
// waiting, in which case both responses leave in one write.
func (s *h1Session) endResponse() error {
	if s.resp.chunked {
		s.wb = append(s.wb, "0\r\n\r\n"...)
		s.resp.chunked = false
	}
	if s.r < s.w && !s.closing && len(s.wb) < cap(s.wb)/2 {
		return nil
	}
	return s.flush()
}

func (s *h1Session) flush() error {
	if len(s.wb) == 0 {
		return nil
	}
	s.nc.SetWriteDeadline(s.env.Now().Add(s.env.Limits.FrontTimeout))
	n, err := s.nc.Write(s.wb)
	s.env.LMetrics.BytesOut.Add(float64(n))
	s.wb = s.wb[:0]
	if err != nil {
		return backend.ErrClientGone
	}
	return nil
}

func (s *h1Session) writev(p, tail []byte) error {
	s.nc.SetWriteDeadline(s.env.Now().Add(s.env.Limits.FrontTimeout))
	// The vector lives in the session: a local net.Buffers escapes to the
	// heap on every call (WriteTo hands it to an interface).
	s.iovArr = [3][]byte{s.wb, p, tail}
	s.iov = s.iovArr[:]
	n, err := s.iov.WriteTo(s.nc)
	s.iovArr = [3][]byte{}
	s.env.LMetrics.BytesOut.Add(float64(n))
	s.wb = s.wb[:0]
	if err != nil {
		return backend.ErrClientGone
	}
	return nil
}

var crlf = []byte("\r\n")

// answer writes a default answer (status page) and, when closing, asks the
// client to close.
func (s *h1Session) answer(status int, cl *backend.Cluster, closing bool) {
	body := answerBody(cl, status)
	wb := h1.AppendStatusLine(s.wb, 1, status, nil)
	wb = append(wb, "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: "...)
	wb = strconv.AppendInt(wb, int64(len(body)), 10)
	wb = append(wb, '\r', '\n')
	if closing || s.drainReq.Load() {
		s.closing = true
		wb = append(wb, "Connection: close\r\n"...)
	}
	wb = append(wb, '\r', '\n')
	if string(s.req.Method) != "HEAD" {
		wb = append(wb, body...)
	}
	s.wb = wb
	s.resp.status = status
	s.resp.bytesOut = int64(len(body))
	if s.flush() != nil {
		// The answer may have gone out in part (a write timeout): the
		// client's response stream is cut mid-message, and any later
		// response would be read as the rest of this one.
		s.closing = true
	}
}

// Tunnel relays bytes both ways after a 101 (WebSocket and other upgrades)
// until both directions end or stay idle for the front timeout.
func (s *h1Session) Tunnel(bc net.Conn, buffered []byte) error {
	defer bc.Close()
	if err := s.flush(); err != nil {
		return backend.ErrClientGone
	}
	idle := s.env.Limits.FrontTimeout
	// Bytes the client sent after its request head belong to the tunnel.
	if s.r < s.w {
		bc.SetWriteDeadline(time.Now().Add(idle))
		if _, err := bc.Write(s.rb[s.r:s.w]); err != nil {
			return nil
		}
		s.r = s.w
	}
	if len(buffered) > 0 {
		s.nc.SetWriteDeadline(time.Now().Add(idle))
		n, err := s.nc.Write(buffered)
		s.env.LMetrics.BytesOut.Add(float64(n))
		s.resp.bytesOut += int64(n)
		if err != nil {
			return nil
		}
	}
	var active atomic.Int64 // unix nanos of the last byte moved either way
	active.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.resp.bytesOut += pipe(s.nc, bc, idle, &active, s.env.LMetrics.BytesOut)
	}()
	pipe(bc, s.nc, idle, &active, s.env.LMetrics.BytesIn)
	wg.Wait()
	s.closing = true
	return nil
}

// pipe copies src to dst until EOF or an idle timeout, then half-closes dst
// so the other direction can finish. It returns the bytes copied. active is
// shared by both directions: a tunnel is idle only when neither direction
// moved a byte for idle (DESIGN.md 3.6, bidirectional silence), so a
// WebSocket that only pushes one way stays up.
//
// Tunnel bytes are client bytes too: counted is the client byte counter of
// this direction (received for client->backend, sent for backend->client).
func pipe(dst, src net.Conn, idle time.Duration, active *atomic.Int64, counted prometheus.Counter) int64 {
	bp := getOutBuf()
	defer putOutBuf(bp)
	buf := bp[:cap(bp)]
	var total int64
	for {
		src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if err != nil && n == 0 && isTimeout(err) && time.Since(time.Unix(0, active.Load())) < idle {
			continue // this direction is quiet, the other one is not
		}
		if n > 0 {
			active.Store(time.Now().UnixNano())
			dst.SetWriteDeadline(time.Now().Add(idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return total
			}
			total += int64(n)
			counted.Add(float64(n))
		}
		if err != nil {
			if err == io.EOF {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
					return total
				}
			}
			dst.Close()
			src.Close()
			return total
		}
	}
}

// Input and output buffers come from pools so a closed connection's memory
// is reused at once.
var (
	inBufs  sync.Pool
	outBufs = sync.Pool{New: func() any { return &bufBox{b: make([]byte, 0, 16<<10)} }}
	boxes   = sync.Pool{New: func() any { return new(bufBox) }}
)

type bufBox struct{ b []byte }

// getInBuf returns a read buffer with room for a maximal head plus 16 KiB
// of body streaming.
func getInBuf(maxHead int) []byte {
	size := maxHead + 16<<10
	if v := inBufs.Get(); v != nil {
		bx := v.(*bufBox)
		b := bx.b
		bx.b = nil
		boxes.Put(bx)
		if cap(b) >= size {
			return b[:size]
		}
	}
	return make([]byte, size)
}

func putInBuf(b []byte) {
	bx := boxes.Get().(*bufBox)
	bx.b = b
	inBufs.Put(bx)
}

func getOutBuf() []byte {
	bx := outBufs.Get().(*bufBox)
	b := bx.b[:0]
	bx.b = nil
	boxes.Put(bx)
	return b
}

func putOutBuf(b []byte) {
	bx := boxes.Get().(*bufBox)
	bx.b = b[:0]
	outBufs.Put(bx)
}
