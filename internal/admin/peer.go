package admin

import (
	"context"
	"net"
)

type peerKey struct{}

// peerOf returns the peer stored in the request context by connContext
// (UID -1 when unknown).
func peerOf(ctx context.Context) Peer {
	if p, ok := ctx.Value(peerKey{}).(Peer); ok {
		return p
	}
	return Peer{UID: -1, PID: -1}
}

// connContext records the credentials of the process at the other end of
// a unix socket connection, once per connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	p := Peer{UID: -1, PID: -1}
	if uc, ok := c.(*net.UnixConn); ok {
		if uid, pid, err := peerCred(uc); err == nil {
			p.UID, p.PID = uid, pid
		}
	}
	return context.WithValue(ctx, peerKey{}, p)
}
