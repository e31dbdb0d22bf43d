package h2

import (
	"sync"

	"github.com/sluice-proxy/sluice/internal/bufpool"
)

// Scratch shared between connections. An idle connection gives its
// scratch back (Trim), so it costs little more than its HPACK tables, and
// takes some again when it wakes (wake): a connection that goes idle
// between every request then allocates nothing per request either.
var (
	outBufs     = bufpool.Slices[byte]{MaxCap: 64 << 10, Plain: true}
	streamLists = bufpool.Slices[*Stream]{MaxCap: 1024}
	fieldLists  = bufpool.Slices[Field]{MaxCap: 1024}
	// streams holds released Streams (with their queue storage) beyond a
	// connection's own free list, and those of idle connections.
	streams sync.Pool
	// messagePool holds the decoded-message scratch of idle connections.
	messagePool = sync.Pool{New: func() any { return new(messages) }}
)

// messages is where a connection decodes the head it hands to its
// Handler: a request (server) or a response (client). Only a connection
// that is decoding needs it, so an idle one gives it back.
type messages struct {
	req  Request
	resp Response
}

// messages returns the connection's message scratch, taking it from the
// pool after Trim gave it back.
func (c *Conn) messages() *messages {
	if c.msg == nil {
		c.msg = messagePool.Get().(*messages)
	}
	return c.msg
}

// wake takes the scratch Trim gave back. Every entry point that may
// write a frame calls it first; one that does not only costs a fresh
// allocation, never a fault.
func (c *Conn) wake() {
	if c.out == nil {
		c.out = outBufs.Get()
	}
}

// Trim gives back what an idle connection does not need (scratch and I/O
// buffers, HPACK scratch, released streams) to pools shared by every
// connection. Call it only when no stream is open and Pending is empty.
func (c *Conn) Trim() {
	if len(c.out) == 0 {
		outBufs.Put(c.out)
		c.out = nil
	}
	if len(c.in) == 0 {
		outBufs.Put(c.in)
		c.in = nil
	}
	if !c.hb.active {
		outBufs.Put(c.hbuf)
		c.hbuf = nil
		c.dec.Release()
	}
	streamLists.Put(c.closedQ)
	c.closedQ = nil
	if m := c.msg; m != nil {
		fieldLists.Put(m.req.Fields)
		fieldLists.Put(m.resp.Fields)
		*m = messages{}
		messagePool.Put(m)
		c.msg = nil
	}
	if len(c.streams) == 0 {
		for i, s := range c.free {
			streams.Put(s)
			c.free[i] = nil
		}
		streamLists.Put(c.free)
		c.free = nil
		if c.streamsPeak > 8 {
			// A burst grew the map: let it go.
			c.streams = make(map[StreamID]*Stream)
		}
		c.streamsPeak = 0
	}
}

// takeStream returns a released Stream to reuse, or nil.
func (c *Conn) takeStream() *Stream {
	if n := len(c.free); n > 0 {
		s := c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		return s
	}
	s, _ := streams.Get().(*Stream)
	return s
}

// putStream keeps a released Stream for reuse.
func (c *Conn) putStream(s *Stream) {
	if len(c.free) < 64 {
		if c.free == nil {
			c.free = streamLists.Get()
		}
		c.free = append(c.free, s)
		return
	}
	streams.Put(s)
}
