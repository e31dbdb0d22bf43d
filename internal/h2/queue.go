package h2

import "github.com/sluice-proxy/sluice/internal/bufpool"

// dataQueue holds a stream's outbound body bytes in pooled chunks until the
// flow-control windows let them out. The engine owns the chunks once
// queued and frees each when it has been framed.
type dataQueue struct {
	chunks []*bufpool.Chunk
	head   int
	len    int // unread bytes in all chunks
}

func (q *dataQueue) push(c *bufpool.Chunk) {
	if len(c.Unread()) == 0 {
		c.Free()
		return
	}
	if q.head > 0 && q.head == len(q.chunks) {
		q.chunks, q.head = q.chunks[:0], 0
	}
	q.chunks = append(q.chunks, c)
	q.len += len(c.Unread())
}

// peek returns up to n unread bytes from the first chunk.
func (q *dataQueue) peek(n int) []byte {
	if q.head == len(q.chunks) {
		return nil
	}
	b := q.chunks[q.head].Unread()
	if len(b) > n {
		b = b[:n]
	}
	return b
}

// advance marks n bytes of the first chunk consumed, freeing it when done.
func (q *dataQueue) advance(n int) {
	c := q.chunks[q.head]
	c.Off += n
	q.len -= n
	if len(c.Unread()) == 0 {
		c.Free()
		q.chunks[q.head] = nil
		q.head++
	}
}

// clear frees everything queued.
func (q *dataQueue) clear() {
	for i := q.head; i < len(q.chunks); i++ {
		q.chunks[i].Free()
		q.chunks[i] = nil
	}
	q.chunks, q.head, q.len = q.chunks[:0], 0, 0
}
