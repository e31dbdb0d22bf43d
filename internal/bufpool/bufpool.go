// Package bufpool recycles the fixed-size chunks that carry body bytes
// between a session's goroutines (backend exchange -> HTTP/2 writer, HTTP/2
// reader -> exchange). A chunk has exactly one owner at a time: whoever
// holds the pointer; ownership moves with it and the last owner frees it.
package bufpool

import (
	"sync"
	"sync/atomic"
)

// ChunkSize is the capacity of every chunk: one maximal default HTTP/2
// DATA frame.
const ChunkSize = 16 << 10

// Chunk is a pooled byte buffer. B holds the data; Off is how much of it
// the consumer already used.
type Chunk struct {
	B   []byte
	Off int
}

var pool = sync.Pool{New: func() any { return &Chunk{B: make([]byte, 0, ChunkSize)} }}

// outstanding counts chunks handed out and not freed: tests check that a
// finished connection leaves none behind.
var outstanding atomic.Int64

// Get returns an empty chunk.
func Get() *Chunk {
	c := pool.Get().(*Chunk)
	c.B, c.Off = c.B[:0], 0
	outstanding.Add(1)
	return c
}

// Free returns the chunk to the pool; the caller must not use it again.
func (c *Chunk) Free() {
	outstanding.Add(-1)
	pool.Put(c)
}

// Outstanding returns the number of chunks in use.
func Outstanding() int64 { return outstanding.Load() }

// Unread returns the bytes not yet consumed.
func (c *Chunk) Unread() []byte { return c.B[c.Off:] }

// Room returns how many more bytes fit.
func (c *Chunk) Room() int { return cap(c.B) - len(c.B) }

// Fill copies into q's last chunk, or into a new chunk it appends to q, as
// much of p (not empty) as fits, and returns q and the number of bytes
// taken. Callers that account chunk by chunk (a budget checked under a
// lock) loop on it; AppendBytes takes all of p.
func Fill(q []*Chunk, p []byte) ([]*Chunk, int) {
	var c *Chunk
	if n := len(q); n > 0 && q[n-1].Room() > 0 {
		c = q[n-1]
	} else {
		c = Get()
		q = append(q, c)
	}
	n := min(c.Room(), len(p))
	c.B = append(c.B, p[:n]...)
	return q, n
}

// AppendBytes copies all of p into q's chunks, filling the last one first.
func AppendBytes(q []*Chunk, p []byte) []*Chunk {
	for len(p) > 0 {
		var n int
		q, n = Fill(q, p)
		p = p[n:]
	}
	return q
}
