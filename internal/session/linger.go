package session

import (
	"net"
	"time"
)

// Lingering close. When sluice closes a connection whose client may still
// be sending (an error answered before the request body was read, a
// GOAWAY while requests are in flight), closing at once makes the kernel
// answer the unread bytes with a TCP reset, and a reset can destroy the
// response or GOAWAY the client has not read yet. So such closes shut the
// write side first (the client reads everything, then EOF), and read and
// discard what still arrives until the client closes too, bounded in time
// and bytes so a client that keeps sending cannot hold the connection.
const (
	lingerTime  = time.Second
	lingerBytes = 256 << 10
)

// halfCloser is a connection whose write side can close alone: TCP, and
// TLS (close_notify, then the TCP write side).
type halfCloser interface {
	CloseWrite() error
}

// lingerClose closes nc after the lingering described above. It returns
// when the client closed, lingerTime passed or lingerBytes arrived.
func lingerClose(nc net.Conn) {
	defer nc.Close()
	hc, ok := nc.(halfCloser)
	if !ok || hc.CloseWrite() != nil {
		return
	}
	if nc.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	// A pooled read buffer: an array here escapes (nc.Read is an
	// interface call), and a flood of connections each ended with a
	// GOAWAY would leave 4 KiB of garbage apiece.
	buf := readBufs.Get().(*readBuf)
	defer readBufs.Put(buf)
	for n := 0; n < lingerBytes; {
		m, err := nc.Read(buf.b)
		n += m
		if err != nil {
			return
		}
	}
}
