//go:build !linux

package admin

import (
	"errors"
	"net"
)

// peerCred is unavailable here: the socket file's mode (0600) is the only
// gate, and admin_allowed_uids cannot be honoured (see Controller.allowed).
func peerCred(*net.UnixConn) (uid, pid int, err error) {
	return -1, -1, errors.New("peer credentials are only read on Linux")
}
