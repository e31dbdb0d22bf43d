package bufpool

import (
	"bytes"
	"testing"
)

// TestFillAndAppendBytes checks that bytes land in order, that the last
// chunk is filled before a new one is taken, and that Fill takes at most
// one chunk's room.
func TestFillAndAppendBytes(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), ChunkSize/4) // 2.5 chunks
	q := AppendBytes(nil, data[:100])
	q = AppendBytes(q, data[100:])
	if len(q) != 3 || len(q[0].B) != ChunkSize || len(q[1].B) != ChunkSize {
		t.Fatalf("chunks of %d, %d bytes (%d chunks)", len(q[0].B), len(q[1].B), len(q))
	}
	var got []byte
	for _, c := range q {
		got = append(got, c.B...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("bytes out of order")
	}
	room := q[2].Room()
	q, n := Fill(q, data)
	if n != room || len(q) != 3 {
		t.Fatalf("Fill took %d bytes into %d chunks, want %d into the last one", n, len(q), room)
	}
	for _, c := range q {
		c.Free()
	}
}
